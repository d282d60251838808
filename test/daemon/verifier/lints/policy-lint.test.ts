/**
 * The policy lint (daemon/verifier/lints/unsafe-builtins.ts) with the per-role settings of
 * daemon/policy/rights.ts: what a member's and an admin's program may use.
 */
import t from 'tap';
import { DEFAULTS } from '../../../../daemon/config.js';
import { lintPolicyFor } from '../../../../daemon/policy/rights.js';
import { parse } from '../../../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, runLints, unsafeBuiltinsLint, type LintPolicy, type TracepointFieldTypes } from '../../../../daemon/verifier/lints/index.js';
import { ALLOWED_POINTER_READS, REFUSED_ADDRESS_READS } from '../../../support/address-cases.js';

function diagnostics(source: string, policy: LintPolicy, fields?: TracepointFieldTypes) {
  const { program, diagnostics } = parse(source, 'p.bt');
  if (!program) throw new Error(`parse failed: ${diagnostics.map((d) => d.message).join('; ')}`);
  return runLints(program, { probes: ALL_PROBES_AVAILABLE, policy, ...(fields ? { fields } : {}) }, [unsafeBuiltinsLint]);
}

function codes(source: string, policy: LintPolicy, fields?: TracepointFieldTypes): string[] {
  return diagnostics(source, policy, fields).map((d) => d.code);
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

t.test('fixed addresses written indirectly are refused for members, judged by provenance', async (t) => {
  t.ok(REFUSED_ADDRESS_READS.length >= 15);
  for (const [name, source] of REFUSED_ADDRESS_READS) {
    const ds = diagnostics(source, member);
    t.ok(ds.some((d) => d.code === 'lint.raw-memory'), `${name}: refused`);
    const raw = ds.find((d) => d.code === 'lint.raw-memory');
    t.match(raw?.message, /reads memory at an address that is not a pointer the kernel handed to the probe \(.+\), which the policy does not allow for members of kgent$/, `${name}: one line saying why`);
    t.ok(raw?.span, `${name}: located`);
    t.same(codes(source, admin), [], `${name}: admins stay allowed`);
  }
});

t.test('reads through pointers the kernel handed to the probe pass for members', async (t) => {
  t.ok(ALLOWED_POINTER_READS.length >= 10);
  for (const [name, source] of ALLOWED_POINTER_READS) t.same(codes(source, member), [], name);
});

t.test('a tracepoint field the format gives a plain integer type is no pointer', async (t) => {
  const fields: TracepointFieldTypes = {
    fieldType: (_c, _e, f) =>
      f === 'fd' ? { type: 'unsigned int', size: 4, signed: false } : f === 'buf' ? { type: 'char *', size: 8, signed: false } : undefined,
  };
  t.same(codes('tracepoint:syscalls:sys_enter_read { printf("%d", *(uint64 *)args->fd); }', member, fields), ['lint.raw-memory']);
  t.same(codes('tracepoint:syscalls:sys_enter_read { printf("%d", *(uint8 *)args->buf); }', member, fields), []);
  t.same(codes('tracepoint:syscalls:sys_enter_read { printf("%d", *(uint64 *)args->fd); }', member), [], 'without the format: a kernel value');
});

t.test('a variable is per probe: the same name holding a pointer elsewhere does not vouch for it', async (t) => {
  const source = 'tracepoint:syscalls:sys_enter_openat { $p = args->filename; } BEGIN { $p = 0xffffffff81000000; printf("%s", str($p)); }';
  t.same(codes(source, member), ['lint.raw-memory']);
});
