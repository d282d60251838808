/**
 * Examples whose probes cannot attach on this host are never offered: not to the synthesis
 * prompt (exampleSource over a real LanceDB table in a temp dir) and not by the filter itself.
 * "This host" here is the real one's rule for kprobes (unavailable on the test kernel) given as
 * facts, plus a tracepoint list.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hookAttachable, tracepointsFromContracts } from '../../../daemon/contracts/hook-attachable.js';
import { attachableExamples } from '../../../daemon/retrieval/attachable-examples.js';
import { exampleSource } from '../../../daemon/retrieval/example-source.js';
import { ExampleLibrary } from '../../../daemon/retrieval/library.js';
import { loadExamples } from '../../../datasets/load.js';
import { createLogger } from '../../../daemon/log.js';
import { realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport } from '../../../kernel-contracts/kernel-reader/probe-support.js';

const TRACEPOINTS = new Set(['tracepoint:sock:inet_sock_set_state', 'tracepoint:sched:sched_switch', 'tracepoint:raw_syscalls:sys_enter']);
const NO_KPROBES = (type: string): boolean => type !== 'kprobe' && type !== 'kretprobe' && type !== 'kfunc' && type !== 'kretfunc';
const usable = hookAttachable({ probeAvailable: NO_KPROBES, tracepointExists: tracepointsFromContracts((id) => (TRACEPOINTS.has(id) ? {} : undefined)) });

t.test('hookAttachable: probe type and tracepoint existence', async (t) => {
  const cases: [string, boolean][] = [
    ['tracepoint:sock:inet_sock_set_state', true],
    ['t:sched:sched_switch', true],
    ['tracepoint:nosuch:event', false],
    ['tracepoint:syscalls:sys_enter_open*', true],
    ['kprobe:tcp_connect', false],
    ['kretprobe:tcp_v4_connect', false],
    ['k:tcp_connect', false],
    ['kfunc:vfs_read', false],
    ['interval:s:1', true],
    ['uprobe:/bin/bash:readline', true],
    ['BEGIN', true],
    ['bogus:thing', false],
  ];
  for (const [hook, ok] of cases) t.equal(usable(hook), ok, hook);
  // No contracts built yet: tracepoints are judged by the probe type alone.
  const early = hookAttachable({ probeAvailable: () => true, tracepointExists: tracepointsFromContracts(() => undefined) });
  t.equal(early('tracepoint:any:thing'), true);
});

t.test('attachableExamples keeps order and k, drops any example with one unusable hook', async (t) => {
  const entries = [
    { id: 'a', hooks: ['kprobe:tcp_connect'] },
    { id: 'b', hooks: ['tracepoint:sock:inet_sock_set_state'] },
    { id: 'c', hooks: ['tracepoint:sock:inet_sock_set_state', 'kretprobe:tcp_v4_connect'] },
    { id: 'd', hooks: [] },
    { id: 'e', hooks: ['tracepoint:sched:sched_switch'] },
  ];
  t.same(attachableExamples(entries, usable, 2).map((e) => e.id), ['b', 'd']);
  t.same(attachableExamples(entries, usable, 9).map((e) => e.id), ['b', 'd', 'e']);
});

t.test('exampleSource never offers an example with a kprobe on a host without kprobes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-attachable-examples-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dataset = loadExamples();
  t.ok(dataset.some((e) => e.hooks.some((h) => h.startsWith('kprobe:'))), 'the dataset has kprobe examples to filter');
  const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => dataset, logger: createLogger('silent') });
  t.teardown(() => lib.close());
  await lib.ready;
  // This host as it is: its probe support and its tracefs.
  const probes = await detectProbeSupport(realHost());
  const tracefs = (await realHost().tracefsRoot()) ?? '/sys/kernel/tracing';
  const here = hookAttachable({
    probeAvailable: (type) => probes.isAvailable(type),
    tracepointExists: (id) => fs.existsSync(path.join(tracefs, 'events', ...id.split(':').slice(1))),
  });
  if (probes.isAvailable('kprobe')) t.comment('kprobes are available on this host: the kprobe examples are legitimately offered');
  const src = exampleSource(lib, here);
  const requests = ['trace tcp connects with ports', 'show tcp connect latency with kprobes', 'count vfs reads per process', 'which files are opened', 'time spent in the kernel function tcp_sendmsg'];
  for (const text of requests) {
    const raw = await lib.search(text, 10, { viewer: { uid: 0 } });
    const got = await src.search(text, 4, 0);
    t.ok(got.length > 0, `${text}: some example offered`);
    for (const e of got) t.ok((e.hooks ?? []).every(here), `${text}: ${e.id} (${(e.hooks ?? []).join(', ')}) can attach`);
    if (raw.hits.some((h) => h.hooks.some((x) => x.startsWith('kprobe:')))) t.pass(`${text}: the table did return kprobe examples, filtered out`);
  }
});
