/**
 * Adversarial and legitimate memory reads for the provenance policy
 * (daemon/verifier/lints/address-provenance.ts): the unit test and the rights e2e test share them.
 */
/** A kernel text address (x86-64 `_stext` without KASLR): what a fixed-address read aims at. */
const K = '0xffffffff81000000';
/**
 * Reads of memory at an address the program chose, written indirectly: each must be refused for
 * members. Each loads in bpftrace 0.17 as root (checked with test/daemon/rights-e2e.test.ts's
 * admin run and by hand), so each would be a real read without the policy.
 */
export const REFUSED_ADDRESS_READS: readonly (readonly [string, string])[] = [
  ['ternary', `BEGIN { printf("%d\\n", *(uint64 *)(pid > 0 ? ${K} : 0)); exit(); }`],
  ['ternary both sides', `BEGIN { $a = nsecs > 0 ? ${K} : ${K}; printf("%d\\n", *(uint64 *)$a); exit(); }`],
  ['division', `BEGIN { printf("%d\\n", *(uint64 *)(${K} / 1)); exit(); }`],
  ['modulo', `BEGIN { printf("%d\\n", *(uint64 *)(${K} % 0xffffffffffffffff)); exit(); }`],
  ['tuple field', `BEGIN { $t = (${K}, 1); printf("%d\\n", *(uint64 *)$t.0); exit(); }`],
  ['variable mixed with pid', `BEGIN { $a = ${K} + pid - pid; printf("%d\\n", *(uint64 *)$a); exit(); }`],
  ['map value', `BEGIN { @a = ${K}; printf("%d\\n", *(uint64 *)@a); exit(); }`],
  ['map across probes', `BEGIN { @a = ${K}; } interval:s:1 { printf("%d\\n", *(uint64 *)@a); exit(); }`],
  ['str of a ternary', `BEGIN { printf("%s\\n", str(pid ? ${K} : ${K})); exit(); }`],
  ['kptr of a variable', `BEGIN { $p = ${K} / 1; printf("%s\\n", str(kptr($p))); exit(); }`],
  ['cast member through variable', `BEGIN { $t = (struct task_struct *)(${K} ^ 0); printf("%d\\n", $t->pid); exit(); }`],
  ['pointer cancelled out', `tracepoint:syscalls:sys_enter_openat { printf("%d\\n", *(uint64 *)((uint64)args->filename - (uint64)args->filename + ${K})); exit(); }`],
  ['pointer plus a computed distance', `tracepoint:syscalls:sys_enter_openat { $d = ${K} - (uint64)args->filename; printf("%d\\n", *(uint64 *)((uint64)args->filename + $d)); exit(); }`],
  ['pointer plus a large constant', `uprobe:/bin/bash:readline { printf("%d\\n", *(uint64 *)(arg0 + 0xffff000000000000)); exit(); }`],
  ['masked pointer', `interval:s:1 { printf("%d\\n", *(uint64 *)((uint64)curtask & 0xffffffff81000000)); exit(); }`],
  ['kaddr', `BEGIN { printf("%d\\n", *(uint64 *)kaddr("_stext")); exit(); }`],
  ['buf of a constant', `BEGIN { printf("%r\\n", buf(${K}, 8)); exit(); }`],
  ['index from a constant', `BEGIN { $p = (uint64 *)${K}; printf("%d\\n", $p[0]); exit(); }`],
  ['ternary of a pointer and a constant', `interval:s:1 { printf("%d\\n", *(uint64 *)(pid > 0 ? (uint64)curtask : ${K})); exit(); }`],
  ['compound assignment', `BEGIN { $p = 0; $p += ${K}; printf("%d\\n", *(uint64 *)$p); exit(); }`],
  ['variable joined with a pointer', `interval:s:1 { $p = (uint64)curtask; if (pid > 1) { $p = ${K}; } printf("%d\\n", *(uint64 *)$p); exit(); }`],
  ['tuple through a map', `BEGIN { @t = (1, ${K}); } interval:s:1 { printf("%s\\n", str(@t.1)); exit(); }`],
  ['negated', `BEGIN { printf("%d\\n", *(uint64 *)(-(0 - ${K}))); exit(); }`],
  ['shifted', `BEGIN { printf("%d\\n", *(uint64 *)(0xffffffff81 << 24)); exit(); }`],
  ['positional as address', `BEGIN { printf("%d\\n", *(uint64 *)$1); exit(); }`],
  ['map to map', `BEGIN { @a[1] = ${K}; @b = @a[1]; printf("%d\\n", *(uint64 *)@b); exit(); }`],
];
/** Reads through pointers the kernel handed to the probe: each must pass the policy for members. */
export const ALLOWED_POINTER_READS: readonly (readonly [string, string])[] = [
  ['str of a tracepoint pointer field', `tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filename)); exit(); }`],
  ['sock through arg0 cast', `uprobe:/bin/bash:readline { $sk = (struct sock *)arg0; printf("%d\\n", $sk->__sk_common.skc_dport); exit(); }`],
  ['sock inline cast', `uprobe:/bin/bash:readline { printf("%d\\n", ((struct sock *)arg0)->__sk_common.skc_dport); exit(); }`],
  ['curtask fields', `interval:s:1 { printf("%d %s\\n", curtask->real_parent->pid, curtask->comm); exit(); }`],
  ['curtask through a variable', `interval:s:1 { $t = curtask; printf("%d\\n", $t->parent->tgid); exit(); }`],
  ['retval of a pointer-returning uprobe', `uretprobe:/bin/bash:readline { printf("%s\\n", str(retval)); exit(); }`],
  ['cast of an args pointer field', `tracepoint:syscalls:sys_enter_read { printf("%d\\n", *(uint8 *)args->buf); exit(); }`],
  ['buf of an args pointer', `tracepoint:syscalls:sys_enter_write { printf("%r\\n", buf(args->buf, 8)); exit(); }`],
  ['pointer saved in a map across probes', `tracepoint:syscalls:sys_enter_openat { @f[tid] = args->filename; } tracepoint:syscalls:sys_exit_openat /@f[tid]/ { printf("%s\\n", str(@f[tid])); delete(@f[tid]); }`],
  ['pointer kept as an integer', `tracepoint:syscalls:sys_enter_openat { $a = (uint64)args->filename; printf("%s\\n", str($a)); exit(); }`],
  ['null-guarded ternary', `tracepoint:syscalls:sys_enter_openat { $p = pid > 0 ? (uint64)args->filename : 0; printf("%s\\n", str($p)); exit(); }`],
  ['argv element', `tracepoint:syscalls:sys_enter_execve { printf("%s\\n", str(args->argv[0])); exit(); }`],
  ['pointer plus a field offset', `uprobe:/bin/bash:readline { printf("%d\\n", *(uint64 *)(arg0 + 8)); exit(); }`],
  ['tuple of pointers', `tracepoint:syscalls:sys_enter_openat { $t = (args->filename, 1); printf("%s\\n", str($t.0)); exit(); }`],
  ['kptr of a pointer', `uprobe:/bin/bash:readline { printf("%s\\n", str(uptr(arg0))); exit(); }`],
  ['ksym of a constant is no read', `BEGIN { printf("%s\\n", ksym(0xffffffff81000000)); exit(); }`],
];
