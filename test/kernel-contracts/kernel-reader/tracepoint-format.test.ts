import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import {
  listTracepoints,
  parseFieldDeclaration,
  parseTracepointFormat,
  printFmtSymbols,
  readTracepointFormat,
} from '../../../kernel-contracts/kernel-reader/tracepoint-format.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures/kernel-contracts/host');
const off = fixtureHost(path.join(fixtures, 'kprobes-off'));
const on = fixtureHost(path.join(fixtures, 'kprobes-on'));

t.test('field declarations', async (t) => {
  const cases: [string, ReturnType<typeof parseFieldDeclaration>][] = [
    ['unsigned short common_type', { name: 'common_type', type: 'unsigned short', dataLoc: false, relLoc: false }],
    ['const void * skaddr', { name: 'skaddr', type: 'const void *', dataLoc: false, relLoc: false }],
    ['const char * filename', { name: 'filename', type: 'const char *', dataLoc: false, relLoc: false }],
    ['__u16 dport', { name: 'dport', type: '__u16', dataLoc: false, relLoc: false }],
    ['__be16 sport', { name: 'sport', type: '__be16', dataLoc: false, relLoc: false }],
    ['__u8 saddr[4]', { name: 'saddr', type: '__u8', array: { length: 4 }, dataLoc: false, relLoc: false }],
    ['char prev_comm[TASK_COMM_LEN]', { name: 'prev_comm', type: 'char', array: { length: null }, dataLoc: false, relLoc: false }],
    ['__data_loc char[] filename', { name: 'filename', type: 'char', array: { length: null }, dataLoc: true, relLoc: false }],
    ['__rel_loc char[] msg', { name: 'msg', type: 'char', array: { length: null }, dataLoc: true, relLoc: true }],
    ['__data_loc cpumask_t cpumask', { name: 'cpumask', type: 'cpumask_t', array: { length: null }, dataLoc: true, relLoc: false }],
    ['unsigned long args[6]', { name: 'args', type: 'unsigned long', array: { length: 6 }, dataLoc: false, relLoc: false }],
    ['char**  argv', { name: 'argv', type: 'char **', dataLoc: false, relLoc: false }],
    [' u64 timestamp', { name: 'timestamp', type: 'u64', dataLoc: false, relLoc: false }],
    ['[4]', undefined],
    ['name', undefined],
  ];
  for (const [decl, want] of cases) t.same(parseFieldDeclaration(decl), want, decl);
});

t.test('a format file, with multi-line print fmt and symbol tables', async (t) => {
  const text = `name: demo
ID: 77
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__u16 family;\toffset:8;\tsize:2;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;
\tfield:unsigned long flags;\toffset:16;\tsize:8;\tsigned:0;
\tfield:u8 old;\toffset:24;\tsize:1;

print fmt: "family=%s name=%s flags=%s
second line", __print_symbolic(REC->family, { 2, "AF_INET" }, { 10, "AF_INET6" }), __get_str(name), __print_flags(REC->flags, "|", { 0x01, "A" }, { (1UL << 3), "SHIFTED" }, { 0x10UL, "B" })
`;
  const f = parseTracepointFormat('demo', 'ev', text);
  t.equal(f.id, 77);
  t.same(
    f.fields.map((x) => [x.name, x.type, x.offset, x.size, x.signed, x.common, x.dataLoc]),
    [
      ['common_type', 'unsigned short', 0, 2, false, true, false],
      ['common_pid', 'int', 4, 4, true, true, false],
      ['family', '__u16', 8, 2, false, false, false],
      ['name', 'char', 12, 4, false, false, true],
      ['flags', 'unsigned long', 16, 8, false, false, false],
      ['old', 'u8', 24, 1, false, false, false],
    ],
  );
  t.match(f.printFmt, /^"family=%s name=%s flags=%s\nsecond line", __print_symbolic/);
  t.same(printFmtSymbols(f.printFmt), {
    family: { flags: false, values: [{ value: 2n, name: 'AF_INET' }, { value: 10n, name: 'AF_INET6' }] },
    flags: { flags: true, values: [{ value: 1n, name: 'A' }, { value: 16n, name: 'B' }] },
  });
  t.throws(() => parseTracepointFormat('demo', 'bad', 'format:\n\tfield:;\toffset:0;\tsize:2;\tsigned:0;\n'), { code: 'io', message: /demo:bad/ });
  t.same(parseTracepointFormat('x', 'y', '').fields, []);
});

t.test('recorded format files', async (t) => {
  const sock = await readTracepointFormat(off, 'sock', 'inet_sock_set_state');
  t.ok(sock);
  t.ok((sock?.id ?? -1) > 0);
  const byName = Object.fromEntries((sock?.fields ?? []).map((f) => [f.name, f]));
  t.match(byName.skaddr, { type: 'const void *', offset: 8, size: 8, signed: false });
  t.match(byName.oldstate, { type: 'int', size: 4, signed: true });
  t.match(byName.dport, { type: '__u16', size: 2, signed: false, common: false });
  t.match(byName.saddr, { type: '__u8', size: 4, array: { length: 4 } });
  t.match(byName.saddr_v6, { type: '__u8', size: 16, array: { length: 16 } });
  t.equal(sock?.fields.filter((f) => f.common).length, 4);
  const sym = printFmtSymbols(sock?.printFmt ?? '');
  t.same(sym.family?.values.map((v) => v.name), ['AF_INET', 'AF_INET6']);
  t.equal(sym.newstate?.values.find((v) => v.name === 'TCP_ESTABLISHED')?.value, 1n);

  const open = await readTracepointFormat(off, 'syscalls', 'sys_enter_openat');
  t.match(open?.fields.find((f) => f.name === 'filename'), { type: 'const char *', size: 8 });
  const exec = await readTracepointFormat(off, 'sched', 'sched_process_exec');
  t.match(exec?.fields.find((f) => f.name === 'filename'), { type: 'char', dataLoc: true, size: 4 });
  const sw = await readTracepointFormat(off, 'sched', 'sched_switch');
  t.match(sw?.fields.find((f) => f.name === 'prev_comm'), { type: 'char', array: { length: 16 }, size: 16 });
  const raw = await readTracepointFormat(off, 'raw_syscalls', 'sys_enter');
  t.match(raw?.fields.find((f) => f.name === 'args'), { type: 'unsigned long', array: { length: 6 }, size: 48 });
  const ft = await readTracepointFormat(off, 'ftrace', 'function');
  t.ok(ft && ft.fields.length > 0, 'ftrace internal formats parse too');

  t.equal(await readTracepointFormat(off, 'sock', 'nope'), undefined);
  t.equal(await readTracepointFormat(off, '..', 'x'), undefined, 'no path escapes');
  t.equal(await readTracepointFormat(off, 'sock/../../..', 'x'), undefined);
  // The other fixture has tracefs only under debugfs.
  t.ok(await readTracepointFormat(on, 'sock', 'inet_sock_set_state'), 'found under /sys/kernel/debug/tracing');
});

t.test('listing tracepoints', async (t) => {
  const viaAvail = await listTracepoints(off);
  t.equal(viaAvail.length, 10, 'available_events lists every event but ftrace');
  t.same(viaAvail[0], { category: 'block', event: 'block_rq_issue' });
  t.notOk(viaAvail.some((x) => x.category === 'ftrace'));
  const withFtrace = await listTracepoints(off, { includeFtrace: true });
  t.equal(withFtrace.length, 11);
  const walked = await listTracepoints(on);
  t.same(walked, [
    { category: 'sock', event: 'inet_sock_set_state' },
    { category: 'syscalls', event: 'sys_enter_openat' },
  ]);
  t.same(await listTracepoints(fixtureHost(path.join(fixtures, 'nonexistent'))), []);
});

t.test('every format file on this machine parses', async (t) => {
  const host = realHost();
  const root = await host.tracefsRoot();
  if (!root) {
    t.skip('tracefs is not mounted on this machine');
    return;
  }
  const all = await listTracepoints(host, { includeFtrace: true });
  const failures: string[] = [];
  let fields = 0;
  let dataLoc = 0;
  for (const { category, event } of all) {
    try {
      const f = await readTracepointFormat(host, category, event);
      if (!f) {
        failures.push(`${category}:${event}: unreadable`);
        continue;
      }
      if (f.fields.length === 0 && category !== 'ftrace') failures.push(`${category}:${event}: no fields`);
      if (f.id < 0) failures.push(`${category}:${event}: no ID`);
      for (const x of f.fields) {
        fields++;
        if (x.dataLoc) dataLoc++;
        // Flexible arrays (`char buf[]` in ftrace's own records) have size 0.
        const flexible = x.array !== undefined && x.array.length === null;
        if (!x.type || !x.name || (x.size <= 0 && !flexible)) failures.push(`${category}:${event}.${x.name}: bad field ${x.declaration}`);
        if (x.array?.length && !x.dataLoc && x.size % x.array.length !== 0) failures.push(`${category}:${event}.${x.name}: size/length mismatch`);
      }
    } catch (err) {
      failures.push(`${category}:${event}: ${(err as Error).message}`);
    }
  }
  t.comment(`${all.length} format files, ${fields} fields (${dataLoc} data-loc) parsed`);
  t.ok(all.length > 0, `${all.length} tracepoints found`);
  t.same(failures, [], 'zero failures');
  const listed = await listTracepoints(host);
  t.ok(listed.length <= all.length && listed.length > 0, `${listed.length} attachable (ftrace excluded)`);
});
