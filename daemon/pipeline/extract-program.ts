/**
 * Getting the bpftrace program out of an LLM answer: fenced or not, with prose around it, with
 * several code blocks (a shell command to run it, a C snippet, the program). Candidates are tried
 * in order of how likely they are the program, and the first that our front-end parses wins; when
 * none parses, the likeliest is returned with its parse errors, which become feedback.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import { parse, type Program } from '../verifier/frontend/index.js';

export interface ExtractedProgram {
  /** The program text (trimmed, ending with a newline), or undefined when the answer has none. */
  readonly source?: string;
  readonly program?: Program;
  /** Parse errors of `source` when it does not parse. */
  readonly diagnostics: readonly Diagnostic[];
  /** How it was found, for the log: `fenced bpftrace block`, `unfenced answer` ... */
  readonly how: string;
}

const FENCE = /(^|\n)[ \t]*(```+|~~~+)[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)\n[ \t]*\2[ \t]*(?=\n|$)/g;
const PROGRAM_TAGS = new Set(['bpftrace', 'bt', 'bpf']);
const OTHER_TAGS = new Set(['sh', 'bash', 'shell', 'console', 'c', 'cpp', 'python', 'py', 'json', 'text', 'txt', 'diff', 'yaml']);

interface Candidate {
  readonly text: string;
  readonly how: string;
  readonly rank: number;
}

/** A shell line like `bpftrace -e '...'` or `sudo bpftrace -e "..."`: the program inside the quotes. */
function fromCommandLine(block: string): string | undefined {
  const m = /\bbpftrace\b[^\n]*?-e\s+(['"])([\s\S]*?)\1/.exec(block);
  return m?.[2];
}

/** Where a program starts in prose: the first line that looks like an attach point or a preamble. */
function unfencedStart(answer: string): string | undefined {
  const lines = answer.split('\n');
  const start = lines.findIndex((l) => /^\s*(#include\b|BEGIN\b|END\b|[a-z]+:[^\s]*\s*(\/|\{|,|$)|(kprobe|kretprobe|tracepoint|uprobe|uretprobe|usdt|profile|interval|software|hardware|kfunc|kretfunc|rawtracepoint|t|k|kr|u|ur)\s*:)/.test(l));
  if (start < 0) return undefined;
  // Up to the last closing brace: prose after the program is dropped.
  const rest = lines.slice(start).join('\n');
  const close = rest.lastIndexOf('}');
  return close < 0 ? rest : rest.slice(0, close + 1);
}

function candidates(answer: string): Candidate[] {
  const out: Candidate[] = [];
  for (const m of answer.matchAll(FENCE)) {
    const tag = (m[3] ?? '').toLowerCase();
    const body = m[4] ?? '';
    if (PROGRAM_TAGS.has(tag)) out.push({ text: body, how: `fenced ${tag} block`, rank: 0 });
    else if (OTHER_TAGS.has(tag)) {
      const inner = fromCommandLine(body);
      if (inner) out.push({ text: inner, how: `bpftrace -e in a ${tag} block`, rank: 2 });
    } else out.push({ text: body, how: tag ? `fenced ${tag} block` : 'fenced block', rank: 1 });
  }
  const inline = fromCommandLine(answer);
  if (inline && out.length === 0) out.push({ text: inline, how: 'bpftrace -e command line', rank: 3 });
  if (out.length === 0) {
    out.push({ text: answer, how: 'unfenced answer', rank: 4 });
    const tail = unfencedStart(answer);
    if (tail && tail !== answer) out.push({ text: tail, how: 'program found in prose', rank: 5 });
  }
  // Stable: by rank, and within a rank the longer block first (a program beats a one-line example).
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => a.c.rank - b.c.rank || b.c.text.length - a.c.text.length || a.i - b.i)
    .map((x) => x.c);
}

/** The bpftrace program of an LLM answer (see the module comment). */
export function extractProgram(answer: string): ExtractedProgram {
  const cands = candidates(answer.replace(/\r\n/g, '\n')).filter((c) => c.text.trim() !== '');
  if (cands.length === 0) return { diagnostics: [], how: 'empty answer' };
  for (const c of cands) {
    const source = `${c.text.trim()}\n`;
    const r = parse(source);
    if (r.program && !r.diagnostics.some((d) => d.severity === 'error')) return { source, program: r.program, diagnostics: r.diagnostics, how: c.how };
  }
  const best = cands[0] as Candidate;
  const source = `${best.text.trim()}\n`;
  return { source, diagnostics: parse(source).diagnostics, how: best.how };
}
