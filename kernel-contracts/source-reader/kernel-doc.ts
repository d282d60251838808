/**
 * kernel-doc comment parsing (Documentation/doc-guide/kernel-doc.rst): a `/** ... *\/` block
 * above a function, with `name - summary` (or `name() - summary`), `@param: text` lines,
 * and sections such as `Context:` and `Return:`.
 */

/** One documented parameter. */
export interface KernelDocParam {
  readonly name: string;
  readonly description: string;
}

/** A parsed kernel-doc comment. Fields are plain text with comment decoration removed. */
export interface KernelDoc {
  /** The name the comment says it documents (may differ from the function it sits above). */
  readonly name: string | undefined;
  /** The one-line purpose after `name -`. */
  readonly summary: string;
  readonly params: readonly KernelDocParam[];
  /** Text of `Return:`/`Returns:`/`RETURNS:`. */
  readonly returns: string | undefined;
  /** Text of `Context:`. */
  readonly context: string | undefined;
  /** The free text (and any other sections, e.g. `Note:`), paragraphs joined by blank lines. */
  readonly description: string;
}

/** Removes `/*`, `*\/` and the leading ` * ` of each line; keeps line structure. */
export function stripCommentDecoration(comment: string): string[] {
  const body = comment.replace(/^\/\*\*?/, '').replace(/\*\/\s*$/, '');
  return body.split('\n').map((l) => l.replace(/^\s*\*(?!\/) ?/, '').replace(/\s+$/, ''));
}

/** True for a `/** ... *\/` block (kernel-doc), false for a plain `/* ... *\/` comment. */
export function isKernelDoc(comment: string): boolean {
  return /^\/\*\*(?!\*)/.test(comment.trimStart());
}

const SECTION = /^(Return|Returns|RETURN|RETURNS|Context|CONTEXT|Description|DESCRIPTION|Note|NOTE|Notes|Locking|LOCKING|Example|Examples)\s*:\s*(.*)$/;

/** Parses a kernel-doc comment. Works on plain comments too (then everything is description). */
export function parseKernelDoc(comment: string): KernelDoc {
  const lines = stripCommentDecoration(comment);
  while (lines.length && lines[0]!.trim() === '') lines.shift();
  let name: string | undefined;
  const summaryParts: string[] = [];
  const params: { name: string; description: string }[] = [];
  const sections = new Map<string, string[]>();
  const description: string[] = [];
  let i = 0;
  const head = /^\s*(?:(?:function|struct|union|enum|typedef)\s+)?([A-Za-z_]\w*)(?:\(\))?\s+-+\s*(.*)$/.exec(lines[0] ?? '');
  if (head) {
    name = head[1];
    summaryParts.push(head[2]!.trim());
    i = 1;
    // The summary may wrap onto following lines until a blank line or a `@param:`.
    while (i < lines.length && lines[i]!.trim() !== '' && !/^\s*@/.test(lines[i]!) && !SECTION.test(lines[i]!.trim())) {
      summaryParts.push(lines[i]!.trim());
      i++;
    }
  }
  type Target = { kind: 'param'; idx: number } | { kind: 'section'; key: string } | { kind: 'desc' };
  let target: Target = { kind: 'desc' };
  for (; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    const p = /^@([A-Za-z_]\w*|\.\.\.)\s*:\s*(.*)$/.exec(line);
    if (p) {
      params.push({ name: p[1]!, description: p[2]!.trim() });
      target = { kind: 'param', idx: params.length - 1 };
      continue;
    }
    const s = SECTION.exec(line);
    if (s) {
      const key = normaliseSection(s[1]!);
      const list = sections.get(key) ?? [];
      if (s[2]) list.push(s[2].trim());
      sections.set(key, list);
      target = { kind: 'section', key };
      continue;
    }
    if (line === '') {
      if (target.kind === 'param') target = { kind: 'desc' };
      else if (target.kind === 'section') sections.get(target.key)!.push('');
      else description.push('');
      continue;
    }
    if (target.kind === 'param') {
      const prm = params[target.idx]!;
      params[target.idx] = { name: prm.name, description: `${prm.description} ${line}`.trim() };
    } else if (target.kind === 'section') sections.get(target.key)!.push(line);
    else description.push(line);
  }
  const joinPara = (ls: string[]): string =>
    ls
      .join('\n')
      .split(/\n\s*\n/)
      .map((para) => para.replace(/\s*\n\s*/g, ' ').trim())
      .filter(Boolean)
      .join('\n\n');
  const descParts = [joinPara(description)];
  for (const key of ['description', 'note', 'locking', 'example']) {
    const v = sections.get(key);
    if (v) descParts.push(key === 'description' ? joinPara(v) : `${key[0]!.toUpperCase()}${key.slice(1)}: ${joinPara(v)}`);
  }
  const ret = sections.get('return');
  const ctx = sections.get('context');
  return {
    name,
    summary: summaryParts.join(' ').trim(),
    params,
    returns: ret ? joinPara(ret) : undefined,
    context: ctx ? joinPara(ctx) : undefined,
    description: descParts.filter(Boolean).join('\n\n'),
  };
}

function normaliseSection(s: string): string {
  const l = s.toLowerCase();
  if (l.startsWith('return')) return 'return';
  if (l.startsWith('note')) return 'note';
  if (l.startsWith('example')) return 'example';
  return l;
}
