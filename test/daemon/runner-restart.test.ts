/**
 * Restart-on-crash with a limit, against the real daemon and bpftrace: a bpftrace child killed from
 * outside is restarted; past the limit the program is marked failed with the reason.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { builtOrReason, createDaemon, eventually, pidsWith } from '../support/daemon-harness.js';
import type { ProgramInfo, RunResult, ShowResult } from '../../daemon/protocol/methods.js';

const skip = process.getuid?.() !== 0 ? 'needs root to load eBPF programs' : builtOrReason();

t.test('a crashed program is restarted up to the limit, then failed', { skip }, async (t) => {
  const d = await createDaemon({ config: { runner: { maxRestarts: 2, restartDelayMs: 200, restartWindowMs: 600000 } } });
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'switches.bt');
  await writeFile(file, 'tracepoint:sched:sched_switch { @switches = count(); }\n');
  const run = await d.ctlJson<RunResult>(['run', file]);
  t.equal(run.program.status, 'running');
  const id = run.program.id;
  const progFile = path.join(d.stateDir, 'programs', `${id}.bt`);

  let pid = run.program.pid!;
  for (let crash = 1; crash <= 2; crash++) {
    process.kill(pid, 'SIGKILL');
    const again = await eventually(async () => {
      const s = await d.ctlJson<{ program: ProgramInfo }>(['show', String(id)]);
      return s.program.status === 'running' && s.program.pid !== pid ? s.program : undefined;
    }, 30_000, `restart after crash ${crash}`);
    t.equal(again.restarts, crash, `restart count ${crash}`);
    pid = again.pid!;
  }
  process.kill(pid, 'SIGKILL');
  const failed = await eventually(async () => {
    const s = await d.ctlJson<ShowResult>(['show', String(id)]);
    return s.program.status === 'failed' ? s : undefined;
  }, 30_000, 'failed after the limit');
  t.equal(failed.program.exitSignal, 'SIGKILL');
  t.ok(failed.audit.some((a) => a.action === 'fail'), 'failure audited');
  t.equal(failed.runs.length, 3, 'three runs recorded');
  t.same(await pidsWith(progFile), [], 'no bpftrace left');
  const list = await d.ctl(['list']);
  t.match(list.stdout, new RegExp(`${id}\\s+failed`));
});
