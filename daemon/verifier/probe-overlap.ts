/**
 * Probes that share an event through a multi-attach-point probe or a wildcard: bpftrace 0.17 then
 * runs the wrong probe's code. Checked on this machine with uprobes on libc `getppid`:
 * `uprobe:libc:getppid,uprobe:libc:getpid { C }` followed by two `uprobe:libc:getppid { A }`,
 * `{ B }` and a `uprobe:libc:getpp* { D }` printed A, A, B, A on one call (C and D ran A's code);
 * two multi-attach probes both naming getppid ran one of them twice. Probes that each name the
 * event alone, without wildcards, run their own code in program order.
 * The verifier cannot say what such a program does, so it refuses it.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { AttachPoint, Program } from './frontend/ast.js';
import { attachesTo } from './coverage.js';

/** True when `a` and `b` may name a common event. */
function overlap(a: AttachPoint, b: AttachPoint): boolean {
  if (a.provider === 'BEGIN' || a.provider === 'END' || b.provider === 'BEGIN' || b.provider === 'END') return false;
  if (!a.wildcard) return attachesTo(b, a);
  if (!b.wildcard) return attachesTo(a, b);
  // Two wildcards: the same provider and literal prefixes that agree may match a common event.
  if (a.provider !== b.provider || a.target.length !== b.target.length) return false;
  return a.target.every((p, i) => {
    const q = b.target[i] as string;
    const pre = (x: string): string => x.split(/[*?[]/)[0] as string;
    return pre(p).startsWith(pre(q)) || pre(q).startsWith(pre(p));
  });
}

/** Errors for pairs of probes that share an event where one of them lists several attach points or a wildcard. */
export function checkProbeOverlap(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  const probes = program.probes;
  for (let i = 0; i < probes.length; i++) {
    for (let j = i + 1; j < probes.length; j++) {
      const p = probes[i]!;
      const q = probes[j]!;
      const shared = (p.attachPoints.length > 1 || p.attachPoints.some((a) => a.wildcard)) || (q.attachPoints.length > 1 || q.attachPoints.some((a) => a.wildcard));
      if (!shared) continue;
      const hit = p.attachPoints.flatMap((a) => q.attachPoints.filter((b) => overlap(a, b)).map((b) => [a, b] as const))[0];
      if (!hit) continue;
      out.push({
        code: 'symbolic.probes-share-event',
        severity: 'error',
        stage: 'symbolic',
        message: `the probes at lines ${p.span.line} and ${q.span.line} both attach to ${hit[0].wildcard ? hit[1].raw : hit[0].raw}, one through a list of attach points or a wildcard: bpftrace 0.17 then runs one probe's code in place of the other's, so the program would not do what it says`,
        span: q.span,
        hints: ['give each event at most one probe that reaches it through a list or a wildcard: split the list or narrow the wildcard so no event is in two probes'],
      });
    }
  }
  return out;
}
