/**
 * The name a program gets when its submitter gives none: its first comment line, else its first
 * attach point. Line by line with plain string tests, linear in the source: the regular expression
 * it replaces (`^\s*...$` with the `m` flag) rescanned every following newline from each line
 * start, and an 8 KB program of blank lines froze the daemon for 25 s.
 */
const MAX_NAME = 80;

export function defaultName(source: string): string {
  const lines = source.split('\n').map((l) => l.trim());
  for (const line of lines) {
    const body = commentBody(line);
    if (body === undefined || body.length < 3 || body.length > MAX_NAME) continue;
    if (!body.startsWith('!')) return body;
    break;
  }
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const p = probeOf(line);
    if (p !== undefined) return p.slice(0, MAX_NAME);
  }
  return 'program';
}

/** The text of a `// x`, `/* x *\/` or ` * x` comment line, trimmed; undefined when not a comment. */
function commentBody(line: string): string | undefined {
  let body: string;
  if (line.startsWith('//')) body = line.slice(2);
  else if (line.startsWith('/*')) body = line.slice(2);
  else if (line.startsWith('*') && !line.startsWith('*/')) body = line.slice(1);
  else return undefined;
  body = body.trim();
  if (body.endsWith('*/')) body = body.slice(0, -2).trimEnd();
  return body;
}

/** `provider:rest` up to a space, `{` or `/`, or BEGIN / END, at the start of a line. */
function probeOf(line: string): string | undefined {
  if (line.startsWith('BEGIN')) return 'BEGIN';
  if (line.startsWith('END')) return 'END';
  let i = 0;
  while (i < line.length && /[A-Za-z_]/.test(line[i]!)) i++;
  if (i === 0 || line[i] !== ':') return undefined;
  let j = i + 1;
  while (j < line.length && !/[\s{/]/.test(line[j]!)) j++;
  return j > i + 1 ? line.slice(0, j) : undefined;
}
