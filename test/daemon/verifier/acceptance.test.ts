/**
 * The acceptance pass (daemon/verifier/acceptance.ts): each program here was compiled by
 * bpftrace 0.17 on the development machine; `refused` says whether it refused it (the message it
 * printed is in the comment). The difftest class `accept` compares many more against the binary.
 */
import t from 'tap';
import { checkAcceptance } from '../../../daemon/verifier/acceptance.js';
import { parse } from '../../../daemon/verifier/frontend/index.js';
import { parsePossibleCpus } from '../../../daemon/verification/host-contracts.js';

const CASES: readonly { src: string; refused: boolean; why: string }[] = [
  { src: 'BEGIN { @c = count(); printf("%d\\n", @c); }', refused: true, why: '%d specifier expects a value of type integer (count supplied)' },
  { src: 'BEGIN { @c = count(); $x = @c + 1; }', refused: true, why: "Type mismatch for '+': comparing 'count' with 'int64'" },
  { src: 'BEGIN { @c = sum(5); if (@c) { exit(); } }', refused: true, why: 'Invalid condition in if(): sum' },
  { src: 'BEGIN { @c = count(); $x = @c; @d = @c; print(@c); clear(@c); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { @c = count(); $y = 1 ? @c : 2; }', refused: true, why: 'Ternary return type unsupported count' },
  { src: 'BEGIN { @c = count(); @c++; }', refused: true, why: "The ++ operator can not be used on expressions of type 'count'" },
  { src: 'BEGIN { @m = 1; @m = "a"; }', refused: true, why: 'Type mismatch for @m' },
  { src: 'END { @c = count(); } BEGIN { @c = 1; }', refused: true, why: 'Type mismatch for @c (source order)' },
  { src: 'BEGIN { @m[1] = 1; @m["x"] = 2; }', refused: true, why: 'Argument mismatch for @m' },
  { src: 'BEGIN { @m[1] = 1; @m[1, 2] = 2; }', refused: true, why: 'Argument mismatch for @m' },
  { src: 'BEGIN { $x = 1; $x = "a"; }', refused: true, why: 'Type mismatch for $x' },
  { src: 'BEGIN { $x = "a"; $x = "bbbbbbbb"; $y = (int8)1; $y = 100000000000; @s = "a"; @s = comm; }', refused: false, why: 'accepted' },
  { src: 'BEGIN { $s = str(comm); }', refused: true, why: 'str() expects an integer or a pointer type as first argument' },
  { src: 'BEGIN { if (comm == 1) { exit(); } }', refused: true, why: "Type mismatch for '=='" },
  { src: 'BEGIN { if (comm < "a") { exit(); } }', refused: true, why: 'The < operator can not be used on expressions of types string[16], string[2]' },
  { src: 'BEGIN { printf("%d\\n", args->x); }', refused: true, why: 'The args builtin can only be used with tracepoint/kfunc/uprobe probes' },
  { src: 'BEGIN { printf("%d\\n", arg0); }', refused: true, why: "The arg0 builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes" },
  { src: 'BEGIN { printf("%d\\n", retval); }', refused: true, why: 'The retval builtin can only be used with kretprobe and uretprobe and kfunc probes' },
  { src: 'BEGIN { printf("%s\\n", func); }', refused: true, why: "The func builtin can not be used with 'BEGIN' probes" },
  { src: 'BEGIN { printf("%d\\n", bswap(1, 2)); }', refused: true, why: 'bswap() requires one argument (2 provided)' },
  { src: 'BEGIN { printf("%d\\n", ncpus); }', refused: true, why: "Unknown identifier: 'ncpus'" },
  { src: 'BEGIN { printf("%d\\n", jiffies); }', refused: true, why: "Unknown identifier: 'jiffies'" },
  { src: 'BEGIN { @m[1] = 1; $x = has_key(@m, 1); }', refused: true, why: 'Unknown function: has_key' },
  { src: 'BEGIN { printf("%d %d\\n", numaid, cpid); }', refused: true, why: 'cpid cannot be used without child command' },
  { src: 'BEGIN { printf("%i\\n", 1); }', refused: true, why: 'Too many arguments for format string (1 supplied, 0 expected)' },
  { src: 'BEGIN { printf("%+d\\n", 1); }', refused: true, why: 'Too many arguments for format string' },
  { src: 'BEGIN { printf("%d\\n"); }', refused: true, why: 'Not enough arguments for format string' },
  { src: 'BEGIN { printf("%s\\n", 1); }', refused: true, why: '%s specifier expects a value of type string' },
  { src: 'BEGIN { printf("%d\\n", comm); }', refused: true, why: '%d specifier expects a value of type integer' },
  { src: 'BEGIN { printf("%%d\\n", 1); printf("[%%]\\n"); printf("%-5d|%05x|%.3s|%hhp|%c\\n", 1, 2, comm, 3, 65); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { $x = 1 + "a"; }', refused: true, why: "Type mismatch for '+'" },
  { src: 'BEGIN { $x = -"a"; }', refused: true, why: "The - operator can not be used on expressions of type 'string[2]'" },
  { src: 'BEGIN { printf("%s\\n", strerror(1)); $x = strcontains("a", "b"); }', refused: false, why: 'accepted' },
  // Source order (first pass of 0.17's analyser) and values that never get a type (checked here).
  { src: 'BEGIN { @a = @b; @b = 1; exit(); }', refused: false, why: 'accepted: @a has no type yet' },
  { src: 'BEGIN { @a = 1; @a = @b; @b = 1; exit(); }', refused: true, why: "Type mismatch for @a: trying to assign value of type 'none'" },
  { src: 'BEGIN { @a = 1; @a = @b; exit(); } END { @b = 1; }', refused: true, why: 'Type mismatch for @a (@b typed later in the text)' },
  { src: 'BEGIN { @a++; @a = @b; @b = 1; exit(); }', refused: true, why: 'Type mismatch for @a (typed by ++)' },
  { src: 'BEGIN { $x = 1; $x = @b; @b = 1; exit(); }', refused: true, why: 'Type mismatch for $x' },
  { src: 'BEGIN { $x = @b; $y = 1; $y = $x; @b = 1; exit(); }', refused: true, why: 'Type mismatch for $y' },
  { src: 'BEGIN { @a = 1; @a = @b[1]; @b[2] = 1; exit(); }', refused: true, why: 'Type mismatch for @a' },
  { src: 'BEGIN { @a = 1; @a = 1 ? @b : 2; @b = 1; exit(); }', refused: true, why: 'Type mismatch for @a' },
  { src: 'BEGIN { @a = 1; @a = (int64)@b; @b = 1; exit(); }', refused: true, why: 'Cannot cast from "none" type' },
  { src: 'BEGIN { @a = 1; @a = @b + 1; @a = -@b; @a += @b; @a = 1 ? 2 : @b; @b = 1; exit(); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { @b++; @a = 1; @a = @b; exit(); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { @a = @a; @a++; exit(); }', refused: true, why: 'Undefined map: @a (only self-assigned)' },
  { src: 'BEGIN { @a = @b; @b = @a; exit(); }', refused: true, why: 'Undefined map: @a' },
  { src: 'BEGIN { @a = @a; @a = 1; exit(); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { @a = @a; @a += 1; exit(); }', refused: false, why: 'accepted' },
  { src: 'BEGIN { @a++; } END { @a = @a; }', refused: false, why: 'accepted' },
  // "Undefined map": a map that is used but written nowhere (checked on bpftrace 0.17 here).
  { src: 'BEGIN { if (@never[1] == 0) { printf("zero\\n"); } exit(); }', refused: true, why: 'Undefined map: @never' },
  { src: 'BEGIN { delete(@never[1]); exit(); }', refused: true, why: 'Undefined map: @never' },
  { src: 'BEGIN { print(@never); clear(@n2); exit(); }', refused: true, why: 'Undefined map: @never, @n2' },
  { src: 'BEGIN { @s = count(); printf("%d\\n", @never2[1, 2]); exit(); }', refused: true, why: 'Undefined map: @never2' },
  { src: 'tracepoint:syscalls:sys_enter_openat /@armed/ { printf("%d\\n", tid); }', refused: true, why: 'Undefined map: @armed (a predicate reads it)' },
  { src: 'BEGIN { @x++; @y += 2; --@z; print(@x); print(@y); print(@z); exit(); }', refused: false, why: 'accepted: ++, += and -- write' },
  { src: 'BEGIN { printf("%d\\n", @w); exit(); } END { @w = 1; }', refused: false, why: 'accepted: a write in a later probe defines it' },
  { src: 'BEGIN { if (0) { @q = 1; } printf("%d\\n", @q); exit(); }', refused: false, why: 'accepted: a write that never runs defines it' },
  { src: 'BEGIN { $x = @m[1]; @m[1] = 2; exit(); }', refused: false, why: 'accepted: read before the write' },
  { src: 'BEGIN { @a = 1; assert(@b == 0); exit(); }', refused: false, why: 'accepted: annotations are stripped before bpftrace sees the program' },
];

for (const c of CASES) {
  t.test(c.src, async (t) => {
    const parsed = parse(c.src);
    t.ok(parsed.program, 'parses');
    if (!parsed.program) return;
    const found = checkAcceptance(parsed.program);
    t.equal(found.length > 0, c.refused, `${c.refused ? 'refused' : 'accepted'} by bpftrace 0.17 (${c.why})${found[0] ? `; kgent: ${found[0].message}` : ''}`);
  });
}

t.test('possible CPUs from /sys/devices/system/cpu/possible', async (t) => {
  t.equal(parsePossibleCpus('0-1\n'), 2);
  t.equal(parsePossibleCpus('0\n'), 1);
  t.equal(parsePossibleCpus('0,2-5,8'), 9);
  t.equal(parsePossibleCpus(''), undefined);
  t.equal(parsePossibleCpus('x'), undefined);
});
