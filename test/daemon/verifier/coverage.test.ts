/**
 * Event coverage (`cover(HOOK[, COND]);`): the syntax, which probes attach to a hook, and the
 * verdicts on programs that observe or miss events. Golden cases under test/golden/verifier
 * (`cover-*`) hold the end-to-end expectations.
 */
import t from 'tap';
import { attachesTo } from '../../../daemon/verifier/coverage.js';
import { parse, printProgram } from '../../../daemon/verifier/frontend/index.js';
import type { AttachPoint } from '../../../daemon/verifier/frontend/ast.js';
import { verifyProgram } from '../../../daemon/verifier/verify.js';
import { recordedContractProvider } from '../../support/recorded-contracts.js';

const contracts = recordedContractProvider();

function ap(text: string): AttachPoint {
  const r = parse(`${text} { }`);
  const a = r.program?.probes[0]?.attachPoints[0];
  if (!a) throw new Error(`no attach point in ${text}: ${JSON.stringify(r.diagnostics)}`);
  return a;
}

t.test('cover() parses at the top level and prints back', async (t) => {
  const src = `cover(tracepoint:syscalls:sys_enter_execveat);
tracepoint:syscalls:sys_enter_execve { @[comm] = count(); }
cover( t:sock:inet_sock_set_state , args->family == 10 && args->newstate == 1 );
`;
  const r = parse(src);
  t.same(r.diagnostics, []);
  t.same(
    r.program?.covers.map((c) => [c.hook.provider, c.hook.target.join(':'), c.condition !== undefined]),
    [
      ['tracepoint', 'syscalls:sys_enter_execveat', false],
      ['tracepoint', 'sock:inet_sock_set_state', true],
    ],
  );
  const again = parse(printProgram(r.program!));
  t.equal(again.program?.covers.length, 2, 'round trip keeps both covers');
  t.match(printProgram(r.program!), /cover\(t:sock:inet_sock_set_state, args->family == 10 && args->newstate == 1\);/);
});

t.test('cover() syntax errors', async (t) => {
  const cases: [string, RegExp][] = [
    ['BEGIN { } cover(BEGIN);', /not one/],
    ['BEGIN { } cover(tracepoint:a:b', /expected|unexpected/i],
    ['BEGIN { } cover(tracepoint:a:b)', /expected|unexpected/i],
    ['BEGIN { } cover(tracepoint:a:b, );', /expected|unexpected/i],
  ];
  for (const [src, re] of cases) {
    const r = parse(src);
    t.ok(r.diagnostics.some((d) => d.severity === 'error' && re.test(d.message)), `${src}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  }
});

t.test('which attach points attach to a hook', async (t) => {
  const table: [string, string, boolean][] = [
    ['tracepoint:syscalls:sys_enter_execve', 'tracepoint:syscalls:sys_enter_execve', true],
    ['t:syscalls:sys_enter_execve', 'tracepoint:syscalls:sys_enter_execve', true],
    ['tracepoint:syscalls:sys_enter_exec*', 'tracepoint:syscalls:sys_enter_execveat', true],
    ['tracepoint:syscalls:sys_enter_exec*', 'tracepoint:syscalls:sys_exit_execve', false],
    ['tracepoint:syscalls:sys_enter_execve', 'tracepoint:syscalls:sys_enter_execveat', false],
    ['tracepoint:sys*:sys_enter_open?t', 'tracepoint:syscalls:sys_enter_openat', true],
    ['kprobe:tcp_connect', 'kprobe:tcp_connect', true],
    ['kfunc:tcp_connect', 'kprobe:tcp_connect', true],
    ['kretprobe:tcp_connect', 'kprobe:tcp_connect', false],
    ['kprobe:tcp_v*_connect', 'kprobe:tcp_v6_connect', true],
    ['tracepoint:syscalls:sys_enter_execve', 'kprobe:__x64_sys_execve', false],
  ];
  for (const [probe, hook, want] of table) t.equal(attachesTo(ap(probe), ap(hook)), want, `${probe} -> ${hook}`);
});

t.test('coverage verdicts', async (t) => {
  const cases: [string, string, string][] = [
    [
      'a probe list covers each hook it names',
      `tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat { @[comm] = count(); assert(mapval(@) == 1); }
       cover(tracepoint:syscalls:sys_enter_execve); cover(tracepoint:syscalls:sys_enter_execveat);`,
      'proved',
    ],
    [
      'a probe that exits before any effect observes nothing',
      `tracepoint:syscalls:sys_enter_execve { exit(); @[comm] = count(); }
       tracepoint:syscalls:sys_enter_openat { @o = count(); assert(mapval(@o) == 1); }
       cover(tracepoint:syscalls:sys_enter_execve);`,
      'refuted',
    ],
    [
      'a condition the predicate contradicts is not covered',
      `tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); assert(mapval(@bytes) > 0); }
       cover(tracepoint:syscalls:sys_exit_read, args->ret < 0);`,
      'refuted',
    ],
    [
      'a cover with no assertion still refutes',
      `tracepoint:syscalls:sys_enter_execve { @[comm] = count(); } cover(tracepoint:syscalls:sys_enter_execveat);`,
      'refuted',
    ],
    [
      'two conditional covers on one hook with strncmp in the predicate (each cover runs its own executor)',
      `tracepoint:syscalls:sys_enter_openat /strncmp(str(args->filename), "/etc/", 5) == 0/ { printf("%d\\n", pid); assert(printed(0) == pid); }
       cover(tracepoint:syscalls:sys_enter_openat, args->flags == 1); cover(tracepoint:syscalls:sys_enter_openat, args->flags == 2);`,
      'proved',
    ],
    [
      'two conditional covers on one hook with a pointer-keyed map and a delete',
      `tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { if (args->newstate == 1) { @est[args->skaddr] = nsecs; }
         if (args->newstate == 7 && @est[args->skaddr] != 0) { @life = hist(nsecs - @est[args->skaddr]); delete(@est[args->skaddr]); } }
       cover(tracepoint:sock:inet_sock_set_state, args->newstate == 1); cover(tracepoint:sock:inet_sock_set_state, args->newstate == 7);`,
      // The newstate == 7 branch needs @est written by an earlier event: the witness is two events
      // after BEGIN, newstate == 1 then newstate == 7 on the same socket.
      'proved',
    ],
    [
      'a two-event witness: the entry stores the timestamp the exit reads',
      `tracepoint:syscalls:sys_enter_openat { @ts[tid] = nsecs; }
       tracepoint:syscalls:sys_exit_openat /@ts[tid]/ { @us = hist((nsecs - @ts[tid]) / 1000); delete(@ts[tid]); }
       cover(tracepoint:syscalls:sys_exit_openat);`,
      'proved',
    ],
    [
      'adversarial: the only write stores 1, the reader needs 2 (no run produces it)',
      `tracepoint:syscalls:sys_enter_openat { @flag[tid] = 1; }
       tracepoint:syscalls:sys_exit_openat /@flag[tid] == 2/ { printf("%d\\n", tid); }
       cover(tracepoint:syscalls:sys_exit_openat);`,
      'refuted',
    ],
    [
      'adversarial: the earlier event stores only on an input its contract rules out (a u16 above 65535)',
      `tracepoint:sock:inet_sock_set_state { if (args->protocol > 65535) { @m[args->skaddr] = 1; } }
       tracepoint:syscalls:sys_exit_openat /@m[0] != 0/ { printf("%d\\n", tid); }
       cover(tracepoint:syscalls:sys_exit_openat);`,
      'not proved',
    ],
    [
      'adversarial: the state needs two earlier events (A then B): not proved from one',
      `tracepoint:syscalls:sys_enter_openat { @a[tid] = 1; }
       tracepoint:syscalls:sys_enter_close /@a[tid]/ { @b[tid] = 1; }
       tracepoint:syscalls:sys_exit_close /@b[tid]/ { printf("%d\\n", tid); }
       cover(tracepoint:syscalls:sys_exit_close);`,
      'not proved',
    ],
    [
      'a wildcard cover names no single event',
      `tracepoint:syscalls:sys_enter_exec* { @[comm] = count(); assert(mapval(@) == 1); } cover(tracepoint:syscalls:sys_enter_exec*);`,
      'unknown',
    ],
  ];
  for (const [name, src, verdict] of cases) {
    const r = await verifyProgram(src, { contracts });
    if (verdict === 'not proved') t.not(r.coverage[0]?.verdict, 'proved', `${name}: ${JSON.stringify(r.coverage)}`);
    else t.equal(r.verdict, verdict, `${name}: ${JSON.stringify(r.coverage)}`);
  }
});
