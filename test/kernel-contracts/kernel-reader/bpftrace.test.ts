import t from 'tap';
import {
  listProbes,
  parseBpftraceInfo,
  parseBpftraceVersion,
  readBpftraceInfo,
  whichBpftrace,
} from '../../../kernel-contracts/kernel-reader/bpftrace.js';

t.test('version strings', async (t) => {
  const cases: [string, ReturnType<typeof parseBpftraceVersion>][] = [
    ['bpftrace v0.17.0\n', { major: 0, minor: 17, patch: 0, text: '0.17.0' }],
    ['bpftrace v0.21.2-12-gdeadbeef', { major: 0, minor: 21, patch: 2, text: '0.21.2-12-gdeadbeef' }],
    ['bpftrace v0.9', { major: 0, minor: 9, patch: 0, text: '0.9' }],
    ['bpftrace 0.23.0', { major: 0, minor: 23, patch: 0, text: '0.23.0' }],
    ['no version here', undefined],
  ];
  for (const [text, want] of cases) t.same(parseBpftraceVersion(text), want, JSON.stringify(text));
});

t.test('--info parsing', async (t) => {
  const text = `System\n  OS: Linux 6.18\n\nBuild\n  version: v0.17.0\n  bfd: no\n\nProbe types\n  kprobe: yes\n  kfunc: no\n  iter:task: no\n`;
  t.same(parseBpftraceInfo(text), { bfd: false, kprobe: true, kfunc: false, 'iter:task': false });
});

t.test('installed bpftrace', async (t) => {
  const bin = await whichBpftrace();
  if (!bin) {
    t.skip('bpftrace is not installed');
    await t.rejects(readBpftraceInfo(), { code: 'unavailable' });
    return;
  }
  const info = await readBpftraceInfo();
  t.equal(info.path, bin);
  t.ok(info.version.major >= 0 && info.version.minor > 0, `bpftrace ${info.version.text}`);
  if (process.getuid?.() === 0) {
    t.ok(info.features, '--info features read as root');
    t.type(info.features?.kfunc, 'boolean');
  }
  const tps = await listProbes('tracepoint:syscalls:sys_enter_open*');
  t.ok(tps.length > 0, `${tps.length} probes listed`);
  t.ok(tps.every((p) => p.startsWith('tracepoint:syscalls:sys_enter_open')), 'pattern respected');
  await t.rejects(readBpftraceInfo({ bin: '/nonexistent/bpftrace' }), { code: 'unavailable' });
});
