/**
 * Table-driven tests of the symbolic executor, the guards and the verdict logic, through
 * `verifyProgram` with the recorded tracefs formats of the development kernel.
 */
import { join } from 'node:path';
import t from 'tap';
import { EMPTY_CONTRACTS } from '../../../../daemon/verifier/contract-seam.js';
import { recordedContractProvider } from '../../../support/recorded-contracts.js';
import type { AssertionVerdict, ProgramVerdict } from '../../../../daemon/verifier/report.js';
import { ALL_PROBES_AVAILABLE } from '../../../../daemon/verifier/lints/index.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';

const contracts = recordedContractProvider(join(import.meta.dirname, '../../../fixtures/verifier/formats'));

interface Case {
  readonly name: string;
  readonly src: string;
  readonly verdict: ProgramVerdict;
  /** Per assertion in source order. */
  readonly assertions?: readonly AssertionVerdict[];
  /** Substrings the first refuted assertion's counterexample summary must contain. */
  readonly summary?: readonly (string | RegExp)[];
  /** Exact counterexample values (inputs or computed) of the first refuted assertion. */
  readonly values?: Readonly<Record<string, string>>;
  /** A diagnostic code that must be reported. */
  readonly code?: string;
  /** Substring of the first unknown/trivial assertion's reason. */
  readonly reason?: string;
  readonly candidate?: string;
}

const SOCK = 'tracepoint:sock:inet_sock_set_state';

const cases: Case[] = [
  // ---- byte order -----------------------------------------------------------------------
  {
    name: 'bswap of a __be16 kernel field proves the host-order port',
    src: `${SOCK} { $sk = (struct sock *)args->skaddr; $p = bswap($sk->__sk_common.skc_dport); printf("%ld\\n", $p);
      assert(printed(0) == (($sk->__sk_common.skc_dport & 0xff) << 8 | $sk->__sk_common.skc_dport >> 8)); }`,
    verdict: 'proved',
  },
  {
    name: 'a network-order port printed as is is refuted with the raw value',
    src: `${SOCK} { $sk = (struct sock *)args->skaddr; printf("%ld\\n", $sk->__sk_common.skc_dport);
      assert(printed(0) == bswap($sk->__sk_common.skc_dport)); }`,
    verdict: 'refuted',
    summary: ['$sk->__sk_common.skc_dport = ', '-> printed $sk->__sk_common.skc_dport = ', 'expected'],
  },
  {
    name: 'bswap of 32 and 64 bit values is exact',
    src: `kprobe:f { $a = bswap((uint32)0x11223344); $b = bswap((uint64)0x0102030405060708); $c = bswap((uint16)arg0);
      assert($a == 0x44332211); assert($b == 0x0807060504030201); assert(bswap($c) == (uint16)arg0); }`,
    verdict: 'proved',
    // Assertions about $vars are about what the program computes: not trivial even when constant.
    assertions: ['proved', 'proved', 'proved'],
  },
  // ---- units ----------------------------------------------------------------------------
  {
    name: 'ns to ms through an entry/exit map pair',
    src: `tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
      tracepoint:syscalls:sys_exit_read /@start[tid]/ { $ms = (nsecs - @start[tid]) / 1000000; printf("%ld ms\\n", $ms);
      assert(printed(0) == (nsecs - @start[tid]) / 1000000); assert(printed(0) * 1000000 <= nsecs - @start[tid]); delete(@start[tid]); }`,
    verdict: 'proved',
    assertions: ['proved', 'proved'],
  },
  {
    name: 'ns divided by 1000 is not ms',
    src: `tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
      tracepoint:syscalls:sys_exit_read /@start[tid]/ { $ms = (nsecs - @start[tid]) / 1000; printf("%ld ms\\n", $ms);
      assert(printed(0) == (nsecs - @start[tid]) / 1000000); delete(@start[tid]); }`,
    verdict: 'refuted',
    summary: ['@start[tid] = ', /nsecs(#\d+)? = /, 'printed $ms = '],
  },
  {
    name: 'each read of nsecs is a new value (checked on bpftrace 0.17: two reads differ by ~70 ns); annotations see the last read',
    src: `kprobe:f { $a = nsecs; $b = nsecs; assert($a == $b); assert($a <= $b); assert($b == nsecs); printf("%ld\\n", nsecs - $a); assert(printed(0) == 0); }`,
    verdict: 'refuted',
    assertions: ['refuted', 'proved', 'proved', 'refuted'],
  },
  // ---- filters --------------------------------------------------------------------------
  {
    name: 'a pid predicate proves the pid (restating the predicate is not trivial)',
    src: `tracepoint:syscalls:sys_enter_openat /pid == 1234/ { printf("%ld\\n", pid); assert(pid == 1234); assert(printed(0) == 1234); }`,
    verdict: 'proved',
    assertions: ['proved', 'proved'],
  },
  {
    name: 'tid is not pid',
    src: `tracepoint:syscalls:sys_enter_openat /tid == 1234/ { assert(pid == 1234); }`,
    verdict: 'refuted',
    values: { tid: '1234' },
  },
  {
    name: 'comm filter with string equality',
    src: `tracepoint:syscalls:sys_exit_read /comm == "nginx"/ { @b[comm] = sum(args->ret); assert(mapkey(@b, 0) == "nginx"); assert(comm != "nginy"); }`,
    verdict: 'proved',
  },
  {
    name: 'a misspelt comm filter is refuted with a comm value',
    src: `tracepoint:syscalls:sys_exit_read /comm == "ngnix"/ { @n = count(); assert(comm == "nginx"); }`,
    verdict: 'refuted',
    values: { comm: '"ngnix"' },
  },
  {
    name: 'str() of the same pointer agrees; a length limit truncates',
    src: `tracepoint:syscalls:sys_enter_openat { $f = str(args->filename); printf("%s\\n", str(args->filename, 4));
      assert($f == str(args->filename)); assert(strncmp(printed(0), $f, 3) == 0); assert(printed(0) == $f); }`,
    verdict: 'refuted',
    assertions: ['proved', 'proved', 'refuted'],
  },
  {
    name: '__data_loc strings and ntop() addresses compare by value',
    src: `tracepoint:sched:sched_process_exec { printf("%s\\n", str(args->filename)); assert(printed(0) == str(args->filename)); }
      kprobe:f /(uint32)arg0 == (uint32)arg1/ { printf("%s\\n", ntop(2, (uint32)arg0)); assert(printed(0) == ntop(2, (uint32)arg1)); }`,
    verdict: 'proved',
  },
  // ---- maps -----------------------------------------------------------------------------
  {
    // @m may hold 5 from an earlier event; a keyed map may be full, so the store of key 2 may be dropped.
    name: 'map contents are what write sites store; reads after delete give 0; a store into a full map is dropped',
    src: `kprobe:f { $v = @m[1]; delete(@m[1]); $w = @m[1]; @m[2] = 5; assert($w == 0); assert(@m[2] == 5); assert($v == 0); }`,
    verdict: 'refuted',
    assertions: ['proved', 'refuted', 'refuted'],
  },
  {
    name: 'different keys of a map that is only read are different elements',
    src: `kprobe:g { @m[arg0] = arg1; } kprobe:f /@m[1] == 5/ { printf("%ld\\n", @m[257]); assert(printed(0) == 5); }`,
    verdict: 'refuted',
  },
  {
    name: 'clear() and zero() act later in user space; delete() at once (bpftrace 0.17)',
    src: `kprobe:f { @m[(uint8)1] = 5; @d[(uint8)1] = 5; clear(@m); zero(@m); delete(@d[(uint8)1]); printf("%ld %ld\\n", @m[(uint8)1], @d[(uint8)1]); assert(printed(0) == 5); assert(printed(1) == 0); }`,
    verdict: 'proved',
  },
  {
    name: 'exit() ends the action',
    src: `kprobe:f { if (arg0 > 5) { exit(); } printf("%ld\\n", arg0); assert(printed(0) <= 5); }`,
    verdict: 'proved',
  },
  {
    name: 'positional parameters are inputs of the whole run',
    src: `kprobe:f /pid == $1/ { printf("%ld\\n", pid); assert(printed(0) == $1); assert($1 == 7); }`,
    verdict: 'refuted',
    assertions: ['proved', 'refuted'],
  },
  {
    // bpftrace 0.17 refuses the value of a count()/sum() map in expressions: reading one is not modelled.
    name: 'count() and sum() update the map; mapval is the argument; reading an aggregation is not modelled',
    src: `kprobe:f { @c[pid] = count(); @s[pid] = sum(arg1); assert(mapval(@c) == 1); assert(mapval(@s) == arg1); assert(@s[pid] >= arg1 || @s[pid] < arg1); }`,
    verdict: 'unknown',
    assertions: ['proved', 'proved', 'unknown'],
  },
  {
    name: 'an assumption over map contents before the invocation is allowed (here implied by the predicate)',
    src: `kprobe:g { @start[tid] = arg0; } kprobe:f /@start[tid] <= nsecs/ { assume(@start[tid] <= nsecs); $d = nsecs - @start[tid]; printf("%ld\\n", $d); assert(printed(0) <= nsecs); }`,
    verdict: 'proved',
  },
  // ---- ternary, branches, loops ---------------------------------------------------------
  {
    name: 'ternary max',
    src: `kprobe:f { $m = arg0 > arg1 ? arg0 : arg1; printf("%ld\\n", $m); assert(printed(0) >= arg0 && printed(0) >= arg1); }`,
    verdict: 'proved',
  },
  {
    name: 'branches fork paths; an assertion after the join sees both',
    src: `kprobe:f { if (arg0 > 10) { $x = 1; } else { $x = 2; } assert($x == 1 || $x == 2); assert($x == 1); }`,
    verdict: 'refuted',
    assertions: ['proved', 'refuted'],
  },
  {
    name: 'unroll is exact',
    src: `kprobe:f { $i = 0; unroll(5) { $i += 2; } assert($i == 10); }`,
    verdict: 'proved',
    assertions: ['proved'],
  },
  {
    name: 'a while loop with a constant bound is exact',
    src: `kprobe:f { $i = 0; $s = 0; while ($i < 4) { $s += arg0 & 1; $i++; } printf("%ld\\n", $s); assert(printed(0) == (arg0 & 1) * 4); }`,
    verdict: 'proved',
  },
  {
    name: 'a while loop bounded by an input is unknown',
    src: `kprobe:f { $n = 0; $l = arg0; while ($l > 0) { $l -= 1; $n++; } printf("%ld\\n", $n); assert(printed(0) == arg0); }`,
    verdict: 'unknown',
    reason: 'while loop',
  },
  // ---- casts, signedness, arithmetic ----------------------------------------------------
  {
    name: '(uint16) truncates, (int8) sign-extends',
    src: `kprobe:f { $a = (uint16)70000; $b = (int8)200; printf("%ld %ld\\n", (uint16)arg0, (int8)arg0);
      assert($a == 4464); assert($b == -56); assert(printed(0) <= 65535); assert(printed(1) >= -128 && printed(1) <= 127); assert(printed(0) == arg0); }`,
    verdict: 'refuted',
    assertions: ['proved', 'proved', 'proved', 'proved', 'refuted'],
  },
  {
    name: 'casts keep the source width and extend by the target signedness (bpftrace 0.17, not C)',
    src: `kprobe:f { $x = (uint32)0x80000001; $y = (int32)-6; $s = (int8)-3; printf("%ld %ld %ld %ld\\n", (int64)$x, (uint64)$y, (uint32)$s, $x + 0);
      assert(printed(0) == -2147483647); assert(printed(1) == 4294967290); assert(printed(2) == 253); assert(printed(3) == 2147483649); }`,
    verdict: 'proved',
    assertions: ['proved', 'proved', 'proved', 'proved'],
  },
  {
    name: 'unary ~ and - keep the operand type; binary arithmetic is 64-bit',
    src: `kprobe:f { $w = (uint16)arg0; printf("%ld %ld %ld\\n", ~$w, -$w, $w + (uint16)65535);
      assert(printed(0) == 65535 - $w); assert(printed(1) == (65536 - $w) % 65536); assert(printed(2) == $w + 65535); }`,
    verdict: 'proved',
    assertions: ['proved', 'proved', 'proved'],
  },
  {
    name: 'signed comparison when both sides are signed, unsigned otherwise',
    src: `tracepoint:syscalls:sys_exit_read { $r = args->ret; printf("%ld\\n", $r); assert(printed(0) < 0 || printed(0) >= 0); assert((uint64)printed(0) >= 0); assert(printed(0) > -1 || printed(0) < 0); assert(printed(0) < (uint64)1 || printed(0) >= 1); }`,
    // The last one mixes an unsigned and a signed comparison: -5 satisfies neither.
    verdict: 'refuted',
    assertions: ['trivial', 'trivial', 'trivial', 'refuted'],
  },
  {
    name: 'signed ret compared with an unsigned value compares unsigned',
    src: `tracepoint:syscalls:sys_exit_read { if (args->ret >= (uint64)4096) { printf("%ld\\n", args->ret); assert(printed(0) > 0); } }`,
    verdict: 'refuted',
  },
  {
    name: 'u32 * 512 is computed in 64 bits',
    src: `kprobe:f { $s = (uint32)arg0; printf("%ld\\n", $s * 512); assert(printed(0) / 512 == $s); }`,
    verdict: 'proved',
  },
  {
    // A zero divisor is undefined behaviour for LLVM (see operators.ts): any value, never proved.
    name: 'division and modulo by zero are undefined (bpftrace 0.17 / LLVM); >> is logical',
    src: `kprobe:f { $z = arg0 & 0; printf("%ld %ld %ld\\n", arg1 / $z, arg1 % $z, (int64)-8 >> 1); assert(printed(0) == 0); assert(printed(1) == 0); assert(printed(2) == 0x7ffffffffffffffc); }`,
    verdict: 'unknown',
  },
  {
    name: 'negating the most negative value overflows',
    src: `tracepoint:syscalls:sys_exit_read /args->ret < 0/ { @e[-args->ret] = count(); assert(mapkey(@e, 0) > 0); }`,
    verdict: 'refuted',
    values: { 'args->ret': '-9223372036854775808' },
  },
  // ---- guards ---------------------------------------------------------------------------
  {
    name: 'contradictory assumptions are vacuous',
    src: `kprobe:f { assume(pid == 1); assume(pid == 2); printf("%ld\\n", pid); assert(printed(0) == 7); }`,
    verdict: 'invalid',
    code: 'guard.vacuous',
  },
  {
    name: 'an assumption against the predicate is vacuous',
    src: `kprobe:f /pid == 3/ { assume(pid > 10); assert(pid == 3); }`,
    verdict: 'invalid',
    code: 'guard.vacuous',
  },
  {
    name: 'an assumption outside the field range is vacuous',
    src: `${SOCK} { assume(args->dport > 65535); printf("%ld\\n", args->dport); assert(printed(0) == 0); }`,
    verdict: 'invalid',
    code: 'guard.vacuous',
  },
  {
    name: 'assume over a $var is rejected',
    src: `kprobe:f { $x = arg0 * 2; assume($x < 10); assert($x < 10); }`,
    verdict: 'invalid',
    code: 'guard.assume-computed',
  },
  {
    name: 'assume over printed() is rejected',
    src: `kprobe:f { printf("%ld\\n", arg0); assume(printed(0) == 1); assert(printed(0) == 1); }`,
    verdict: 'invalid',
    code: 'guard.assume-computed',
  },
  {
    name: 'assume over map contents this invocation wrote is rejected',
    src: `kprobe:f { @m[1] = arg0; assume(@m[1] == 5); assert(arg0 == 5); }`,
    verdict: 'invalid',
    code: 'guard.assume-computed',
  },
  {
    name: 'observables outside annotations are rejected',
    src: `kprobe:f { printf("%ld\\n", arg0); $x = printed(0); }`,
    verdict: 'invalid',
    code: 'guard.observable-outside-annotation',
  },
  {
    name: 'annotations that change the program are rejected',
    src: `kprobe:f { $ms = arg0 / 1000000; printf("%ld\\n", $ms); assert(printed(0) == arg0 / 1000000); }`,
    candidate: `kprobe:f { $ms = arg0 / 1000; printf("%ld\\n", $ms); }`,
    verdict: 'invalid',
    code: 'guard.annotations-changed-program',
  },
  {
    name: 'annotations that only add assume/assert are accepted',
    src: `kprobe:f { $ms = arg0 / 1000; printf("%ld\\n", $ms); assert(printed(0) == arg0 / 1000); }`,
    candidate: `kprobe:f
{
  $ms = arg0 / 1000;   // comments and layout do not matter
  printf("%ld\\n", $ms);
}`,
    verdict: 'proved',
  },
  {
    name: 'an assertion implied by the assumptions alone is trivial',
    src: `kprobe:f /arg0 > 5/ { assume(arg0 > 5); printf("%ld\\n", arg0); assert(arg0 > 5); }`,
    verdict: 'unannotated',
    assertions: ['trivial'],
    reason: 'whatever the program computes',
  },
  // ---- an assume may not hide inputs the program acts on -----------------------------------
  {
    name: 'an assume excluding inputs the program prints is rejected',
    src: `kprobe:f { assume(arg0 > 5); printf("%ld\\n", arg0); assert(printed(0) > 5); }`,
    verdict: 'invalid',
    code: 'guard.assume-hides-inputs',
  },
  {
    name: 'an assume over map contents the program acts on is rejected',
    src: `kprobe:g { @start[tid] = arg0; } kprobe:f { assume(@start[tid] <= nsecs); $d = nsecs - @start[tid]; printf("%ld\\n", $d); assert(printed(0) <= nsecs); }`,
    verdict: 'invalid',
    code: 'guard.assume-hides-inputs',
  },
  {
    name: 'an effect before the assume counts: the program already acted on the excluded inputs',
    src: `kprobe:f { @calls = count(); assume(arg0 > 5); if (arg0 > 5) { printf("%ld\\n", arg0); assert(printed(0) > 5); } }`,
    verdict: 'invalid',
    code: 'guard.assume-hides-inputs',
  },
  {
    name: 'an assume excluding only inputs the program filters out is allowed',
    src: `kprobe:f { assume(arg0 > 5); $x = arg0 / 2; if (arg0 > 5) { printf("%lu\\n", $x); assert(printed(0) >= 3); } }`,
    verdict: 'proved',
  },
  {
    name: 'an assume implied by the path condition is allowed (an if above it)',
    src: `kprobe:f { if (arg0 > 5) { assume(arg0 >= 6); printf("%lu\\n", arg0); assert(printed(0) >= 6); } }`,
    verdict: 'proved',
  },
  {
    name: 'exit() is an action: an assume may not exclude the inputs that end the program',
    src: `kprobe:f { assume(arg0 <= 5); if (arg0 > 5) { exit(); } printf("%ld\\n", arg0); assert(printed(0) <= 5); }`,
    verdict: 'invalid',
    code: 'guard.assume-hides-inputs',
  },
  {
    name: 'an assume met in a loop is tested where it is met, after a branch',
    src: `kprobe:f { unroll(2) { if (arg1 > 3) { assume(arg0 > 5); } @m[arg0] = count(); } assert(mapkey(@m, 0) == arg0); }`,
    verdict: 'invalid',
    code: 'guard.assume-hides-inputs',
  },
  {
    name: 'contradictory assumptions are reported as vacuous, not as hiding inputs',
    src: `kprobe:f { assume(arg0 == 1); assume(arg0 == 2); printf("%ld\\n", arg0); assert(printed(0) == 3); }`,
    verdict: 'invalid',
    code: 'guard.vacuous',
  },
  {
    name: 'no assertion at all is unannotated',
    src: `kprobe:f { @c = count(); }`,
    verdict: 'unannotated',
  },
  {
    name: 'an unreachable assertion proves nothing',
    src: `kprobe:f { if (pid == 1 && pid == 2) { assert(arg0 == 1); } }`,
    verdict: 'unannotated',
    assertions: ['trivial'],
  },
  // ---- unmodelled constructs ------------------------------------------------------------
  {
    name: 'kstack is not modelled: unknown, never proved or refuted',
    src: `kprobe:f { @s[kstack] = count(); assert(mapkey(@s, 0) == 0); }`,
    verdict: 'unknown',
    reason: 'not modelled',
  },
  {
    name: 'an unmodelled value that does not matter still allows a proof',
    src: `kprobe:f { $k = ksym(arg0); printf("%ld\\n", arg1); assert(printed(0) == arg1); }`,
    verdict: 'proved',
  },
  {
    name: 'for loops do not exist in bpftrace 0.17: the program is invalid',
    src: `kprobe:f { $s = 0; for ($i : 0..4) { $s += $i; } printf("%ld\\n", $s); assert(printed(0) == 6); }`,
    verdict: 'invalid',
  },
  {
    name: 'for loops over maps do not exist in bpftrace 0.17 either',
    src: `kprobe:f { @m[1] = 1; for ($kv : @m) { printf("x\\n"); } printf("%ld\\n", arg0); assert(printed(0) == arg0); }`,
    verdict: 'invalid',
  },
  {
    name: 'kernel fields without a contract: proofs hold, counterexamples are unknown',
    src: `kprobe:f { $t = (struct kgent_no_such_struct *)arg0; $a = $t->real_parent->pid; printf("%ld\\n", $a); assert(printed(0) == $t->real_parent->pid); assert(printed(0) == 1); }`,
    verdict: 'unknown',
    assertions: ['proved', 'unknown'],
  },
  {
    name: 'args of a tracepoint without a recorded format are unknown',
    src: `tracepoint:nosuch:event { printf("%ld\\n", args->x); assert(printed(0) == 1); }`,
    verdict: 'unknown',
    reason: 'no format known',
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = await verifyProgram(c.src, { contracts, ...(c.candidate !== undefined ? { candidate: c.candidate } : {}) });
    const show = JSON.stringify({ verdict: r.verdict, assertions: r.assertions, diagnostics: r.diagnostics }, null, 1);
    t.equal(r.verdict, c.verdict, `program verdict\n${show}`);
    if (c.assertions) t.same(r.assertions.map((a) => a.verdict), c.assertions, 'assertion verdicts');
    const refuted = r.assertions.find((a) => a.verdict === 'refuted');
    for (const s of c.summary ?? []) t.match(refuted?.counterexample?.summary ?? '', s, `summary mentions ${s}`);
    for (const [k, v] of Object.entries(c.values ?? {})) {
      const cx = refuted?.counterexample;
      t.equal(cx?.inputs[k] ?? cx?.computed[k], v, `${k} = ${v}`);
    }
    if (c.code) t.ok(r.diagnostics.some((d) => d.code === c.code), `reports ${c.code}\n${show}`);
    if (c.reason) {
      const a = r.assertions.find((x) => x.verdict === 'unknown' || x.verdict === 'trivial');
      t.match(a?.reason ?? '', c.reason, 'reason');
    }
    if (r.verdict !== 'invalid') t.notOk(r.diagnostics.some((d) => d.stage === 'guard'), 'no guard diagnostics');
  });
}

t.test('timings: the solver init is reported once', async (t) => {
  const a = await verifyProgram('kprobe:f { printf("%ld\\n", arg0); assert(printed(0) == arg0); }', { contracts: EMPTY_CONTRACTS });
  const b = await verifyProgram('kprobe:f { printf("%ld\\n", arg0); assert(printed(0) == arg0); }', { contracts: EMPTY_CONTRACTS });
  t.equal(b.timings.solverInitMs, 0, 'second call pays no init');
  t.ok(a.timings.totalMs >= 0 && b.timings.verifyMs >= 0);
  t.equal(b.verdict, 'proved');
});

t.test('let declarations: bpftrace 0.17 rejects them, so the program is invalid and nothing is proved', async (t) => {
  const r = await verifyProgram(`kprobe:f { let $x: uint8 = arg0; $x = arg1; printf("%d\\n", $x); assert(printed(0) == (uint8)arg0); }`, { contracts: EMPTY_CONTRACTS });
  t.equal(r.verdict, 'invalid');
  t.same(r.assertions, []);
  t.match(r.diagnostics, [{ code: 'parse.not-in-bpftrace-0.17', severity: 'error', stage: 'parse', message: /bpftrace 0.17/, span: { line: 1, column: 12 } }]);
});

t.test('a syntax error is invalid with a parse diagnostic', async (t) => {
  const r = await verifyProgram('kprobe:f { assert(printed(0) == ); }', { contracts });
  t.equal(r.verdict, 'invalid');
  t.ok(r.diagnostics.some((d) => d.stage === 'parse' && d.severity === 'error'));
});

t.test('lints run when a lint context is given, and never change the verdict', async (t) => {
  const src = 'kprobe:f { system("echo hi"); printf("%ld\\n", arg0); assert(printed(0) == arg0); }';
  const r = await verifyProgram(src, { contracts, lintContext: { probes: ALL_PROBES_AVAILABLE, policy: { allowUnsafe: false } } });
  t.ok(r.diagnostics.some((d) => d.stage === 'lint'), JSON.stringify(r.diagnostics));
  t.equal(r.verdict, 'proved');
  const quiet = await verifyProgram(src, { contracts });
  t.notOk(quiet.diagnostics.some((d) => d.stage === 'lint'), 'no lints without a context');
});

t.test('a solver timeout gives unknown with its reason, never a verdict it did not reach', async (t) => {
  // 64-bit multiplication of two inputs is hard for the bit-vector solver.
  const src = 'kprobe:f { $p = arg0 * arg1; printf("%ld\\n", $p); assert(printed(0) != 0x1234567890abcdef || arg0 * arg1 == 0x1234567890abcdef); assert(printed(0) / 3 * 3 + printed(0) % 3 == arg1 * arg0 || arg0 == 3); }';
  const r = await verifyProgram(src, { contracts, timeoutMs: 1 });
  for (const a of r.assertions) t.not(a.verdict, 'refuted', `${a.text}: ${a.verdict} ${a.reason ?? ''}`);
  t.ok(r.assertions.some((a) => a.verdict === 'unknown' && /timed out/.test(a.reason ?? '')), 'the hard one times out');
  t.equal(r.verdict, 'unknown');
});
