/**
 * The copy of a program that the kernel check loads: the same probes, maps and BPF instructions as
 * the program, but with nothing left that bpftrace would do in user space on the program's behalf.
 *
 * Why a rewritten copy, and why it is sound (bpftrace 0.17 has no --dry-run):
 * - bpftrace runs a program's user-space actions (`printf`, `system`, `cat`, `print`, `time`,
 *   `join`, `exit`, `clear`, `zero`) when its event loop reads them from the perf buffer. That
 *   loop starts right after BEGIN fires, so every event BEGIN (or any probe that fires meanwhile)
 *   queued is handled at once: killing bpftrace when our ready marker shows up is a race that
 *   bpftrace wins for the actions queued right behind the marker (a `system()` in BEGIN ran in 3 of
 *   5 checks). No signal from outside can be sure to come first.
 * - So the loaded copy has no action with an effect outside bpftrace's own stdout: every
 *   `system(...)` and `cat(...)` call is renamed `printf(...)`. In bpftrace 0.17 the three share one
 *   semantic check (format string, 1-128 arguments) and one code generator
 *   (`createFormatStringCall`: the same argument struct on the BPF stack, the same
 *   `perf_event_output`); only the action's id constant differs. The kernel verifier therefore sees
 *   the same instructions, stack use and helpers, and a `system()` becomes a line printed to the
 *   check's private stdout pipe, which the daemon discards.
 * - What remains in user space only writes to that pipe (`printf`, `print`, `time`, `join`, map
 *   printing at exit) or touches the check's own maps (`clear`, `zero`), which die with it.
 * - Function names are never macro-expanded by bpftrace 0.17 (`#define S system` then `S(...)` is
 *   "Unknown function: S"), so renaming calls by name catches every call.
 * - `#include` runs the C preprocessor over the named file before anything is loaded: an absolute
 *   path or `..` could name a device (`/dev/zero` grows without bound) or a private file (its lines
 *   come back in error messages). Absolute and `..` paths are refused for everyone, and so are the
 *   other file-reading directives (`#import`, `#include_next`, `#embed`). A caller who may not read
 *   host files (`hostFilesHidden`) gets the whole preprocessor policy
 *   (verifier/lints/preprocessor-policy.ts): only vetted system headers, nothing else that reads
 *   or probes a file. Relative paths resolve in kgentd's own empty working directory.
 * A program the front-end cannot parse is not loaded at all: its actions could not be found.
 */
import type { Diagnostic, Span } from '../protocol/diagnostic.js';
import { parse, walk, type Call, type Program } from '../verifier/frontend/index.js';
import { preprocessorRefusals } from '../verifier/lints/index.js';

/** User-space actions with effects outside the check's stdout, and what each is renamed to. */
const RENAMED: Readonly<Record<string, string>> = { system: 'printf', cat: 'printf' };

const FILE_DIRECTIVES = new Set(['import', 'include_next', 'embed']);

export type LoadedCopy = { readonly ok: true; readonly text: string; readonly renamed: number } | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/**
 * The text the check loads: `source` with user-space actions renamed and a ready marker printed
 * first thing in BEGIN (appended as a BEGIN probe when there is none). Line numbers of the user's
 * code are unchanged; a renamed `cat` shifts later columns of its own line by three.
 */
export function loadedCopy(source: string, marker: string, beginBodyOffset?: number, opts: { hostFilesHidden?: boolean } = {}): LoadedCopy {
  // The caller may not read host files: the whole preprocessor policy, on the text, at the last gate.
  if (opts.hostFilesHidden) {
    const refused = preprocessorRefusals(source);
    if (refused.length > 0) return { ok: false, diagnostics: refused.map((d) => ({ ...d, stage: 'kernel' as const })) };
  }
  const parsed = parse(source);
  if (!parsed.program) {
    return {
      ok: false,
      diagnostics: parsed.diagnostics.length > 0 ? parsed.diagnostics : [refusal('kernel.unparsed', 'the program does not parse; nothing was loaded')],
    };
  }
  const refused = refusedDirectives(parsed.program);
  if (refused.length > 0) return { ok: false, diagnostics: refused };

  const starts = lineStarts(source);
  const edits: { at: number; from: string; to: string }[] = [];
  let unlocated: Call | undefined;
  walk(parsed.program, {
    enter(node) {
      if (node.kind !== 'Call') return;
      const to = RENAMED[node.callee];
      if (to === undefined) return;
      const at = offsetOf(starts, node.span);
      if (at === undefined || !source.startsWith(node.callee, at)) unlocated ??= node;
      else edits.push({ at, from: node.callee, to });
    },
  });
  if (unlocated) {
    // Fail closed: loading a copy that may still hold a system() call is what this module prevents.
    return {
      ok: false,
      diagnostics: [refusal('kernel.action-unlocated', `cannot locate the ${unlocated.callee}() call to neutralise it; nothing was loaded`, unlocated.span)],
    };
  }
  let text = source;
  let shift = 0;
  let beginAt = beginBodyOffset;
  for (const e of edits.sort((a, b) => a.at - b.at)) {
    const at = e.at + shift;
    text = text.slice(0, at) + e.to + text.slice(at + e.from.length);
    const delta = e.to.length - e.from.length;
    if (beginAt !== undefined && beginBodyOffset !== undefined && e.at < beginBodyOffset) beginAt += delta;
    shift += delta;
  }
  return { ok: true, text: withReadyMarker(text, marker, beginAt), renamed: edits.length };
}

/** Source with a marker printed first thing in BEGIN; line numbers of the user's code are unchanged. */
export function withReadyMarker(source: string, marker: string, beginBodyOffset?: number): string {
  const printMarker = `printf("${marker}\\n");`;
  if (beginBodyOffset === undefined) {
    return `${source}${source.endsWith('\n') ? '' : '\n'}BEGIN { ${printMarker} }\n`;
  }
  return `${source.slice(0, beginBodyOffset)} ${printMarker} ${source.slice(beginBodyOffset)}`;
}

function refusedDirectives(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const item of program.preamble) {
    if (item.kind === 'Include') {
      const segments = item.path.split('/');
      if (item.path.startsWith('/') || segments.includes('..') || item.path.trim() === '') {
        out.push(
          refusal(
            'kernel.include-refused',
            `#include "${item.path}" is refused: only headers relative to the include path (like <linux/sched.h>) may be included`,
            item.span,
            ['an absolute path or ".." could name a device or a private file, read before anything is loaded'],
          ),
        );
      }
    } else if (item.kind === 'Preprocessor' && FILE_DIRECTIVES.has(item.directive)) {
      out.push(refusal('kernel.include-refused', `#${item.directive} is refused: use #include <header.h>`, item.span));
    }
  }
  return out;
}

function refusal(code: string, message: string, span?: Span, hints?: string[]): Diagnostic {
  return { code, severity: 'error', stage: 'kernel', message, ...(span ? { span } : {}), ...(hints ? { hints } : {}) };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function offsetOf(starts: readonly number[], span: Span): number | undefined {
  const lineStart = starts[span.line - 1];
  return lineStart === undefined ? undefined : lineStart + span.column - 1;
}
