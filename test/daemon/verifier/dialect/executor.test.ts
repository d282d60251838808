/**
 * Verdicts per dialect on small annotated programs (golden-style: proved / refuted / unknown /
 * invalid), for the constructs and rules that differ between bpftrace versions. The same program
 * often gets different verdicts under different versions: each such pair was run here on the real
 * 0.17 and 0.23.2 (the values in the comments), or follows the sources for later versions.
 */
import t from 'tap';
import { EMPTY_CONTRACTS } from '../../../../daemon/verifier/contract-seam.js';
import { profile, type Dialect } from '../../../../daemon/verifier/dialect/index.js';
import type { AssertionVerdict, ProgramVerdict } from '../../../../daemon/verifier/report.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';

interface Case {
  readonly name: string;
  readonly dialect: string;
  readonly src: string;
  readonly verdict: ProgramVerdict;
  readonly assertions?: readonly AssertionVerdict[];
  /** Substring of a diagnostic's code that must be reported. */
  readonly code?: string;
}

const FOR_MAP = (body: string, after: string): string => `BEGIN { $c = 7; $t = 0; @m[1] = 5; @m[2] = 6; for ($kv : @m) { ${body} } ${after} exit(); }`;

const CASES: readonly Case[] = [
  // for over a map: an assertion in the body holds for any entry; what the body assigns is any
  // value after it; what it does not assign is unchanged; never a refutation through the havoc.
  { name: 'for-map: body assertion proved for any entry', dialect: '0.23', src: FOR_MAP('$n = $kv.1; assert($n == $kv.1);', 'assert($c == 7);'), verdict: 'proved', assertions: ['proved', 'proved'] },
  { name: 'for-map: a fact about the entries is not proved, nor refuted', dialect: '0.23', src: FOR_MAP('assert($kv.1 >= 5);', ''), verdict: 'unknown', assertions: ['unknown'] },
  // Real 0.23.2: $t is 11 after the loop; kgent must not prove $t == 0 (it would without the havoc).
  { name: 'for-map: a variable the body assigns is not its value before the loop', dialect: '0.23', src: FOR_MAP('$t = $t + $kv.1;', 'assert($t == 0);'), verdict: 'unknown', assertions: ['unknown'] },
  { name: 'for-map: a body that writes maps is not modelled', dialect: '0.23', src: FOR_MAP('@n[1] = $kv.1;', 'assert($c == 7);'), verdict: 'unknown', assertions: ['unknown'] },
  { name: 'for-map: what the body printed is any value after it', dialect: '0.23', src: FOR_MAP('printf("%d\\n", $kv.1);', 'assert(printed(0) == 5);'), verdict: 'unknown', assertions: ['unknown'] },
  { name: 'for-map: a loop variable that is also a variable before it is not modelled', dialect: '0.21', src: 'BEGIN { $c = 7; $kv = 1; @m[1] = 5; for ($kv : @m) { $n = 1; } assert($c == 7); exit(); }', verdict: 'unknown' },
  { name: 'for-map: refused by 0.17', dialect: '0.17', src: FOR_MAP('$n = $kv.1;', 'assert($c == 7);'), verdict: 'invalid', code: 'parse.not-in-bpftrace-0.17' },
  { name: 'for-map: refused by 0.20', dialect: '0.20', src: FOR_MAP('$n = $kv.1;', 'assert($c == 7);'), verdict: 'invalid', code: 'parse.not-in-bpftrace-0.20' },
  // for over a range with constant bounds unrolls.
  { name: 'for-range: sum proved', dialect: '0.24', src: 'BEGIN { $t = 0; for ($i : 0..4) { $t = $t + $i; } assert($t == 6); exit(); }', verdict: 'proved' },
  { name: 'for-range: wrong sum refuted', dialect: '0.24', src: 'BEGIN { $t = 0; for ($i : 0..4) { $t = $t + $i; } assert($t == 7); exit(); }', verdict: 'refuted' },
  { name: 'for-range: break ends it', dialect: '0.24', src: 'BEGIN { $t = 0; for ($i : 0..10) { if ($i == 3) { break; } $t = $t + $i; } assert($t == 3); exit(); }', verdict: 'proved' },
  { name: 'for-range: refused by 0.23 (a syntax error there)', dialect: '0.23', src: 'BEGIN { $t = 0; for ($i : 0..4) { $t = $t + $i; } assert($t == 6); exit(); }', verdict: 'invalid', code: 'parse.not-in-bpftrace-0.23' },
  // break/continue in while: every version (real 0.17 and 0.23.2 print 1 then 3).
  ...['0.17', '0.23'].map((d): Case => ({ name: `while: break and continue (${d})`, dialect: d, src: 'BEGIN { $i = 0; $s = 0; while ($i < 5) { $i++; if ($i == 2) { continue; } if ($i == 4) { break; } $s = $s + $i; } assert($s == 4); exit(); }', verdict: 'proved' })),
  // Block scoping: a sibling block's variable is another variable, of its own type (real 0.23.2
  // accepts this program). Without scoping, $y would keep the uint8 type of the first block.
  { name: 'scoping: sibling blocks declare their own $y', dialect: '0.23', src: 'BEGIN { if (nsecs > 5) { $y = (uint8)3; assert($y == 3); } else { $y = 70000; assert($y == 70000); } exit(); }', verdict: 'proved', assertions: ['proved', 'proved'] },
  { name: 'scoping: let in sibling blocks', dialect: '0.22', src: 'BEGIN { if (nsecs > 5) { let $y: uint8 = (uint8)3; assert($y == 3); } else { let $y = 70000; assert($y == 70000); } exit(); }', verdict: 'proved' },
  { name: 'scoping: a read outside the block is refused', dialect: '0.23', src: 'BEGIN { if (nsecs > 5) { $y = 1; } assert(1 == 1); printf("%d\\n", $y); exit(); }', verdict: 'invalid', code: 'parse.refused-by-bpftrace-0.23' },
  // Narrow arithmetic: real 0.17 prints 250 ($x + (uint8)10 is 64-bit, dropped by the uint8
  // variable), real 0.23.2 prints 4 (uint8 arithmetic wraps and is stored).
  { name: 'narrow arithmetic, 0.17: the wider sum is dropped', dialect: '0.17', src: 'BEGIN { $x = (uint8)250; $x = $x + (uint8)10; assert($x == 250); exit(); }', verdict: 'proved' },
  { name: 'narrow arithmetic, 0.23: the uint8 sum wraps', dialect: '0.23', src: 'BEGIN { $x = (uint8)250; $x = $x + (uint8)10; assert($x == 4); exit(); }', verdict: 'proved' },
  { name: 'narrow arithmetic, 0.23: 0.17\'s answer is refuted', dialect: '0.23', src: 'BEGIN { $x = (uint8)250; $x = $x + (uint8)10; assert($x == 250); exit(); }', verdict: 'refuted' },
  { name: 'narrow arithmetic, 0.23: signed >> is a logical shift at the narrow width', dialect: '0.23', src: 'BEGIN { $a = (int8)-128; $b = $a >> (int8)1; assert($b == 64); exit(); }', verdict: 'proved' },
  { name: 'narrow arithmetic, 0.17: 64-bit', dialect: '0.17', src: 'BEGIN { $a = (uint8)200; $b = $a + (uint8)100; assert($b == 300); exit(); }', verdict: 'proved' },
  { name: 'narrow arithmetic, 0.25: not modelled, never guessed', dialect: '0.25', src: 'BEGIN { $a = (uint8)200; $b = $a + (uint8)100; assert($b == 44); exit(); }', verdict: 'unknown' },
  { name: 'narrow comparison of two signednesses, 0.23: not modelled', dialect: '0.23', src: 'BEGIN { $a = (int16)-1; $b = (uint16)65535; $c = $a != $b; assert($c == 1); exit(); }', verdict: 'unknown' },
  // Annotations are kgent's language: their integers follow 0.17's rules (64-bit values, C's
  // unsigned-wins mixing) under every version; only what the program computes follows the
  // version's rules.
  { name: 'an annotation compares two signednesses as values, 0.23', dialect: '0.23', src: 'BEGIN { $a = (int16)-1; $b = (uint16)65535; assert($a != $b); exit(); }', verdict: 'proved' },
  { name: 'an annotation adds narrow integers in 64 bits, 0.25', dialect: '0.25', src: 'BEGIN { $a = (uint8)200; assert($a + (uint8)100 == 300); exit(); }', verdict: 'proved' },
  { name: 'an annotation adds a literal in 64 bits, 0.27', dialect: '0.27', src: 'BEGIN { @v = 200; $u = (uint8)@v; assert($u + 100 == 300); exit(); }', verdict: 'proved' },
  { name: 'an annotation compares a uint32 key with pid, 0.27', dialect: '0.27', src: 'tracepoint:syscalls:sys_enter_read { @bytes[pid] = count(); assert(mapkey(@bytes, 0) == pid); }', verdict: 'proved' },
  // pid is uint32 from 0.22: real 0.17 drops it from a uint32 variable ($x == pid prints 0),
  // real 0.23.2 stores it (prints 1).
  { name: 'pid into uint32, 0.17: dropped', dialect: '0.17', src: 'BEGIN { $x = (uint32)0; $x = pid; assert($x == 0); exit(); }', verdict: 'proved' },
  { name: 'pid into uint32, 0.23: stored', dialect: '0.23', src: 'BEGIN { $x = (uint32)0; $x = pid; assert($x == pid); exit(); }', verdict: 'proved' },
  { name: 'pid into uint32, 0.23: 0.17\'s answer is refuted', dialect: '0.23', src: 'BEGIN { $x = (uint32)0; $x = pid; assert($x == 0); exit(); }', verdict: 'refuted' },
  // A literal that fits a narrow variable: dropped by 0.17 (int64 is wider), stored by 0.23.2.
  { name: 'literal into uint8, 0.17: dropped', dialect: '0.17', src: 'BEGIN { $x = (uint8)1; $x = 200; assert($x == 1); exit(); }', verdict: 'proved' },
  { name: 'literal into uint8, 0.23: stored', dialect: '0.23', src: 'BEGIN { $x = (uint8)1; $x = 200; assert($x == 200); exit(); }', verdict: 'proved' },
  // Narrowing that 0.23 refuses: 0.17 keeps it (silently dropped), 0.23 will not load it.
  { name: 'narrowing, 0.17: silently dropped', dialect: '0.17', src: 'BEGIN { $x = (uint8)1; $x = (uint16)300; assert($x == 1); exit(); }', verdict: 'proved' },
  { name: 'narrowing, 0.23: refused', dialect: '0.23', src: 'BEGIN { $x = (uint8)1; $x = (uint16)300; assert($x == 1); exit(); }', verdict: 'invalid', code: 'parse.refused-by-bpftrace-0.23' },
  // Subtraction gives int64 from 0.26 (source).
  { name: 'subtraction, 0.17: uint64', dialect: '0.17', src: 'BEGIN { $a = (uint64)1; $b = (uint64)2; $d = $a - $b; assert($d > (uint64)1); exit(); }', verdict: 'proved' },
  { name: 'subtraction, 0.26: int64', dialect: '0.26', src: 'BEGIN { $a = (uint64)1; $b = (uint64)2; $d = $a - $b; assert($d < (int64)0); exit(); }', verdict: 'proved' },
  // Literals take the smallest type from 0.26: an operation with one is not modelled.
  { name: 'literal operand of a uint64, 0.26: modelled', dialect: '0.26', src: 'BEGIN { $a = (uint64)5; $b = $a + 1; assert($b == 6); exit(); }', verdict: 'proved' },
  { name: 'literal operand of a narrow integer, 0.26: not modelled', dialect: '0.26', src: 'BEGIN { $a = (uint8)5; $b = $a + 1; assert($b == 6); exit(); }', verdict: 'unknown' },
  // A non-negative literal beside a 64-bit integer computed at run time, from 0.26: run on 0.27.1
  // (integer-model.ts, literalArithmetic) with values read from maps: BPF division and `>>` are
  // unsigned whatever the type, as in 0.17.
  { name: 'an unsigned 64-bit value divided by a literal, 0.27', dialect: '0.27', src: 'BEGIN { @v = 1099511627776; $p = (uint64)@v; $d = $p / 1000; $m = $p % 1000; assert($d == 1099511627); assert($m == 776); exit(); }', verdict: 'proved' },
  { name: 'unsigned 64-bit arithmetic with literals, 0.27', dialect: '0.27', src: 'BEGIN { $m = (uint64)0xffffffffffffffff; $a = $m / 2; $b = $m >> 60; $c = $m + 1; @s = 7; $s = (uint64)@s; $d = 1000 * $s; $e = $m & 0xff; assert($a == 9223372036854775807); assert($b == 15); assert($c == 0); assert($d == 7000); assert($e == 255); exit(); }', verdict: 'proved' },
  { name: 'a negative dividend by a literal divides unsigned, 0.27', dialect: '0.27', src: 'BEGIN { @v = 10; $a = 0 - @v; $d = $a / 3; $m = $a / 1000; assert($d == 6148914691236517202); assert($m == 18446744073709551); exit(); }', verdict: 'proved' },
  { name: 'a negative dividend by a literal is not -3, 0.27', dialect: '0.27', src: 'BEGIN { @v = 10; $a = 0 - @v; $d = $a / 3; assert($d == -3); exit(); }', verdict: 'refuted' },
  { name: 'a negative signed value shifted by a literal shifts logically, 0.27', dialect: '0.27', src: 'BEGIN { @v = 10; $a = 0 - @v; $d = $a >> 1; $e = $a << 3; assert($d == 9223372036854775803); assert($e == -80); exit(); }', verdict: 'proved' },
  { name: 'a signed 64-bit value divided by a literal, 0.27', dialect: '0.27', src: 'BEGIN { @v = 1099511627776; $n = nsecs; $p = ($n + @v) - $n; $d = $p / 1000; $r = $p % 1000; assert($d == 1099511627); assert($r == 776); exit(); }', verdict: 'proved' },
  { name: 'a latency in microseconds, 0.27: the int64 difference divided by a literal', dialect: '0.27', src: 'tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@start[tid]/ { $us = (nsecs - @start[tid]) / 1000; @lat = hist($us); assert($us * 1000 <= nsecs - @start[tid]); delete(@start[tid]); }', verdict: 'proved' },
  // What bpftrace folds at compile time has rules of its own (0.27.1 folds `-10 >> 1` to -5).
  { name: 'a literal-only operand, 0.27: not modelled', dialect: '0.27', src: 'BEGIN { $d = (int64)-10 >> 1; assert($d == 9223372036854775803); exit(); }', verdict: 'unknown' },
  { name: 'signed 64-bit arithmetic with literals, 0.27', dialect: '0.27', src: 'BEGIN { @v = 1099511627776; $n = nsecs; $p = ($n + @v) - $n; $a = $p * 1000; $b = $p + 1000; $c = (int64)0 - @v; $e = $c & 0xff; $f = 5 - (uint64)@v; assert($a == 1099511627776000); assert($b == 1099511628776); assert($e == 0); assert($f == -1099511627771); exit(); }', verdict: 'proved' },
  // 0.27.1 prints 1 for `100 / $x` and `100 % $x` of a zero x: a literal divided by a value is not modelled.
  { name: 'a literal divided by a uint64, 0.27: not modelled', dialect: '0.27', src: 'BEGIN { @v = 7; $x = (uint64)@v; $d = 100 / $x; $e = 100 % $x; assert($d == 14); assert($e == 2); exit(); }', verdict: 'unknown' },
  { name: 'a literal divided by a uint64, 0.17: the zero divisor is caught', dialect: '0.17', src: 'BEGIN { @v = 7; $x = (uint64)@v; $d = 100 / $x; assert($d == 14); exit(); }', verdict: 'proved' },
  { name: 'literal operand, 0.24: modelled', dialect: '0.24', src: 'BEGIN { $a = (uint64)5; $b = $a + 1; assert($b == 6); exit(); }', verdict: 'proved' },
  // printf's `%.Ns`: 0.17.0 and 0.23.2 print "ab" for `%.2s` of "abcd", 0.27.1 prints "abcd".
  { name: 'string precision, 0.23: cut', dialect: '0.23', src: 'BEGIN { printf("%.2s\\n", "abcd"); assert(printed(0) == "ab"); exit(); }', verdict: 'proved' },
  { name: 'string precision, 0.27: ignored', dialect: '0.27', src: 'BEGIN { printf("%.2s\\n", "abcd"); assert(printed(0) == "abcd"); exit(); }', verdict: 'proved' },
  { name: 'string precision, 0.27: never cut', dialect: '0.27', src: 'BEGIN { printf("%.2s\\n", "abcd"); assert(printed(0) == "ab"); exit(); }', verdict: 'refuted' },
  { name: 'string precision, 0.25: not modelled', dialect: '0.25', src: 'BEGIN { printf("%.2s\\n", "abcd"); assert(printed(0) == "ab"); exit(); }', verdict: 'unknown' },
  // printf's `%%`: text on 0.17 (`%%d` takes the argument, whose printed value is undefined), a
  // percent sign on 0.27.1 (run here: `printf("%% %d", 5)` prints `% 5`).
  { name: 'printf %% then a conversion, 0.27: the argument is printed', dialect: '0.27', src: 'BEGIN { printf("%% %d\\n", 5); assert(printed(0) == 5); exit(); }', verdict: 'proved' },
  { name: 'printf %%d, 0.27: refused (too many arguments)', dialect: '0.27', src: 'BEGIN { printf("%%d\\n", 5); assert(printed(0) == 5); exit(); }', verdict: 'invalid' },
  { name: 'printf %%d, 0.25: not known, refused', dialect: '0.25', src: 'BEGIN { printf("%%d\\n", 5); assert(printed(0) == 5); exit(); }', verdict: 'invalid' },
  // A map never assigned reads 0 on 0.27.1 (0.23.2 refuses the program).
  { name: 'a never-assigned map reads 0, 0.27', dialect: '0.27', src: 'BEGIN { $x = @u[1] + 1; printf("%d\\n", $x); assert(printed(0) == 1); exit(); }', verdict: 'proved' },
  { name: 'a never-assigned map is refused, 0.23', dialect: '0.23', src: 'BEGIN { $x = @u[1] + 1; printf("%d\\n", $x); assert(printed(0) == 1); exit(); }', verdict: 'invalid' },
  // Widening casts: 0.17 extends by the target's signedness, 0.27.1 by the source's (run here:
  // `(uint32)(int8)x` for x = 255 is 255 on 0.17, 4294967295 on 0.27.1); unmodelled from 0.25.
  { name: 'widening cast to another signedness, 0.17', dialect: '0.17', src: 'BEGIN { @v = 255; $x = (uint32)(int8)@v; assert($x == 255); exit(); }', verdict: 'proved' },
  { name: 'widening cast to another signedness, 0.27: not modelled', dialect: '0.27', src: 'BEGIN { @v = 255; $x = (uint32)(int8)@v; assert($x == 255); exit(); }', verdict: 'unknown' },
  { name: 'bswap of a literal, 0.27: not modelled', dialect: '0.27', src: 'BEGIN { $x = bswap(64); assert($x == 64); exit(); }', verdict: 'unknown' },
  { name: 'a comparison with a literal, 0.27: decided', dialect: '0.27', src: 'BEGIN { @v = 200; $u = (uint8)@v; assert($u > 5); assert($u == 200); exit(); }', verdict: 'proved' },
  // Bools.
  { name: 'true, 0.24', dialect: '0.24', src: 'BEGIN { $c = true; assert($c); assert($c == 1); exit(); }', verdict: 'proved' },
  { name: 'true, 0.17 (an identifier worth 1)', dialect: '0.17', src: 'BEGIN { $c = true; assert($c == 1); exit(); }', verdict: 'proved' },
  // let: refused by 0.17 (syntax), a declaration from 0.22.
  { name: 'let, 0.22', dialect: '0.22', src: 'BEGIN { let $x = 5; assert($x == 5); exit(); }', verdict: 'proved' },
  { name: 'let, 0.17', dialect: '0.17', src: 'BEGIN { let $x = 5; assert($x == 5); exit(); }', verdict: 'invalid', code: 'parse.not-in-bpftrace-0.17' },
  // config blocks from 0.20.
  { name: 'config, 0.20', dialect: '0.20', src: 'config = { max_map_keys = 100 } BEGIN { $x = 5; assert($x == 5); exit(); }', verdict: 'proved' },
  { name: 'config, 0.17', dialect: '0.17', src: 'config = { max_map_keys = 100 } BEGIN { $x = 5; assert($x == 5); exit(); }', verdict: 'invalid', code: 'parse.not-in-bpftrace-0.17' },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const dialect = profile(c.dialect) as Dialect;
    t.ok(dialect, `profile ${c.dialect} exists`);
    const r = await verifyProgram(c.src, { contracts: EMPTY_CONTRACTS, dialect });
    const detail = JSON.stringify({ assertions: r.assertions.map((a) => [a.verdict, a.reason]), diagnostics: r.diagnostics.map((d) => [d.code, d.message]) });
    t.equal(r.verdict, c.verdict, detail);
    if (c.assertions) t.same(r.assertions.map((a) => a.verdict), c.assertions, detail);
    if (c.code) t.ok(r.diagnostics.some((d) => d.code === c.code), `${c.code} reported: ${detail}`);
  });
}

t.test('without a dialect the verifier follows 0.17', async (t) => {
  const src = 'BEGIN { $x = (uint8)250; $x = $x + (uint8)10; assert($x == 250); exit(); }';
  const r = await verifyProgram(src, { contracts: EMPTY_CONTRACTS });
  t.equal(r.verdict, 'proved');
});
