/**
 * Policy on the C preprocessor for callers who may not read the host's files (members of the
 * kgent group). bpftrace hands a program's preamble (`#` lines and struct definitions, `#` lines
 * inside them included) to clang as `definitions.h`, and clang reads every file it is told to
 * include as kgentd, that is as root; its error messages then quote the file's tokens
 * (`./x:1:6: error: use of undeclared identifier '$6$...'`, checked on bpftrace 0.17). Quoted
 * includes resolve against the working directory, and so do angled ones: clang 0.17's search path
 * ends in `./` (strace of `#include <x.h>`: /bpftrace/include, /usr/local/include, /usr/include,
 * /usr/include/x86_64-linux-gnu, ./).
 *
 * So the rule works on the text as the preprocessor sees it, not on bpftrace's grammar:
 * - backslash-newline splices (also with blanks between, which clang accepts) are joined first,
 *   comments, control characters and non-ASCII characters are blanks, a lone `\r` ends a line, and
 *   a `#` or the digraph `%:` that is the first token after any line end (one inside a comment
 *   counts) opens a directive;
 * - only `#include <vetted/header.h>` reads a file: angled, a relative path of plain names under a
 *   system header directory (`linux/`, `net/`, `uapi/`, `asm/` ...) or a C standard header, no `..`.
 *   The daemon works in an empty directory of its own, so the search path's `./` finds nothing;
 * - other directives allowed are those that read nothing: `#define`, `#undef`, `#if`, `#ifdef`,
 *   `#ifndef`, `#elif`, `#else`, `#endif`. Refused: `#include "..."`, computed `#include MACRO`,
 *   `#include_next`, `#import`, `#embed`, `#pragma` (`GCC dependency "file"` stats a file),
 *   `#line` (it renames where errors point), and every other directive;
 * - anywhere in the text: `__has_include`, `__has_include_next`, `__has_embed` (they probe for
 *   files), `_Pragma`/`__pragma` (a pragma from a macro), `##` (pasting could spell one of those),
 *   and trigraphs (`??=` is `#` where trigraphs are on).
 * Pure: text in, diagnostics out.
 */
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';

/** Directives that read no file and change no location. */
const ALLOWED_DIRECTIVES = new Set(['define', 'undef', 'if', 'ifdef', 'ifndef', 'elif', 'else', 'endif']);

/** Identifiers that probe for files or run pragmas wherever they appear. */
const FORBIDDEN_IDENTIFIERS: Readonly<Record<string, string>> = {
  __has_include: 'tells whether a file exists',
  __has_include_next: 'tells whether a file exists',
  __has_embed: 'tells whether a file exists',
  _Pragma: 'runs a pragma (which may read a file)',
  __pragma: 'runs a pragma (which may read a file)',
};

/** First directories of the headers a bpftrace program may include (kernel and libc headers). */
const VETTED_DIRS = new Set(['linux', 'net', 'uapi', 'asm', 'asm-generic', 'sys', 'netinet', 'arpa']);

/** C standard headers a definition may need, by themselves. */
const VETTED_TOP_LEVEL = new Set(['stddef.h', 'stdint.h', 'stdbool.h', 'stdarg.h', 'limits.h', 'float.h', 'errno.h']);

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_+-]*(\.[A-Za-z0-9_]+)*$/;

/** Whether `<path>` names a vetted system header: plain names, no `..`, a known first directory. */
export function isVettedHeader(path: string): boolean {
  if (path.length === 0 || path.length > 200 || !path.endsWith('.h')) return false;
  const segments = path.split('/');
  if (segments.length > 8 || !segments.every((s) => SEGMENT.test(s))) return false;
  if (segments.length === 1) return VETTED_TOP_LEVEL.has(path);
  return VETTED_DIRS.has(segments[0]!);
}

/** A preprocessing token as the rule needs it. */
interface Token {
  readonly text: string;
  readonly kind: 'identifier' | 'string' | 'punct' | 'other';
  /** No token between this one and the last newline (newlines inside comments count). */
  readonly atLineStart: boolean;
  /** Offset in the spliced text. */
  readonly at: number;
}

/**
 * What the preprocessor policy refuses in `source`, for a caller who may not read host files.
 * @param who `" for members of kgent"`, appended to messages
 */
export function preprocessorRefusals(source: string, who = ''): Diagnostic[] {
  const out: Diagnostic[] = [];
  const refuse = (message: string, span: Span | undefined, hint: string): void => {
    if (out.length >= 20) return;
    out.push({
      code: 'lint.preprocessor-refused',
      severity: 'error',
      stage: 'lint',
      message: `${message}${who}`,
      ...(span ? { span } : {}),
      hints: [hint],
    });
  };
  const HINT = 'include only system headers like #include <linux/sched.h>, or define the struct you need in the program';

  const trigraph = /\?\?[=/'()!<>-]/.exec(source);
  if (trigraph) refuse(`the trigraph ${trigraph[0]} is refused`, spanAt(source, trigraph.index, 3), 'write the character itself');

  const spliced = splice(source);
  const tokens = tokenize(spliced.text);
  const span = (t: Token): Span => spanAt(source, spliced.original(t.at), t.text.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'identifier' && Object.hasOwn(FORBIDDEN_IDENTIFIERS, t.text)) {
      refuse(`${t.text} is refused: it ${FORBIDDEN_IDENTIFIERS[t.text]}`, span(t), HINT);
    } else if (t.kind === 'punct' && (t.text === '##' || t.text === '%:%:')) {
      refuse(`token pasting (${t.text}) is refused`, span(t), 'write the name in full');
    } else if (t.kind === 'punct' && (t.text === '#' || t.text === '%:') && t.atLineStart) {
      const name = tokens[i + 1];
      if (!name || name.atLineStart) continue; // the null directive
      if (name.kind !== 'identifier') {
        refuse(`the directive "${t.text}${name.text}" is refused`, span(t), HINT);
      } else if (name.text === 'include') {
        const header = headerName(spliced.text, name.at + name.text.length);
        if (header === undefined) refuse('#include of anything but <header.h> is refused (a quoted or computed path may name any file)', span(t), HINT);
        else if (!isVettedHeader(header)) {
          refuse(`#include <${header}> is refused: only system headers under ${[...VETTED_DIRS].map((d) => `${d}/`).join(', ')} may be included`, span(t), HINT);
        }
      } else if (!ALLOWED_DIRECTIVES.has(name.text)) {
        refuse(`#${name.text} is refused: only #include <header.h>, #define, #undef and #if/#ifdef/#ifndef/#elif/#else/#endif are allowed`, span(t), HINT);
      }
    }
  }
  return out;
}

/**
 * The path of `<path>` right after `#include` at `from`, when the rest of the line is exactly that
 * (blanks and comments aside); undefined for a quoted, computed or malformed include.
 */
function headerName(text: string, from: number): string | undefined {
  const rest = text.slice(from).split(/\r\n|\r|\n/, 1)[0]!;
  const m = /^[ \t\v\f]*<([^<>"'\\\n\r]*)>(.*)$/.exec(rest);
  if (!m) return undefined;
  // After the header name only blanks and complete comments; anything else is not a plain include.
  if (!/^(?:[ \t\v\f]|\/\*(?:(?!\*\/)[^])*\*\/|\/\/.*)*$/.test(m[2]!)) return undefined;
  return m[1]!;
}

/** Phase 2 of translation: backslash, optional blanks, newline are removed; offsets map back. */
function splice(source: string): { text: string; original(at: number): number } {
  const parts: string[] = [];
  const starts: { spliced: number; original: number }[] = [];
  let last = 0;
  let length = 0;
  for (const m of source.matchAll(/\\[ \t\v\f]*(?:\r\n|\r|\n)/g)) {
    parts.push(source.slice(last, m.index));
    starts.push({ spliced: length, original: last });
    length += m.index - last;
    last = m.index + m[0].length;
  }
  parts.push(source.slice(last));
  starts.push({ spliced: length, original: last });
  return {
    text: parts.join(''),
    original(at) {
      let s = starts[0]!;
      for (const c of starts) if (c.spliced <= at) s = c;
      return s.original + (at - s.spliced);
    },
  };
}

/** Preprocessing tokens of spliced text; comments and blanks are dropped, newlines mark line starts. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let atLineStart = true;
  let i = 0;
  const push = (kind: Token['kind'], end: number): void => {
    out.push({ text: text.slice(i, end), kind, atLineStart, at: i });
    atLineStart = false;
    i = end;
  };
  while (i < text.length) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (c === '\n' || c === '\r') {
      // clang ends a line at a lone \r as well.
      atLineStart = true;
      i++;
    } else if (code <= 0x20 || code >= 0x7f) {
      // Blanks, control characters (clang ignores NUL) and non-ASCII (clang takes U+00A0 and other
      // Unicode spaces as whitespace): none of them keeps a following # off the start of a line.
      i++;
    } else if (text.startsWith('//', i)) {
      const end = /[\r\n]/.exec(text.slice(i, i + 65536));
      i = end ? i + end.index : Math.min(text.length, i + 65536);
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      const end = close === -1 ? text.length : close + 2;
      // A newline inside a comment: count the next token as first on its line (the conservative reading).
      if (text.slice(i, end).includes('\n')) atLineStart = true;
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n' && text[j] !== '\r') j += text[j] === '\\' ? 2 : 1;
      push('string', Math.min(text.length, j + 1));
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(text.slice(i, i + 256))!;
      push('identifier', i + m[0].length);
    } else if (text.startsWith('%:%:', i)) {
      push('punct', i + 4);
    } else if (text.startsWith('##', i) || text.startsWith('%:', i)) {
      push('punct', i + 2);
    } else if (c === '#') {
      push('punct', i + 1);
    } else {
      push(/[0-9]/.test(c) ? 'other' : 'punct', i + 1);
    }
  }
  return out;
}

function spanAt(source: string, offset: number, length: number): Span {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = offset - lineStart + 1;
  return { line, column, endLine: line, endColumn: column + Math.max(0, length - 1) };
}
