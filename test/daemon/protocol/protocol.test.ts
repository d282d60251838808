import t from 'tap';
import { LineDecoder } from '../../../daemon/protocol/jsonrpc.js';
import { ProgramsLogs, ProgramsRun } from '../../../daemon/protocol/methods.js';
import { KgentError } from '../../../daemon/errors.js';

t.test('LineDecoder splits lines across chunks and enforces the size limit', async (t) => {
  const cases: { name: string; chunks: string[]; max: number; want: (string | number)[] }[] = [
    { name: 'one line', chunks: ['{"a":1}\n'], max: 100, want: ['{"a":1}'] },
    { name: 'split across chunks', chunks: ['{"a"', ':1}\n{"b":2}\n'], max: 100, want: ['{"a":1}', '{"b":2}'] },
    { name: 'blank lines ignored, CRLF trimmed', chunks: ['\n\r\n{"a":1}\r\n'], max: 100, want: ['{"a":1}'] },
    { name: 'oversized line reported once, next line fine', chunks: ['x'.repeat(30), 'y'.repeat(30), '\n{"ok":1}\n'], max: 40, want: [60, '{"ok":1}'] },
    { name: 'no newline yet: nothing', chunks: ['{"a":1}'], max: 100, want: [] },
  ];
  for (const c of cases) {
    const d = new LineDecoder(c.max);
    const got = c.chunks.flatMap((ch) => d.push(Buffer.from(ch))).map((r) => (r.ok ? r.line : r.tooLarge));
    t.same(got, c.want, c.name);
  }
});

t.test('method params are validated at the boundary', async (t) => {
  const bad: { name: string; params: unknown; message: RegExp }[] = [
    { name: 'missing source', params: {}, message: /source must be a string/ },
    { name: 'wrong type', params: { source: 1 }, message: /source must be a string \(got number\)/ },
    { name: 'unknown field', params: { source: 'BEGIN {}', sauce: 1 }, message: /unknown field sauce/ },
    { name: 'not an object', params: [1], message: /params must be an object/ },
  ];
  for (const c of bad) {
    t.throws(() => ProgramsRun.params.parse(c.params), { constructor: KgentError, code: 'bad-request', message: c.message }, c.name);
  }
  t.same(ProgramsRun.params.parse({ source: 'BEGIN {}', approve: false }), { source: 'BEGIN {}', approve: false });
  t.throws(() => ProgramsLogs.params.parse({ id: 0 }), { message: /id must be an integer >= 1/ });
  t.throws(() => ProgramsLogs.params.parse({ id: 1.5 }), { message: /id must be an integer/ });
});

t.test('the protocol hook-name check agrees with kernel-contracts parser', async (t) => {
  const { isHookName } = await import('../../../daemon/protocol/contracts-api.js');
  const { parseHookRef } = await import('../../../kernel-contracts/api.js');
  const names = [
    'tcp_connect', 'tracepoint:sock:inet_sock_set_state', 't:syscalls:sys_enter_openat', 'tracepoint:a', 'function:tcp_connect',
    'kprobe:tcp_connect', 'kr:tcp_v4_connect', 'fentry:x.isra.0', 'fexit:vfs_read', 'uprobe:/bin/sh:main', 'struct:sock',
    'struct:sock:__sk_common.skc_dport', 'union:bpf_attr:map_type', 'struct:sock:', 'struct:1x', 'no such thing', '', 'kprobe:',
    'tracepoint:sock:inet-sock', ' tcp_connect ', 'kprobe:1abc', 'function:a.b',
  ];
  for (const n of names) t.equal(isHookName(n), parseHookRef(n) !== undefined, JSON.stringify(n));
});

t.test('method and notification names are unique', async (t) => {
  const { ALL_METHODS } = await import('../../../daemon/protocol/index.js');
  const names = ALL_METHODS.map((m) => m.method);
  t.equal(new Set(names).size, names.length);
});
