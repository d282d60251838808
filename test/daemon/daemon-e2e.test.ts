/**
 * The real kgentd and kgentctl, the real kernel and bpftrace: run a tracepoint program, see its
 * events in the logs, stop it, survive SIGKILL of the daemon, and keep serving through bad input.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { open, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { builtOrReason, CLI_JS, createDaemon, eventually, pidsWith, rawExchange, type DaemonHandle } from '../support/daemon-harness.js';
import type { LogEntry, ProgramInfo, RunResult } from '../../daemon/protocol/methods.js';

/** `kgentctl --json logs` prints one JSON entry per line (it streams with -f). */
async function logEntries(d: DaemonHandle, id: number, n: number): Promise<LogEntry[]> {
  const r = await d.ctl(['--json', 'logs', String(id), '-n', String(n)]);
  if (r.exitCode !== 0) throw new Error(`kgentctl logs exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry);
}

const skip = process.getuid?.() !== 0 ? 'needs root to load eBPF programs' : builtOrReason();

t.test('kgentd end to end', { skip }, async (t) => {
  const d: DaemonHandle = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();

  const tag = `kgent-e2e-${randomBytes(4).toString('hex')}`;
  const target = path.join(d.dir, tag);
  const programFile = path.join(d.dir, 'opens.bt');
  await writeFile(
    programFile,
    `// opens of one file, with the opener's comm\ntracepoint:syscalls:sys_enter_openat /str(args->filename) == "${target}"/ {\n  printf("open %s by %s\\n", str(args->filename), comm);\n  @opens[comm] = count();\n}\n`,
  );

  await t.test('socket is born 0660', async (t) => {
    const s = await stat(d.socket);
    t.equal((s.mode & 0o777).toString(8), '660');
  });

  let id = 0;
  await t.test('run attaches a tracepoint program and its events reach logs', async (t) => {
    const res = await d.ctl(['--json', 'run', programFile]);
    t.equal(res.exitCode, 0, res.stderr);
    const run = JSON.parse(res.stdout) as RunResult;
    t.equal(run.check.ok, true);
    t.equal(run.program.status, 'running');
    t.equal(run.program.approvedBy, run.program.submittedBy, "an admin's own run counts as approved");
    id = run.program.id;
    // "running" means bpftrace started; it may attach a moment later on a loaded machine, so
    // keep opening the file until three opens have been seen.
    const entries = await eventually(async () => {
      await (await open(target, 'a')).close();
      const entries = await logEntries(d, id, 100);
      const hits = entries.filter((e) => e.type === 'printf' && String(e.data).includes(target));
      return hits.length >= 3 ? hits : undefined;
    }, 60_000, 'three printf lines in the log');
    t.match(String(entries[0]!.data), /^open .* by node/);
    const human = await d.ctl(['logs', String(id)]);
    t.match(human.stdout, new RegExp(`open ${target} by node`));
    const list = await d.ctlJson<{ programs: ProgramInfo[] }>(['list']);
    t.equal(list.programs.find((p) => p.id === id)?.status, 'running');
  });

  await t.test('logs -f streams new events until the program stops', async (t) => {
    const follower = execa(process.execPath, [CLI_JS, '--socket', d.socket, 'logs', String(id), '-f', '-n', '0'], { reject: false });
    let streamed = '';
    follower.stdout?.on('data', (c: Buffer) => (streamed += c.toString()));
    // -n 0 prints no old entry, so any line here was streamed; keep making events until one arrives
    // (kgentctl needs a moment to start and subscribe).
    await eventually(async () => {
      await (await open(target, 'a')).close();
      return streamed.includes(`open ${target}`) || undefined;
    }, 30_000, 'a streamed event');
    const stop = await d.ctl(['stop', String(id)]);
    t.equal(stop.exitCode, 0, stop.stderr);
    const followed = await follower;
    t.equal(followed.exitCode, 0);
    t.match(String(followed.stderr), /program \d+ stopped/, 'the follow ends when the program stops');
  });

  await t.test('stop leaves no bpftrace child', async (t) => {
    const progFile = path.join(d.stateDir, 'programs', `${id}.bt`);
    t.same(await pidsWith(progFile), []);
    const show = await d.ctlJson<{ program: ProgramInfo; audit: { action: string }[] }>(['show', String(id)]);
    t.equal(show.program.status, 'stopped');
    t.ok(show.audit.some((a) => a.action === 'stop'), 'stop is audited');
  });

  await t.test('after SIGKILL of the daemon, a restart re-attaches approved programs', async (t) => {
    const res = await d.ctlJson<RunResult>(['run', programFile]);
    const id2 = res.program.id;
    t.equal(res.program.status, 'running');
    const progFile = path.join(d.stateDir, 'programs', `${id2}.bt`);
    const [oldPid] = await pidsWith(progFile);
    t.ok(oldPid, 'bpftrace child running');
    await d.kill('SIGKILL');
    await d.start();
    const running = await eventually(async () => {
      const show = await d.ctlJson<{ program: ProgramInfo }>(['show', String(id2)]);
      return show.program.status === 'running' ? show.program : undefined;
    }, 30_000, 're-attached program');
    t.not(running.pid, oldPid, 'a new bpftrace');
    const pids = await eventually(async () => {
      const p = await pidsWith(progFile);
      return p.length === 1 ? p : undefined;
    }, 10_000, 'exactly one bpftrace for the program');
    t.same(pids, [running.pid]);
    // the stopped program stays stopped
    const first = await d.ctlJson<{ program: ProgramInfo }>(['show', String(id)]);
    t.equal(first.program.status, 'stopped');
    // and it still delivers events
    await eventually(async () => {
      await (await open(target, 'a')).close();
      const entries = await logEntries(d, id2, 50);
      return entries.some((e) => e.type === 'printf') || undefined;
    }, 60_000, 'events after re-attach');
    await d.ctl(['stop', String(id2)]);
  });

  await t.test('SIGTERM stops every child; the next start attaches them again', async (t) => {
    const res = await d.ctlJson<RunResult>(['run', programFile]);
    const id3 = res.program.id;
    const progFile = path.join(d.stateDir, 'programs', `${id3}.bt`);
    t.equal((await pidsWith(progFile)).length, 1);
    await d.kill('SIGTERM');
    t.same(await pidsWith(progFile), [], 'no bpftrace after a clean shutdown');
    await d.start();
    await eventually(async () => {
      const show = await d.ctlJson<{ program: ProgramInfo }>(['show', String(id3)]);
      return show.program.status === 'running' || undefined;
    }, 30_000, 're-attach after clean restart');
    const stop = await d.ctl(['stop', String(id3)]);
    t.equal(stop.exitCode, 0);
  });

  await t.test('bad input gets clean errors and the daemon keeps serving', async (t) => {
    const [parseErr] = await rawExchange(d.socket, '{"jsonrpc":"2.0","id":1,"method":\n', 1);
    t.match(parseErr, { jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const [unknown] = await rawExchange(d.socket, '{"jsonrpc":"2.0","id":7,"method":"no.such"}\n', 1);
    t.match(unknown, { id: 7, error: { code: -32601, message: /unknown method/ } });
    const [invalid] = await rawExchange(d.socket, '{"jsonrpc":"2.0","id":8,"method":"programs.show","params":{"id":"x"}}\n', 1);
    t.match(invalid, { id: 8, error: { code: -32602, message: /id must be an integer/ } });
    const [notRpc] = await rawExchange(d.socket, '[1,2,3]\n', 1);
    t.match(notRpc, { id: null, error: { code: -32600 } });
    const big = `{"jsonrpc":"2.0","id":9,"method":"daemon.status","params":{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}}\n`;
    const [tooLarge, after] = await rawExchange(d.socket, big + '{"jsonrpc":"2.0","id":10,"method":"daemon.status"}\n', 2);
    t.match(tooLarge, { id: null, error: { code: -32001, message: /exceeds the limit/ } });
    t.match(after, { id: 10, result: { pid: Number } }, 'same connection still works after an oversized line');
    const random = Buffer.concat([randomBytes(4096).map((b) => (b === 0x0a ? 0x20 : b)), Buffer.from('\n')]);
    const [garbage] = await rawExchange(d.socket, random, 1);
    t.match(garbage, { error: { code: -32700 } });
    const status = await d.ctl(['status']);
    t.equal(status.exitCode, 0, 'another client is served');
    t.match(status.stdout, /kgentd .* running/);
  });

  await t.test('the kernel verifier rejection comes back as a diagnostic', async (t) => {
    const loop = path.join(d.dir, 'loop.bt');
    await writeFile(loop, 'tracepoint:syscalls:sys_enter_openat {\n  $i = 0;\n  while ($i < 100000) { @x[$i] = 1; $i++; }\n}\n');
    const res = await d.ctl(['--json', 'run', loop]);
    t.equal(res.exitCode, 1);
    const run = JSON.parse(res.stdout) as RunResult;
    t.equal(run.program.status, 'rejected');
    t.match(run.check.diagnostics, [{ code: 'kernel.verifier-rejected', stage: 'kernel', message: /verifier rejected/ }]);
    const human = await d.ctl(['run', loop]);
    t.match(human.stderr, /loop\.bt: ERROR: the kernel's eBPF verifier rejected/);
    t.match(human.stderr, /rejected by the kernel check; nothing was attached/);
  });

  await t.test('a probe type this kernel lacks is reported before loading', async (t) => {
    const kp = path.join(d.dir, 'kprobe.bt');
    await writeFile(kp, 'kprobe:tcp_connect { @c = count(); }\n');
    const doctor = await d.ctlJson<{ checks: { name: string; status: string }[] }>(['doctor']);
    const kprobeMissing = doctor.checks.some((c) => c.name === 'probe type kprobe');
    const res = await d.ctl(['--json', 'run', kp]);
    const run = JSON.parse(res.stdout) as RunResult;
    if (kprobeMissing) {
      t.equal(run.check.ok, false);
      t.match(run.check.diagnostics[0], { code: 'lint.probe-unavailable', span: { line: 1, column: 1 }, message: /kprobe probes are not available on this kernel/ });
      t.match(run.check.method, /nothing was loaded/);
    } else {
      t.equal(run.check.ok, true, 'kprobes exist on this kernel');
    }
  });

  await t.test('request says clearly that no LLM is reachable', async (t) => {
    const res = await d.ctl(['request', 'trace tcp connects']);
    t.equal(res.exitCode, 5);
    t.match(res.stderr, /^kgentctl request: no LLM reachable: .*http:\/\/127\.0\.0\.1:9/);
  });

  await t.test('unknown program ids are a clean not-found', async (t) => {
    const res = await d.ctl(['show', '9999']);
    t.equal(res.exitCode, 4);
    t.match(res.stderr, /^kgentctl show: no program 9999/);
  });
});
