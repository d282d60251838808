/**
 * Difftest class `accept`: programs near the edges of what bpftrace 0.17 compiles (map and
 * variable retyping, aggregation values read back, printf conversions and argument types,
 * builtins and functions 0.17 does not have, argument counts, string/integer mixes, map key
 * layouts), valid and invalid, one fragment per case (two in 30%: a refusal in one must not hide a wrong verdict on the other too often). The verdicts are compared:
 * bpftrace refuses the case exactly when kgent's verifier says `invalid` (refused-both and agree
 * pass; either one-sided refusal is a disagreement).
 */
import { bpftraceTarget } from './target.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';
import type { ProbeContractProvider } from '../../../../daemon/verifier/contract-seam.js';
import type { BpfOutcome } from './bpftrace-run.js';
import type { CaseResult } from './differential.js';
import { type Ctx, type GenClass, newInput, type Node, stmt } from './generator.js';
import { executorProgram, type RunEnv } from './program.js';

type Fragment = (m: string, v: string, c: Ctx) => string;

const AGGS = ['count()', 'sum(5)', 'max(5)', 'avg(5)', 'min(5)', 'stats(5)', 'hist(5)'];

/** Each fragment uses its own names (`m`: a map name prefix, `v`: a variable), so fragments combine. */
const FRAGMENTS: readonly Fragment[] = [
  // Map values: the first assignment fixes the type.
  (m, _v, c) => `${m}a = ${c.r.pick(['1', '(int8)1', '"a"', 'comm'])}; ${m}a = ${c.r.pick(['2', '100000000000', '"bbb"', 'comm', 'pid', 'str(arg0)'])};`,
  // Variables likewise.
  (_m, v, c) => `${v} = ${c.r.pick(['1', '(uint16)1', '"a"', 'comm'])}; ${v} = ${c.r.pick(['2', '"bbbbb"', 'comm', 'pid', '(int8)3'])};`,
  // Aggregation values read back.
  (m, v, c) => {
    const r = c.r;
    const use = r.pick([
      `printf("%d\\n", ${m}g);`,
      `${v} = ${m}g;`,
      `${v} = ${m}g + 1;`,
      `if (${m}g > 0) { ${v} = 1; }`,
      `print(${m}g);`,
      `clear(${m}g);`,
      `${m}h = ${m}g;`,
      `${m}g++;`,
      `${v} = 1 ? ${m}g : 0;`,
      `${m}g = ${r.pick(AGGS)};`,
      `${m}g = 1;`,
    ]);
    return `${m}g = ${r.pick(AGGS)}; ${use}`;
  },
  // printf conversions and arguments.
  (_m, _v, c) =>
    c.r.pick([
      'printf("%i\\n", 1);',
      'printf("%d %s\\n", 1, "a");',
      'printf("%s\\n", 1);',
      'printf("%d\\n");',
      'printf("%-5d|%05x\\n", 1, 2);',
      'printf("%+d\\n", 1);',
      'printf("% d\\n", 1);',
      'printf("%#x\\n", 1);',
      'printf("%lu %hhx %jd %zu %tX\\n", 1, 2, 3, 4, 5);',
      'printf("%ld\\n", comm);',
      'printf("%s\\n", comm);',
      'printf("%5.2s\\n", comm);',
      'printf("%f\\n", 1);',
      'printf("%c\\n", 65);',
      'printf("%%d\\n", 1);',
      'printf("%p %llo\\n", 1, 2);',
      'printf("%qd\\n", 1);',
      'printf("%*d\\n", 1, 2);',
      'printf("%d %d\\n", 1);',
      'printf("%s %s\\n", comm, str(arg0));',
      'printf("%hhp\\n", 300);',
      'printf("%lx\\n", "a");',
    ]),
  // Builtins.
  (_m, v, c) => `${v} = ${c.r.pick(['ncpus', 'jiffies', 'usermode', 'numaid', 'cgroup', 'retval', 'arg0', 'arg1', 'cpid', 'rand', 'cpu', 'elapsed', 'nsecs', 'uid'])};`,
  // Functions and argument counts.
  (m, v, c) =>
    c.r.pick([
      `${v} = bswap(1, 2);`,
      `${v} = bswap((uint16)1);`,
      `${m}k[1] = 1; ${v} = has_key(${m}k, 1);`,
      `${m}k[1] = 1; ${v} = len(${m}k);`,
      `${v} = strncmp(comm, "a", 1);`,
      `${v} = strncmp(comm, "a");`,
      `${v} = str(comm);`,
      `${v} = str(arg0);`,
      `${v} = str(arg0, 3);`,
      `${v} = str("abc");`,
      `${m}s = count(1);`,
      `${m}s = sum();`,
      `${m}s = lhist(1, 0, 10);`,
      `${m}s = lhist(1, 0, 10, 1);`,
      `${v} = ntop(1, 2, 3);`,
      `${v} = offsetof(struct task_struct, pid);`,
      `${v} = sizeof(int32);`,
    ]),
  // Strings and integers mixed.
  (_m, v, c) =>
    c.r.pick([
      `if (comm == 1) { ${v} = 1; }`,
      `if (comm == "a") { ${v} = 1; }`,
      `if (comm != str(arg0)) { ${v} = 1; }`,
      `if (comm < "a") { ${v} = 1; }`,
      `${v} = 1 + "a";`,
      `${v} = -comm;`,
      `${v} = pid + 1;`,
      `${v} = comm == "node";`,
      `${v} = "a" == "b";`,
      `${v} = ~"a";`,
    ]),
  // Map key layouts.
  (m, _v, c) => `${m}k[${c.r.pick(['1', '"a"', 'comm', '1, 2'])}] = 1; ${m}k[${c.r.pick(['2', '"b"', 'comm', '(int8)2', '3, 4', 'pid'])}] = 2;`,
];

export const ACCEPT_CLASSES: Record<string, GenClass> = {
  accept: {
    weight: 3,
    optIn: true,
    gen: (c) => {
      const out: Node[] = [];
      newInput(c);
      for (let i = 0, n = c.r.chance(0.7) ? 1 : 2; i < n; i++) out.push(stmt(c.r.pick(FRAGMENTS)(`@c${c.id}_${i}`, `$v${i}`, c)));
      return out;
    },
  },
};

/** Verdict parity for an `accept` case. */
export async function compareAccept(c: CaseResult['c'], bpf: BpfOutcome, env: RunEnv, contracts: ProbeContractProvider): Promise<CaseResult> {
  if (bpf.status === 'no-output') return { c, verdict: 'no-output', mismatches: [], detail: bpf.detail };
  const report = await verifyProgram(executorProgram(c, env), { contracts, dialect: bpftraceTarget().dialect });
  const refusal = report.diagnostics.find((d) => d.severity === 'error' && d.stage === 'parse');
  const kgentRefuses = report.verdict === 'invalid' && refusal !== undefined;
  const bpftraceRefuses = bpf.status === 'rejected';
  if (kgentRefuses && bpftraceRefuses) return { c, verdict: 'refused-both', mismatches: [], detail: `bpftrace: ${bpf.error}; kgent: ${refusal.message}` };
  if (!kgentRefuses && !bpftraceRefuses) return { c, verdict: 'agree', mismatches: [] };
  const detail = bpftraceRefuses ? `bpftrace refuses it (${bpf.error}) but kgent's verifier says ${report.verdict}` : `kgent refuses it (${refusal?.message ?? report.verdict}) but bpftrace ${bpftraceTarget().version} runs it`;
  return { c, verdict: 'disagree', mismatches: [], detail, minimal: executorProgram(c, env) };
}
