/**
 * Difftest class `builtins`: relations between builtins that bpftrace and the kernel guarantee
 * (`nsecs > 0`, `elapsed` against `nsecs` in either order of reads, successive clock reads, `cpu`
 * below the possible CPUs, `pid`/`tid` at least 1 in a uprobe and below PID_MAX_LIMIT, 32-bit
 * `uid`/`gid`/`rand`) and plain values of them. The executor cannot know such a value, so the
 * check is the soundness one: for each value bpftrace printed, kgent's verifier must not prove
 * `printed(J) != VALUE` — a fact that excludes a value the kernel produced is a wrong fact.
 * (Facts specific to BEGIN/END and profile are golden cases: the runner triggers uprobes only.)
 */
import { bpftraceTarget } from './target.js';
import { hostContractProvider } from '../../../../daemon/verification/host-contracts.js';
import type { ProbeContractProvider } from '../../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';
import { realHost } from '../../../../kernel-contracts/kernel-reader/host.js';
import type { BpfOutcome } from './bpftrace-run.js';
import type { CaseResult } from './differential.js';
import { type GenClass, literal, type Node, stmt } from './generator.js';
import { reproProgram, type RunEnv } from './program.js';

const RELATIONS = [
  '(nsecs > 0)',
  '(elapsed < nsecs)',
  '(elapsed <= nsecs)',
  '(nsecs > elapsed)',
  '((nsecs - elapsed) > 0)',
  '(nsecs - elapsed)',
  '(elapsed > 0)',
  '(nsecs < 9223372036854775807)',
  '(cpu < 2)',
  'cpu',
  '(cpu == 0)',
  '(pid > 0)',
  '(tid > 0)',
  '(pid < 4194304)',
  '(tid <= 4194303)',
  'pid',
  '(pid == tid)',
  '(uid < 4294967296)',
  'uid',
  'gid',
  '(rand < 4294967296)',
  '(rand > 0)',
  'numaid',
  '(cgroup > 0)',
  '($b - $a)',
  '($b >= $a)',
  '($e2 >= $e1)',
  '($n1 - $e1)',
  '(($n1 - $e1) > 0)',
  '($e1 < $n1)',
];

export const BUILTIN_CLASSES: Record<string, GenClass> = {
  builtins: {
    weight: 3,
    optIn: true,
    gen: (c) => {
      const r = c.r;
      const pre: Node[] = [stmt('$a = nsecs; $e1 = elapsed; $b = nsecs; $n1 = nsecs; $e2 = elapsed;')];
      return [...pre, { t: 'print', k: c.nextPrint++, args: [0, 1, 2, 3].map(() => ({ expr: r.pick(RELATIONS), kind: 'int' as const, conv: '%lld' })) }];
    },
  },
};

let hostContracts: ProbeContractProvider | undefined;

/** This host's contracts with its facts (possible CPUs, bpftrace's comm). */
export function builtinContracts(): ProbeContractProvider {
  return (hostContracts ??= hostContractProvider(realHost(), { bpftraceComm: 'bpftrace' }));
}

/** Soundness of the builtin facts for one case: no printed value may be excluded by them. */
export async function compareBuiltins(c: CaseResult['c'], bpf: BpfOutcome, env: RunEnv): Promise<CaseResult> {
  if (bpf.status === 'rejected') return { c, verdict: 'rejected', mismatches: [], detail: bpf.error };
  if (bpf.status === 'no-output') return { c, verdict: 'no-output', mismatches: [], detail: bpf.detail };
  const body: Node[] = [];
  const checks: { k: number; j: number; expr: string; value: string }[] = [];
  for (const n of c.body) {
    body.push(n);
    if (n.t !== 'print') continue;
    const line = bpf.prints.get(n.k);
    n.args.forEach((a, j) => {
      const value = line?.[j];
      if (value === undefined || !/^-?\d+$/.test(value)) return;
      checks.push({ k: n.k, j, expr: a.expr, value });
      body.push(stmt(`assert(printed(${j}) != ${literal(BigInt(value))});`));
    });
  }
  const report = await verifyProgram(reproProgram(c, env, body), { contracts: builtinContracts(), dialect: bpftraceTarget().dialect });
  const excluded = report.assertions.flatMap((a, i) => (a.verdict === 'proved' && checks[i] ? [checks[i]] : []));
  if (report.verdict === 'invalid') return { c, verdict: 'executor-error', mismatches: [], detail: `the verifier says invalid: ${report.diagnostics[0]?.message ?? ''}` };
  if (excluded.length === 0) return { c, verdict: 'agree', mismatches: [] };
  return {
    c,
    verdict: 'disagree',
    mismatches: excluded.map((x) => ({ k: x.k, j: x.j, expr: x.expr, bpftrace: x.value, executor: `proves it is never ${x.value}` })),
    minimal: reproProgram(c, env, body),
  };
}
