import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { PROBE_TYPES } from '../../../kernel-contracts/probe-types.js';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { parseKernelConfig, readKernelConfig } from '../../../kernel-contracts/kernel-reader/kernel-config.js';
import { detectProbeSupport } from '../../../kernel-contracts/kernel-reader/probe-support.js';
import { readBpftraceInfo } from '../../../kernel-contracts/kernel-reader/bpftrace.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures/kernel-contracts/host');
const off = fixtureHost(path.join(fixtures, 'kprobes-off'));
const on = fixtureHost(path.join(fixtures, 'kprobes-on'));

t.test('kernel config parsing', async (t) => {
  const v = parseKernelConfig('# comment\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S="x y"\nCONFIG_N=100\nbogus\n');
  t.same([...v], [
    ['CONFIG_A', 'y'],
    ['CONFIG_B', 'm'],
    ['CONFIG_C', 'n'],
    ['CONFIG_S', 'x y'],
    ['CONFIG_N', '100'],
  ]);
  const a = await readKernelConfig(off);
  t.equal(a?.source, '/proc/config.gz');
  t.equal(a?.values.get('CONFIG_KPROBES'), 'n');
  t.equal(a?.values.get('CONFIG_LOCALVERSION'), '-fc-v782');
  const b = await readKernelConfig(on);
  t.equal(b?.source, '/boot/config-6.1.0-13-amd64', 'falls back to /boot/config-$(uname -r)');
  t.equal(b?.values.get('CONFIG_KPROBES'), 'y');
  t.equal(await readKernelConfig(fixtureHost(path.join(fixtures, 'nonexistent'))), undefined);
});

t.test('recorded kernel without kprobes (like this machine)', async (t) => {
  const ps = await detectProbeSupport(off);
  t.equal(ps.configSource, '/proc/config.gz');
  t.equal(ps.tracefs, '/sys/kernel/tracing');
  t.same(ps.btf, { vmlinux: true, modules: ['fixmod'] });
  t.equal(ps.tracepointCount, 10);
  const table: [string, boolean, RegExp][] = [
    ['kprobe', false, /^CONFIG_KPROBES is not set in \/proc\/config\.gz \(kprobe_events absent in tracefs/],
    ['kretprobe', false, /CONFIG_KPROBES is not set/],
    ['k', false, /CONFIG_KPROBES is not set/],
    ['uprobe', true, /CONFIG_UPROBE_EVENTS=y in \/proc\/config\.gz; uprobe_events present/],
    ['uretprobe', true, /uprobe/],
    ['usdt', true, /uprobe/],
    ['tracepoint', true, /^10 tracepoints under \/sys\/kernel\/tracing\/events$/],
    ['t', true, /tracepoints/],
    ['rawtracepoint', true, /raw tracepoints/],
    ['profile', true, /software/],
    ['interval', true, /software/],
    ['software', true, /software/],
    ['hardware', false, /no hardware PMU/],
    ['watchpoint', true, /breakpoint PMU/],
    ['kfunc', false, /available_filter_functions: EPERM/],
    ['fentry', false, /refuses ftrace function tracing/],
    ['kretfunc', false, /EPERM/],
    ['iter', true, /BTF/],
    ['BEGIN', true, /uprobe/],
    ['self', false, /version unknown/],
    ['nosuchtype', false, /unknown probe type/],
  ];
  for (const [type, avail, why] of table) {
    t.equal(ps.isAvailable(type), avail, `${type} available=${avail}`);
    t.match(ps.reason(type), why, `${type}: ${ps.reason(type)}`);
  }
  for (const p of PROBE_TYPES) t.ok(ps.types[p], `${p} has a verdict`);
  t.same(ps.kernelFunctions.filterFunctions, { readable: false, error: 'EPERM: operation not permitted' });
  t.equal(ps.kernelFunctions.source, '/proc/kallsyms', 'falls back to kallsyms text symbols');
  t.equal(ps.hasKernelFunction('tcp_connect'), true);
  t.equal(ps.hasKernelFunction('tcp_v4_connect'), true, 'static (t) symbols count');
  t.equal(ps.hasKernelFunction('jiffies'), false, 'data symbols do not');
  t.equal(ps.hasKernelFunction('fixmod_open'), true, 'module symbols without the [module] suffix');
  t.equal(ps.hasTracepoint('sock', 'inet_sock_set_state'), true);
  t.equal(ps.hasTracepoint('sock', 'nope'), false);
  t.equal(ps.hasTracepoint('ftrace', 'function'), false, 'ftrace formats are not attachable tracepoints');
  t.equal(ps.isKprobeBlacklisted('tcp_connect'), undefined, 'no blacklist without kprobes');
  const json = JSON.parse(JSON.stringify(ps)) as Record<string, unknown>;
  t.same(Object.keys(json).sort(), ['btf', 'configSource', 'kernelFunctions', 'release', 'tracefs', 'tracepointCount', 'types']);
});

t.test('bpftrace evidence sharpens the verdicts', async (t) => {
  const v17 = { major: 0, minor: 17, patch: 0, text: '0.17.0' };
  const ps = await detectProbeSupport(off, { bpftrace: { version: v17, features: { kfunc: false, 'iter:task': false, 'iter:task_file': false } } });
  t.match(ps.reason('kfunc'), /bpftrace --info reports kfunc: no/);
  t.equal(ps.isAvailable('iter'), false);
  t.match(ps.reason('iter'), /iter:task: no/);
  t.equal(ps.isAvailable('rawtracepoint'), false);
  t.match(ps.reason('rawtracepoint'), /bpftrace 0\.17\.0 has no rawtracepoint probes/);
  t.match(ps.reason('self'), /bpftrace 0\.17\.0 has no self probes/);
  const v22 = { major: 0, minor: 22, patch: 1, text: '0.22.1' };
  const ps2 = await detectProbeSupport(off, { bpftrace: { version: v22 } });
  t.equal(ps2.isAvailable('rawtracepoint'), true);
  t.equal(ps2.isAvailable('self'), true);
});

t.test('recorded kernel with kprobes', async (t) => {
  const ps = await detectProbeSupport(on);
  t.equal(ps.configSource, '/boot/config-6.1.0-13-amd64');
  t.equal(ps.tracefs, '/sys/kernel/debug/tracing', 'tracefs found under debugfs');
  t.equal(ps.isAvailable('kprobe'), true);
  t.match(ps.reason('kprobe'), /^CONFIG_KPROBES=y in \/boot\/config-6\.1\.0-13-amd64; kprobe_events present in tracefs, kprobe PMU present$/);
  t.equal(ps.isAvailable('kretprobe'), true);
  t.equal(ps.isAvailable('hardware'), true);
  t.match(ps.reason('hardware'), /'cpu'/);
  t.equal(ps.isAvailable('kfunc'), false);
  t.match(ps.reason('kfunc'), /no kernel BTF/);
  t.equal(ps.isAvailable('iter'), false);
  t.same(ps.kernelFunctions, {
    source: 'available_filter_functions',
    count: 5,
    filterFunctions: { readable: true, count: 5 },
  });
  t.equal(ps.hasKernelFunction('vfs_read'), true);
  t.equal(ps.hasKernelFunction('ext4_file_open'), true, '[module] suffix dropped');
  t.equal(ps.hasKernelFunction('nope'), false);
  t.equal(ps.tracepointCount, 2);
  t.equal(ps.isKprobeBlacklisted('do_int3'), true);
  t.equal(ps.isKprobeBlacklisted('tcp_connect'), false);
  const noNames = await detectProbeSupport(on, { functionNames: false });
  t.equal(noNames.hasKernelFunction('vfs_read'), undefined, 'unknown when names were not read');
});

t.test('an empty host', async (t) => {
  const ps = await detectProbeSupport(fixtureHost(path.join(fixtures, 'nonexistent')));
  for (const p of ['kprobe', 'uprobe', 'tracepoint', 'kfunc'] as const) t.equal(ps.isAvailable(p), false, `${p}: ${ps.reason(p)}`);
  t.match(ps.reason('tracepoint'), /tracefs is not mounted/);
  t.equal(ps.hasKernelFunction('x'), undefined);
});

t.test('this machine', async (t) => {
  if (!existsSync('/sys/kernel')) {
    t.skip('no /sys on this machine');
    return;
  }
  let bpftrace;
  try {
    bpftrace = await readBpftraceInfo();
  } catch (err) {
    t.comment(`without bpftrace evidence: ${(err as Error).message}`);
  }
  const ps = await detectProbeSupport(realHost(), { bpftrace });
  for (const p of PROBE_TYPES) t.comment(`${p}: ${ps.types[p].available ? 'yes' : 'no '} ${ps.types[p].reason}`);
  t.comment(`kernel functions: ${ps.kernelFunctions.count} from ${ps.kernelFunctions.source}`);
  // Cross-check against the config the kernel itself reports.
  let cfgText: string | undefined;
  if (existsSync('/proc/config.gz')) cfgText = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  if (cfgText !== undefined) {
    const kprobesOn = /^CONFIG_KPROBES=y$/m.test(cfgText);
    t.equal(ps.isAvailable('kprobe'), kprobesOn && existsSync(`${ps.tracefs}/kprobe_events`), 'kprobe verdict follows the config');
    if (!kprobesOn) t.match(ps.reason('kprobe'), /^CONFIG_KPROBES is not set in \/proc\/config\.gz/, `says why: ${ps.reason('kprobe')}`);
  } else {
    t.comment('no /proc/config.gz: config cross-check skipped');
  }
  if (ps.tracefs) {
    t.equal(ps.isAvailable('tracepoint'), ps.tracepointCount > 0);
    t.ok(ps.tracepointCount > 100, `${ps.tracepointCount} tracepoints`);
    t.equal(ps.hasTracepoint('syscalls', 'sys_enter_openat'), existsSync(`${ps.tracefs}/events/syscalls/sys_enter_openat`));
  }
  if (bpftrace?.features?.kfunc === false) t.equal(ps.isAvailable('kfunc'), false, 'kfunc off when bpftrace cannot load fentry');
});
