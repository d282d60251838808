/**
 * kgentd never loads LanceDB: a hook search and an example search are served by children of
 * kgentd that have LanceDB's native library mapped, while kgentd's own memory map has none of it;
 * with a short `idleReleaseMs` the example store's child is let go and a later search starts a new
 * one. Needs `npm run build`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { builtOrReason, createDaemon, eventually } from '../support/daemon-harness.js';

const mapsLance = (pid: number): boolean => {
  try {
    return /lancedb/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch {
    return false;
  }
};

/** Children of `pid` (from /proc/N/stat's ppid field). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

t.test('searches are served by children with LanceDB; kgentd maps none of it', { skip: builtOrReason() ?? false, timeout: 300_000 }, async (t) => {
  const d = await createDaemon({ config: { idleReleaseMs: 8000, contracts: { rebuildOnStart: true, watchPaths: [] } } });
  t.teardown(() => d.cleanup());
  await d.start();
  const pid = d.proc.pid!;
  await eventually(async () => (await d.ctlJson<{ state: string }>(['contracts', 'status'])).state === 'ready', 240_000, 'the kernel contracts built');

  const hooks = await d.ctlJson<{ hits: unknown[] }>(['contracts', 'search', 'tcp connect']);
  t.ok(hooks.hits.length > 0, 'a hook search answers');
  const examples = await d.ctlJson<{ hits: unknown[] }>(['examples', 'search', 'disk latency per device']);
  t.ok(examples.hits.length > 0, 'an example search answers');
  const lanceChildren = childrenOf(pid).filter(mapsLance);
  t.ok(lanceChildren.length >= 2, `children of kgentd hold LanceDB (${lanceChildren.join(', ')})`);
  t.notOk(mapsLance(pid), 'kgentd itself has no LanceDB mapped');

  // idleReleaseMs 8 s: both children are let go (the search index through docsIdleMs, which kgentd sets to it).
  await eventually(async () => childrenOf(pid).filter(mapsLance).length === 0, 90_000, 'the LanceDB children let go');
  t.pass('no LanceDB process left after the idle time');
  t.ok((await d.ctlJson<{ hits: unknown[] }>(['examples', 'search', 'disk latency per device'])).hits.length > 0, 'a later search starts a fresh child');
  t.notOk(mapsLance(pid), 'still none in kgentd');

  // kgentd stopping takes its children with it.
  const left = childrenOf(pid).filter(mapsLance);
  t.ok(left.length > 0, 'a LanceDB child runs before the stop');
  await d.kill('SIGTERM');
  await eventually(async () => left.every((c) => !existsSync(`/proc/${c}`)), 10_000, 'the children gone with kgentd');
  t.pass('no LanceDB child outlives kgentd');
});
