/**
 * The policy lint (daemon/verifier/lints/unsafe-builtins.ts) with the per-role settings of
 * daemon/policy/rights.ts: what a member's and an admin's program may use.
 */
import t from 'tap';
import { DEFAULTS } from '../../daemon/config.js';
import { lintPolicyFor } from '../../daemon/policy/rights.js';
import { parse } from '../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, runLints, unsafeBuiltinsLint, type LintPolicy } from '../../daemon/verifier/lints/index.js';

function codes(source: string, policy: LintPolicy): string[] {
  const { program, diagnostics } = parse(source, 'p.bt');
  if (!program) throw new Error(`parse failed: ${diagnostics.map((d) => d.message).join('; ')}`);
  return runLints(program, { probes: ALL_PROBES_AVAILABLE, policy }, [unsafeBuiltinsLint]).map((d) => d.code);
}

const member = lintPolicyFor(DEFAULTS, 'member');
const admin = lintPolicyFor(DEFAULTS, 'admin');
const unsafeAdmin = lintPolicyFor({ ...DEFAULTS, allowUnsafe: true }, 'admin');
const unsafeMember = lintPolicyFor({ ...DEFAULTS, allowUnsafe: true }, 'member');

const cases: { name: string; source: string; member: string[]; admin: string[] }[] = [
  { name: 'cat', source: 'BEGIN { cat("/etc/shadow"); }', member: ['lint.denied-builtin'], admin: [] },
  { name: 'system', source: 'BEGIN { system("id"); }', member: ['lint.unsafe-builtin'], admin: ['lint.unsafe-builtin'] },
  { name: 'deref of a literal', source: 'BEGIN { printf("%d", *(uint64 *)0xffffffff81000000); }', member: ['lint.raw-memory'], admin: [] },
  { name: 'kptr of a literal', source: 'BEGIN { printf("%s", str(kptr(0xffffffff81000000))); }', member: ['lint.raw-memory'], admin: [] },
  { name: 'through a variable', source: 'BEGIN { $a = 0xffffffff81000000 + 8; printf("%d", *(int32 *)$a); }', member: ['lint.raw-memory'], admin: [] },
  { name: 'member of a cast literal', source: 'BEGIN { printf("%d", ((struct task_struct *)0xffff888000000000)->pid); }', member: ['lint.raw-memory'], admin: [] },
  { name: 'pointer initialised to 0 then an argument', source: 'tracepoint:syscalls:sys_enter_openat { $p = 0; $p = args->filename; printf("%s", str($p)); }', member: [], admin: [] },
  { name: 'str of a probe argument', source: 'tracepoint:syscalls:sys_enter_openat { printf("%s", str(args->filename)); }', member: [], admin: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(codes(c.source, member), c.member, 'member');
    t.same(codes(c.source, admin), c.admin, 'admin');
  });
}

t.test('unsafe builtins need both the role switch and allowUnsafe', async (t) => {
  t.same(codes('BEGIN { system("id"); }', unsafeAdmin), []);
  t.same(codes('BEGIN { system("id"); }', unsafeMember), ['lint.unsafe-builtin'], 'members stay without unless policy.members.unsafe');
});

t.test('probe types per role', async (t) => {
  const onlyTracepoints = { ...member, probeTypes: ['tracepoint'] };
  t.same(codes('uprobe:/bin/bash:readline { printf("x"); } BEGIN { }', onlyTracepoints), ['lint.probe-type-denied']);
  t.same(codes('tracepoint:syscalls:sys_enter_openat { printf("x"); }', onlyTracepoints), []);
});
