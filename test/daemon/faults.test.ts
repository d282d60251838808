/**
 * Faults against the real daemon: a second kgentd on the same state dir, the
 * socket file removed, a program out of its crash budget across a restart, a full disk (a 2 MB
 * tmpfs as the state dir, filled up).
 */
import t from 'tap';
import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { builtOrReason, createDaemon, DAEMON_JS, eventually, rawExchange } from '../support/daemon-harness.js';
import type { ProgramInfo, RunResult, ShowResult, StatusResult, DoctorResult } from '../../daemon/protocol/methods.js';

const built = builtOrReason();
const root = process.getuid?.() !== 0 ? 'needs root to load eBPF programs' : undefined;

const status = async (socket: string): Promise<StatusResult> => {
  const [r] = (await rawExchange(socket, `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'daemon.status', params: {} })}\n`, 1)) as {
    result: StatusResult;
  }[];
  return r!.result;
};

t.test('a second kgentd on the same state dir exits with one clear line; the first keeps its programs', { skip: built ?? root }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'p.bt');
  await writeFile(file, 'tracepoint:sched:sched_switch { @n = count(); }\n');
  const run = await d.ctlJson<RunResult>(['run', file]);
  t.equal(run.program.status, 'running');
  const second = await execa(process.execPath, [DAEMON_JS, '--socket', path.join(d.dir, 'other.sock'), '--state-dir', d.stateDir], {
    reject: false,
    timeout: 60_000,
    env: { KGENT_CONFIG: path.join(d.dir, 'config.json') },
  });
  t.equal(second.exitCode, 1);
  const lines = second.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${second.stderr}`);
  t.match(lines[0], new RegExp(`kgentd: state dir .* is in use by another kgentd \\(pid ${d.proc.pid}\\)`));
  process.kill(run.program.pid!, 0); // still alive: not taken for an orphan
  const shown = await d.ctlJson<{ program: ProgramInfo }>(['show', String(run.program.id)]);
  t.equal(shown.program.status, 'running');
  t.equal(shown.program.pid, run.program.pid);
});

t.test('a removed socket file is re-created and clients reconnect', { skip: built }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const before = statSync(d.socket).ino;
  await unlink(d.socket);
  const st = await eventually(async () => (existsSync(d.socket) ? statSync(d.socket) : undefined), 15_000, 'socket re-created');
  t.ok(st.isSocket());
  void before; // the filesystem may hand the new socket the inode number just freed
  t.equal((st.mode & 0o777).toString(8), '660', 'born 0660 again');
  const s = await status(d.socket);
  t.equal(s.pid, d.proc.pid, 'the same daemon answers on the new socket');
  // The whole runtime dir removed: the periodic look re-creates dir and socket.
  // The daemon may re-create the socket while rm walks the dir (ENOTEMPTY): rm again.
  await eventually(async () => rm(path.dirname(d.socket), { recursive: true, force: true }).then(() => true, () => false), 5000, 'runtime dir removed');
  await eventually(async () => existsSync(d.socket), 15_000, 'socket re-created with its dir');
  t.equal((await status(d.socket)).pid, d.proc.pid);
  const r = await d.ctl(['status']);
  t.equal(r.exitCode, 0, r.stderr);
});

t.test('a program out of its crash budget stays failed across a daemon restart', { skip: built ?? root }, async (t) => {
  const d = await createDaemon({ config: { runner: { maxRestarts: 0, restartDelayMs: 100, restartWindowMs: 600000 } } });
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'p.bt');
  await writeFile(file, 'tracepoint:sched:sched_switch { @n = count(); }\n');
  const run = await d.ctlJson<RunResult>(['run', file]);
  process.kill(run.program.pid!, 'SIGKILL');
  await eventually(async () => (await d.ctlJson<ShowResult>(['show', String(run.program.id)])).program.status === 'failed', 20_000, 'failed');
  await d.kill('SIGTERM');
  await d.start();
  await new Promise((r) => setTimeout(r, 1000));
  const after = await d.ctlJson<ShowResult>(['show', String(run.program.id)]);
  t.equal(after.program.status, 'failed', 'not re-attached with a fresh budget');
  t.equal(after.runs.length, 1, 'no new run');
});

t.test('a full disk: programs keep running, log lines are dropped and counted, status and doctor say so, a restart comes up', { skip: built ?? root }, async (t) => {
  const d = await createDaemon({ config: { runner: { maxRestarts: 5, restartDelayMs: 200, restartWindowMs: 600000 } } });
  t.teardown(async () => {
    if (!t.passing()) t.comment(d.output().split('\n').filter((l) => !/request done|"connection"/.test(l)).slice(-40).join('\n'));
    await d.cleanup().catch(() => undefined);
    await execa('umount', ['-l', d.stateDir], { reject: false });
  });
  await mkdir(d.stateDir, { recursive: true });
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=2M', 'tmpfs', d.stateDir], { reject: false });
  if (mounted.exitCode !== 0) return t.skip(`cannot mount a tmpfs here: ${mounted.stderr}`);
  await d.start();
  const file = path.join(d.dir, 'p.bt');
  // One line per second, forever: the log keeps growing.
  await writeFile(file, 'interval:ms:100 { printf("tick %d\\n", nsecs); }\n');
  const run = await d.ctlJson<RunResult>(['run', file]);
  t.equal(run.program.status, 'running');
  // Fill the filesystem.
  await execa('sh', ['-c', `dd if=/dev/zero of=${d.stateDir}/filler bs=64k 2>/dev/null; sync`], { reject: false });
  const s = await eventually(async () => {
    const st = await status(d.socket);
    return !st.storage?.writable && (st.storage?.droppedLogLines ?? 0) > 0 ? st : undefined;
  }, 20_000, 'status reports dropped log lines');
  t.match(s.storage?.lastError, /ENOSPC|no space/i);
  process.kill(run.program.pid!, 0);
  // A crash while the disk is full: restarted (the restart needs no new disk space).
  process.kill(run.program.pid!, 'SIGKILL');
  const again = await eventually(async () => {
    const sh = await d.ctlJson<{ program: ProgramInfo }>(['show', String(run.program.id)]).catch(() => undefined);
    return sh && sh.program.pid !== run.program.pid && sh.program.pid ? sh.program : undefined;
  }, 20_000, 'restart while full');
  process.kill(again.pid!, 0);
  const doc = await d.ctlJson<DoctorResult>(['doctor']).catch(() => undefined);
  if (doc) t.match(doc.checks.find((c) => c.name === 'storage'), { status: 'fail', detail: /dropped; programs keep running/ });
  // Restart the daemon with the disk still full: it comes up and re-attaches.
  await d.kill('SIGKILL');
  await d.start();
  const back = await eventually(async () => {
    const st = await status(d.socket);
    return st.programs.running >= 1 ? st : undefined;
  }, 30_000, 'restarted daemon runs the program');
  t.ok(back.programs.running >= 1);
  // Space again: logging resumes.
  await rm(path.join(d.stateDir, 'filler'));
  const logged = await eventually(async () => {
    const st = await status(d.socket);
    return st.storage?.writable ? st : undefined;
  }, 20_000, 'writable again');
  t.ok(logged.storage?.writable);
});
