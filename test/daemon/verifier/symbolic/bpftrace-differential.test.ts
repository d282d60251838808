/**
 * Differential test of the executor's integer semantics against the installed bpftrace: bpftrace
 * computes each expression at run time (values derived from a map written in BEGIN, which LLVM
 * cannot see through; not `pid >> 40`, which LLVM folds to 0), and the verifier must prove that
 * the program prints exactly what bpftrace printed. Expressions that are undefined in bpftrace
 * (division by zero: LLVM undefined behaviour) must not be proved, whatever bpftrace printed.
 * Needs root and a working bpftrace; skips otherwise.
 */
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { EMPTY_CONTRACTS } from '../../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';

/** Runtime variables: name, bpftrace type, value. */
const VARS: [string, string, string][] = [
  ['$u16', 'uint16', '65535'],
  ['$one16', 'uint16', '1'],
  ['$s8', 'int8', '-3'],
  ['$u32', 'uint32', '0x80000001'],
  ['$s32', 'int32', '-6'],
  ['$s64', 'int64', '-7'],
  ['$u64', 'uint64', '7'],
  ['$zero', 'uint64', '0'],
  ['$two', 'int64', '2'],
];

/** Undefined in bpftrace 0.17 (a zero divisor): the verifier must leave them unknown. */
const UNDEFINED = new Set(['$u64 / $zero', '$u64 % $zero']);

const EXPRS = [
  '$u16 + $one16',
  '$one16 - $u16',
  '$u16 * $u16',
  '$s8 + $s8',
  '$u32 + $u32',
  '$s64 / $two',
  '$s64 % $two',
  '$s64 / 3',
  '$u64 / $zero',
  '$u64 % $zero',
  '$s64 >> 1',
  '$s64 >> $two',
  '$u16 << 4',
  '~$one16',
  '-$one16',
  '~$u32',
  '-$s8',
  '(int64)$u32',
  '(uint64)$s32',
  '(uint32)$s8',
  '(int32)$u16',
  '(uint16)($u32 + 70000)',
  '(int8)($u16)',
  '$s32 == -6',
  '$s32 < $one16',
  '$s64 < $u64',
  '$s64 < 1',
  '$u16 > -1',
  '$s64 < 0 ? $u16 : $s8',
  'bswap($one16)',
  'bswap($u32)',
  '($u16 & 0xff) << 8 | $u16 >> 12',
  '$u64 ^ $s64',
];

function bpftraceWorks(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run bpftrace';
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'bpftrace is not installed';
  }
  return undefined;
}

function decls(zero: string): string {
  return VARS.map(([n, ty, v]) => `${n} = (${ty})(${v} + ${zero});`).join(' ');
}

const skip = bpftraceWorks();

t.test('integer semantics agree with bpftrace 0.17', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const body = EXPRS.map((e) => `printf("%lld\\n", (${e}) + 0);`).join(' ');
  const prog = `BEGIN { @kgd_zero = 0; $z = @kgd_zero; ${decls('$z')} ${body} clear(@kgd_zero); exit(); }`;
  let out: string;
  try {
    out = execFileSync('bpftrace', ['-e', prog], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    t.skip(`bpftrace could not run here: ${String((err as { stderr?: unknown }).stderr ?? err).split('\n')[0]}`);
    return;
  }
  const values = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^-?\d+$/.test(l));
  t.equal(values.length, EXPRS.length, 'bpftrace printed one value per expression');
  // The same computation for the verifier, each printf followed by the value bpftrace printed.
  const checks = EXPRS.map((e, i) => `printf("%lld\\n", (${e}) + 0); assert(printed(0) == ${values[i]});`).join(' ');
  const annotated = `kprobe:f { $z = arg0 & 0; ${decls('$z')} ${checks} }`;
  const r = await verifyProgram(annotated, { contracts: EMPTY_CONTRACTS, timeoutMs: 10_000 });
  r.assertions.forEach((a, i) => {
    const e = EXPRS[i] as string;
    if (UNDEFINED.has(e)) t.equal(a.verdict, 'unknown', `${e} is undefined (bpftrace printed ${values[i]})`);
    else t.equal(a.verdict, 'proved', `${e} = ${values[i]}${a.counterexample ? `: ${a.counterexample.summary}` : ''}`);
  });
  // Control: a value off by one is refuted.
  const wrong = `kprobe:f { $z = arg0 & 0; ${decls('$z')} printf("%lld\\n", (${EXPRS[0]}) + 0); assert(printed(0) == ${BigInt(values[0] ?? '0') + 1n}); }`;
  t.equal((await verifyProgram(wrong, { contracts: EMPTY_CONTRACTS })).verdict, 'refuted', 'an off-by-one value is refuted');
});
