/**
 * bpftrace probe providers by canonical name, and the short aliases bpftrace accepts.
 * Shared by the front-end (attach points), the kernel reader (what this kernel offers) and the
 * runner/kernel check, so that "kprobe" means the same thing everywhere.
 *
 * It lives at the bottom layer, in kernel-contracts (which never imports the daemon), as a pure
 * table with no imports: the daemon and the pure verifier import it from here. The control
 * protocol does not use it (probe names cross the socket as plain strings), so the CLI, which
 * imports only the protocol, never loads kernel-contracts.
 */
export const PROBE_TYPES = [
  'BEGIN',
  'END',
  'kprobe',
  'kretprobe',
  'uprobe',
  'uretprobe',
  'usdt',
  'tracepoint',
  'rawtracepoint',
  'profile',
  'interval',
  'software',
  'hardware',
  'watchpoint',
  'asyncwatchpoint',
  'kfunc',
  'kretfunc',
  'iter',
  'self',
] as const;

export type ProbeType = (typeof PROBE_TYPES)[number];

/** Aliases (as written in programs) to canonical provider names. Newer bpftrace spells kfunc `fentry`. */
export const PROBE_ALIASES: Readonly<Record<string, ProbeType>> = {
  k: 'kprobe',
  kr: 'kretprobe',
  u: 'uprobe',
  ur: 'uretprobe',
  U: 'usdt',
  t: 'tracepoint',
  rawtracepoint: 'rawtracepoint',
  rt: 'rawtracepoint',
  p: 'profile',
  i: 'interval',
  s: 'software',
  h: 'hardware',
  w: 'watchpoint',
  aw: 'asyncwatchpoint',
  f: 'kfunc',
  fentry: 'kfunc',
  fr: 'kretfunc',
  fexit: 'kretfunc',
  it: 'iter',
};

/** Canonical provider for a name as written (`t` -> `tracepoint`), or undefined when unknown. */
export function canonicalProbeType(name: string): ProbeType | undefined {
  if ((PROBE_TYPES as readonly string[]).includes(name)) return name as ProbeType;
  return PROBE_ALIASES[name];
}
