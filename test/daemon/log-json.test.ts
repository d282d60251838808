/**
 * kgentd's log is JSON lines only: the real kgentd with its real LanceDB example store, searched
 * (the query path where LanceDB's native library logs its deprecation warnings), every line of its
 * stdout and stderr parsed as JSON.
 */
import t from 'tap';
import { builtOrReason, createDaemon, eventually } from '../support/daemon-harness.js';

t.test('every line kgentd writes is JSON, LanceDB queries included', { skip: builtOrReason() ?? false, timeout: 120_000 }, async (t) => {
  // '' stands for "not set" (the harness inherits the caller's environment).
  const d = await createDaemon({ env: { LANCEDB_LOG: '', RUST_LOG: '' } });
  t.teardown(() => d.cleanup());
  await d.start();
  await eventually(async () => {
    const r = await d.ctl(['examples', 'list']);
    return r.exitCode === 0 && /^\d+ dataset examples/.test(r.stdout) && !/^0 dataset/.test(r.stdout);
  }, 60_000, 'the example library');
  for (const q of ['trace tcp connects', 'count syscalls per process', 'block io latency histogram']) {
    const r = await d.ctl(['examples', 'search', q]);
    t.equal(r.exitCode, 0, `search "${q}"`);
  }
  await d.ctl(['contracts', 'search', 'tcp connect']);
  await d.kill('SIGTERM');
  const lines = d.output().split('\n').filter((l) => l.trim() !== '');
  t.ok(lines.length > 5, `kgentd wrote ${lines.length} lines`);
  const notJson = lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  t.same(notJson, [], 'no line that is not JSON');
});
