/**
 * The output rate limit: a program printing faster than `runner.maxLinesPerSecond` keeps running,
 * the excess is dropped and counted, and its log says so (once a second at most).
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OutputRate } from '../../../daemon/runner/output-rate.js';
import type { LogEntry, ShowResult } from '../../../daemon/protocol/methods.js';
import { builtOrReason, createDaemon, eventually } from '../../support/daemon-harness.js';

t.test('token bucket: a burst of the limit, then the rate', async (t) => {
  let now = 0;
  const r = new OutputRate(10, () => now);
  let admitted = 0;
  for (let i = 0; i < 25; i++) if (r.admit()) admitted++;
  t.equal(admitted, 10, 'the burst is the limit');
  t.equal(r.dropped, 15);
  t.equal(r.noteDue(), 15, 'the drop is noted');
  t.equal(r.noteDue(), undefined, 'once until more is dropped and a second has passed');
  now = 500;
  for (let i = 0; i < 10; i++) if (r.admit()) admitted++;
  t.equal(admitted, 15, 'half a second refills half the bucket');
  t.equal(r.noteDue(), undefined, 'not within a second of the last note');
  now = 1600;
  t.equal(r.noteDue(), 5);
});

const skip = process.getuid?.() !== 0 ? 'needs root' : builtOrReason();

t.test('a program over the limit keeps running; the excess is dropped and counted', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const d = await createDaemon({ config: { runner: { maxLinesPerSecond: 20 } } });
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'chatty.bt');
  await writeFile(file, 'interval:ms:2 { printf("tick\\n"); }\n');
  const run = await d.ctlJson<{ program: { id: number; status: string } }>(['run', file]);
  t.equal(run.program.status, 'running');
  const id = run.program.id;
  const show = await eventually(async () => {
    const s = await d.ctlJson<ShowResult>(['show', String(id)]);
    return (s.program.droppedOutputLines ?? 0) > 200 ? s : undefined;
  }, 30_000, 'dropped lines counted');
  t.equal(show.program.status, 'running', 'still running');
  const out = await d.ctl(['--json', 'logs', String(id), '-n', '10000']);
  const logs = { entries: out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry) };
  const notes = logs.entries.filter((e) => e.type === 'kgent' && (e.data as { event?: string }).event === 'output-dropped');
  t.ok(notes.length > 0, 'the log says lines were dropped');
  const ticks = logs.entries.filter((e) => e.type === 'printf').length;
  const seconds = (Date.parse(logs.entries.at(-1)!.time) - Date.parse(logs.entries[0]!.time)) / 1000;
  t.ok(ticks <= 20 * (seconds + 2), `about 20 lines a second were kept (${ticks} in ${seconds.toFixed(1)} s)`);
  const human = await d.ctl(['show', String(id)]);
  t.match(human.stdout, /dropped: +\d+ output lines over the rate limit/);
  await d.ctl(['stop', String(id)]);
});
