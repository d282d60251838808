/**
 * A line-oriented scanner for function definitions in kernel C. It relies on kernel coding style
 * (Documentation/process/coding-style.rst): a function's opening brace stands alone at column 0
 * on the line after its signature. That is cheap, needs no preprocessor, and is right for the
 * overwhelming majority of the tree; definitions in other styles are simply not indexed.
 */

/** A definition found in one file. Lines are 1-based. */
export interface ScannedFunction {
  readonly name: string;
  /** First line of the signature. */
  readonly line: number;
  /** Line of the `{` that opens the body. */
  readonly braceLine: number;
  /** First line of the comment block directly above the signature, if any. */
  readonly commentLine: number | undefined;
  /** The comment block text (raw, with decoration), if any. */
  readonly comment: string | undefined;
}

const NOT_NAMES = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', '__attribute__', 'typeof', '__typeof__', 'defined']);

/** Finds function definitions (and the comment block above each) in one C source text. */
export function scanFunctions(text: string): ScannedFunction[] {
  const lines = text.split('\n');
  const out: ScannedFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.charCodeAt(0) !== 123 /* { */ || (l.length > 1 && l.trim() !== '{')) continue;
    // Collect the signature: preceding lines up to a statement/comment/preprocessor boundary.
    let start = i;
    for (let j = i - 1; j >= 0 && i - j <= 12; j--) {
      const p = lines[j]!;
      const t = p.trim();
      if (t === '' || t.endsWith(';') || t.endsWith('}') || t.endsWith('{') || t.endsWith('*/') || t.startsWith('#') || t.startsWith('//')) break;
      start = j;
    }
    if (start === i) continue;
    const sig = lines.slice(start, i).join(' ');
    if (sig.includes('=')) continue; // an initialiser, not a function
    const m = /([A-Za-z_]\w*)\s*\(/.exec(sig);
    if (!m || NOT_NAMES.has(m[1]!)) continue;
    if (!sig.trimEnd().endsWith(')') && !/\)\s*(__\w+(\([^)]*\))?\s*)*$/.test(sig.trimEnd())) continue;
    let names = [m[1]!];
    const sys = /^(?:COMPAT_)?SYSCALL_DEFINE\d\s*$/.test(m[1]!) ? /SYSCALL_DEFINE\d\s*\(\s*(\w+)/.exec(sig) : null;
    if (sys) names = [`__do_sys_${sys[1]}`, `__se_sys_${sys[1]}`, `__x64_sys_${sys[1]}`];
    // The comment block directly above (no blank line in between).
    let commentLine: number | undefined;
    let comment: string | undefined;
    const above = start - 1;
    if (above >= 0 && lines[above]!.trimEnd().endsWith('*/')) {
      for (let k = above; k >= 0 && above - k < 400; k--) {
        if (lines[k]!.includes('/*')) {
          commentLine = k + 1;
          comment = lines.slice(k, above + 1).join('\n').trim();
          comment = comment.slice(comment.indexOf('/*'));
          break;
        }
      }
    }
    for (const name of names) out.push({ name, line: start + 1, braceLine: i + 1, commentLine, comment });
  }
  return out;
}

/**
 * Returns the text from the `{` at `openIndex` through its matching `}`, skipping braces in
 * strings, character literals and comments; `undefined` when unbalanced. Capped at `maxChars`.
 */
export function extractBlock(text: string, openIndex: number, maxChars = 64 * 1024): string | undefined {
  let depth = 0;
  const end = Math.min(text.length, openIndex + maxChars);
  for (let i = openIndex; i < end; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return undefined;
      i = close + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? end : nl;
    } else if (c === '"' || c === "'") {
      for (i++; i < end && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(openIndex, i + 1);
    }
  }
  return undefined;
}
