/**
 * What of bpftrace's stderr a caller who may not read host files is shown. clang's diagnostics about
 * an included file quote that file's tokens (bpftrace 0.17 prints them as
 * `./x:1:6: error: use of undeclared identifier '$6$abc'`), so such a line becomes its location and
 * the message with every quoted part blanked out; the full text is handed back for the log.
 * Lines about the program itself (bpftrace's `FILE:L:C-C: ERROR:` for the loaded file, clang's
 * `definitions.h:L:C:` for its preamble) and lines without a file location are kept.
 */

/** clang: `FILE:LINE:COL: error: message`; `In file included from FILE:LINE:`. */
const CLANG_DIAG = /^([^:\n]+):(\d+):(\d+): (error|warning|note|remark|fatal error): (.*)$/;
const INCLUDED_FROM = /^(?:In file included from|\s*from) ([^:\n]+):(\d+)[:,]/;
/** bpftrace's own diagnostic about the loaded file: `F:L:C-C:`, or a line range `F:A-B:`. */
const BPFTRACE_DIAG = /^([^:\n]+):(\d+)(?::(\d+)-\d+|-\d+): (ERROR|WARNING): /;
/** Lines known to come from bpftrace itself, which end a run of withheld lines. */
const BPFTRACE_LINE = /^(ERROR|WARNING|INFO): |^Attaching \d+ probe/;

/** The file clang gives the program's preamble (bpftrace 0.17 `ClangParser`). */
const PREAMBLE_FILE = 'definitions.h';

export interface ShownOutput {
  readonly lines: string[];
  /** Lines replaced, as bpftrace printed them (for the log only). */
  readonly withheld: string[];
}

/**
 * @param lines bpftrace's stderr, line by line
 * @param programFile the file bpftrace loaded (its diagnostics are about the caller's own text)
 * @param libraryFile files of bpftrace's own standard library (0.27 `stdlib/strings.bt`): built into
 *   bpftrace, not host files, so kept as printed (the classifier keeps them off the program's lines)
 */
export function withholdIncludedFileText(lines: readonly string[], programFile: string, libraryFile?: RegExp): ShownOutput {
  const shown: string[] = [];
  const withheld: string[] = [];
  let inWithheldRun = false;
  for (const line of lines) {
    const bp = BPFTRACE_DIAG.exec(line);
    if (bp) {
      inWithheldRun = false;
      if (bp[1] === programFile || libraryFile?.test(bp[1]!)) shown.push(line);
      else {
        inWithheldRun = true;
        withheld.push(line);
        shown.push(`${bp[1]}:${bp[2]}:${bp[3] ?? 1}: ${bp[4]}: (in an included file; details in kgentd's log)`);
      }
      continue;
    }
    const clang = CLANG_DIAG.exec(line);
    if (clang) {
      if (clang[1] === PREAMBLE_FILE) {
        inWithheldRun = false;
        shown.push(line);
      } else {
        inWithheldRun = true;
        withheld.push(line);
        shown.push(`${clang[1]}:${clang[2]}:${clang[3]}: ${clang[4]}: ${reasonOnly(clang[5]!)} (in an included file; its text is in kgentd's log)`);
      }
      continue;
    }
    const from = INCLUDED_FROM.exec(line);
    if (from) {
      inWithheldRun = true;
      withheld.push(line);
      shown.push(`In file included from ${from[1]}:${from[2]}`);
      continue;
    }
    if (BPFTRACE_LINE.test(line)) inWithheldRun = false;
    // Source excerpts and carets that clang may print under a withheld line quote the file too.
    if (inWithheldRun && line.trim() !== '') withheld.push(line);
    else shown.push(line);
  }
  return { lines: shown, withheld };
}

/**
 * A reason named by kgent, never clang's words: a message about an included file may hold any of
 * its text unquoted (`#error` prints its line as is).
 */
const REASONS: readonly [RegExp, string][] = [
  [/^use of undeclared identifier/, 'use of an undeclared identifier'],
  [/^unknown type name/, 'unknown type name'],
  [/^type specifier missing|^type name requires a specifier/, 'a declaration without a type'],
  [/^expected /, 'syntax error'],
  [/file not found/, 'a file it includes was not found'],
  [/^redefinition of|^typedef redefinition/, 'a redefinition'],
  [/incomplete (?:definition of )?type/, 'an incomplete type'],
  [/^unterminated|^missing terminating/, 'an unterminated literal or comment'],
];

/** kgent's own words for clang's message: `use of an undeclared identifier`, else `a compile error`. */
export function reasonOnly(message: string): string {
  for (const [re, reason] of REASONS) if (re.test(message)) return reason;
  return 'a compile error';
}
