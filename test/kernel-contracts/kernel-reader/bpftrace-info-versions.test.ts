/**
 * `bpftrace --info` across releases: the text recorded from the real 0.17.0, 0.23.2 and 0.27.1
 * binaries on this host (fixtures/bpftrace-info/VERSION.txt; 0.23 and 0.27 print two entries per
 * line), and, where the binaries are present, their live output read through readBpftraceInfo.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpftraceFeature, parseBpftraceInfo, readBpftraceInfo } from '../../../kernel-contracts/kernel-reader/bpftrace.js';
import { probeBinaries } from '../../dialects/binaries.js';
import { detectProbeSupport } from '../../../kernel-contracts/kernel-reader/probe-support.js';
import { realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { kfuncSupport, iterSupport } from '../../../kernel-contracts/kernel-reader/probe-type-checks.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bpftrace-info');
const recorded = (version: string): string => readFileSync(path.join(FIXTURES, `${version}.txt`), 'utf8');

/** What each release's --info must yield: some entries exactly, and the count (grep -oE ": (yes|no)" FILE | wc -l). */
const CASES: { version: string; has: Record<string, boolean>; count: number }[] = [
  {
    version: '0.17.0',
    has: { 'unsafe uprobe': false, 'libdw (DWARF support)': true, probe_read: true, dpath: false, skboutput: false, 'Loop support': true, btf: true, 'uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount)': true, hash: true, kprobe: true, kfunc: false, 'iter:task': false, 'iter:task_file': false, raw_tp_special: true },
    count: 33,
  },
  {
    version: '0.23.2',
    has: { bfd: true, probe_read: true, probe_read_str: true, probe_read_user: true, probe_read_user_str: true, override_return: false, get_boot_ns: true, get_ns_current_pid_tgid: true, lookup_percpu_elem: true, btf: true, 'module btf': true, 'Kernel DWARF': false, 'uprobe refcount': true, ringbuf: true, kprobe: true, tracepoint: true, fentry: false, kprobe_multi: false, uprobe_multi: true, iter: false },
    count: 39,
  },
  {
    version: '0.27.1',
    has: { bfd: true, 'libdw (DWARF support)': true, 'blazesym (advanced symbolization)': false, 'dwunwind (DWARF stack unwinding)': true, dpath: false, get_tai_ns: true, get_func_ip: true, lookup_percpu_elem: true, loop: true, btf: true, 'module btf': false, kprobe_multi: false, uprobe_multi: true, kprobe_session: false, iter: false },
    count: 16,
  },
];

t.test('recorded --info of each release: every entry of both columns, nothing else', async (t) => {
  for (const c of CASES) {
    const f = parseBpftraceInfo(recorded(c.version));
    t.match(f, c.has, `${c.version}: the entries`);
    t.equal(Object.keys(f).length, c.count, `${c.version}: ${Object.keys(f).length} entries`);
    for (const [k, v] of Object.entries(f)) {
      t.notMatch(k, /\s{2}|yes|no$|^\s|\s$/, `${c.version}: "${k}" is one name, not two columns run together`);
      t.type(v, 'boolean');
    }
    t.notOk('Instruction limit' in f, `${c.version}: a number is not a feature`);
    t.notOk('version' in f, `${c.version}: the version is not a feature`);
  }
});

t.test('a feature under its release names', async (t) => {
  const f17 = parseBpftraceInfo(recorded('0.17.0'));
  const f23 = parseBpftraceInfo(recorded('0.23.2'));
  const f27 = parseBpftraceInfo(recorded('0.27.1'));
  const rows: [string, Record<string, boolean> | undefined, string, boolean | undefined][] = [
    ['0.17 kfunc', f17, 'fentry', false],
    ['0.23 fentry', f23, 'fentry', false],
    ['0.27 has none', f27, 'fentry', undefined],
    ['0.17 iter:task*', f17, 'iter', false],
    ['0.23 iter', f23, 'iter', false],
    ['0.27 iter', f27, 'iter', false],
    ['0.27 no longer lists kprobe', f27, 'kprobe', undefined],
    ['0.23 kprobe', f23, 'kprobe', true],
    ['any yes wins', { 'iter:task': false, 'iter:task_file': true }, 'iter', true],
    ['no --info', undefined, 'fentry', undefined],
  ];
  for (const [what, f, name, want] of rows) t.equal(bpftraceFeature(f, name), want, what);
});

t.test('probe checks read the newer names', async (t) => {
  const base = { btfVmlinux: true, bpftrace: undefined } as unknown as Parameters<typeof kfuncSupport>[0];
  for (const c of CASES) {
    const features = parseBpftraceInfo(recorded(c.version));
    const e = { ...base, bpftrace: { features } };
    const kfunc = kfuncSupport(e).kfunc!;
    if (c.version === '0.27.1') t.notMatch(kfunc.reason, /bpftrace --info/, '0.27 does not report fentry: no claim from it');
    else t.match(kfunc, { available: false, reason: /bpftrace --info reports (kfunc|fentry): no/ }, `${c.version}: fentry off`);
    t.match(iterSupport(e).iter!, { available: false, reason: /bpftrace --info reports iter/ }, `${c.version}: iterators off`);
  }
});

t.test('the real binaries: readBpftraceInfo reads each release', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('--info needs root');
    return;
  }
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.comment(`skipped ${probe.source}: ${probe.reason}`);
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    const info = await readBpftraceInfo({ bin: probe.bin.path, timeoutMs: 60_000 });
    t.equal(info.version.text, probe.bin.version, `${probe.bin.source}: version ${info.version.text}`);
    const c = CASES.find((x) => x.version === probe.bin.version);
    if (!c) {
      t.comment(`${probe.bin.source}: bpftrace ${probe.bin.version} has no recorded --info; only its shape is checked`);
      t.ok(info.features && Object.keys(info.features).length > 5, 'features read');
      continue;
    }
    t.same(info.features, parseBpftraceInfo(recorded(c.version)), `${probe.bin.source}: live --info reads as the recorded text (same kernel)`);
    const ps = await detectProbeSupport(realHost(), { bpftrace: { version: info.version, ...(info.features ? { features: info.features } : {}) } });
    t.equal(ps.isAvailable('iter'), false, `${probe.bin.source}: iter ${ps.reason('iter')}`);
  }
});
