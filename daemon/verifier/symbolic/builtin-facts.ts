/**
 * What bpftrace 0.17 and the kernel guarantee about builtins, by probe kind. These are facts, never
 * hints: each holds on every invocation, and each was checked on this machine where it can be
 * observed (golden `builtin-*`, difftest class `builtins`). The clock facts (`nsecs`, `elapsed`)
 * are in `clock.ts`; those that hold in every probe are axioms of the builtin's symbol (`calls.ts`,
 * `fields.ts`); those that depend on the probe kind are preconditions of the probe, built here,
 * because a builtin's symbol is shared by every probe of the program.
 *
 * Not facts (so not assumed): `pid`/`tid` > 0 in kprobes, tracepoints, profile, interval, software
 * and hardware probes — they fire on idle CPUs too, where the idle task has pid 0 (checked here:
 * profile:hz:997 prints `swapper/0 pid=0 tid=0`); `pid == tid` anywhere; `uid`/`gid` values;
 * `cgroup`; `retval` (a whole register); `pid` at most the host's current pid_max (an administrator
 * may lower pid_max while larger pids live on).
 */
import type { AttachPoint } from '../frontend/ast.js';
import { bvSort, type Term } from '../smt/term.js';
import type { ExecCore } from './core.js';
import { builtinTerm32 } from './fields.js';
import { stringLiteralTerm } from './values.js';

/**
 * Probe kinds that run only in a user task: BEGIN and END (bpftrace's main thread calls their
 * trigger functions), uprobes/uretprobes and USDT probes (a breakpoint in user code, which the
 * idle task never runs). So `pid` and `tid` are at least 1 there (the idle task is the only one
 * with pid 0; alloc_pid() hands out ids from 1).
 */
const USER_TASK_KINDS = new Set(['BEGIN', 'END', 'uprobe', 'uretprobe', 'usdt']);

/** The facts about builtins `used` that hold in a probe attached at `ap`. */
export function builtinFacts(ex: ExecCore, ap: AttachPoint, used: ReadonlySet<string>): Term[] {
  const b = ex.b;
  const out: Term[] = [];
  if (USER_TASK_KINDS.has(ap.provider)) {
    for (const name of ['pid', 'tid'] as const) {
      if (used.has(name) || used.has('curtask')) out.push(b.ult(b.bv(0, 32), builtinTerm32(ex, name)));
    }
  }
  const host = ex.opts.contracts.hostFacts();
  if ((ap.provider === 'BEGIN' || ap.provider === 'END') && used.has('comm') && host.bpftraceComm !== undefined && /^[\x21-\x7e]+$/.test(host.bpftraceComm)) {
    // BEGIN_trigger()/END_trigger() are called by bpftrace's main thread (BPFtrace::run): its comm
    // is the executable's base name (checked here: BEGIN and END print "bpftrace").
    out.push(b.eq(commTerm(ex), stringLiteralTerm(b, host.bpftraceComm.slice(0, 15), 16).t));
  }
  return out;
}

/** The `comm` builtin's symbol (16 bytes, see `calls.ts`). */
export function commTerm(ex: ExecCore): Term {
  return ex.input('comm', bvSort(128));
}

/**
 * The axiom of the `cpu` builtin's 32-bit symbol: below the number of possible CPUs when the host
 * gives it (bpf_get_smp_processor_id() returns smp_processor_id(), always < nr_cpu_ids <= the
 * possible count; checked here: 2 possible CPUs, `cpu` prints 0 or 1).
 */
export function cpuAxiom(ex: ExecCore, cpu: Term): Term | undefined {
  const n = ex.opts.contracts.hostFacts().possibleCpus;
  if (n === undefined || !Number.isInteger(n) || n <= 0) return undefined;
  return ex.b.ult(cpu, ex.b.bv(n, 32));
}
