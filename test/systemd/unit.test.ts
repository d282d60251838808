/**
 * kgentd.service: it renders and passes `systemd-analyze verify`, its `systemd-analyze security`
 * exposure is at most 3.0, and kgentd + bpftrace still work under its restrictions. systemd is not
 * PID 1 here, so the restrictions are reproduced by test/systemd/unit-sandbox.py (mount namespace,
 * capability bounding set, no_new_privs, seccomp); what it cannot reproduce it lists as static.
 */
import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, mkdir, readFile, rm, writeFile, copyFile, chmod, chown, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, DAEMON_JS, CLI_JS, builtOrReason } from '../support/daemon-harness.js';

const UNIT = path.join(REPO_ROOT, 'systemd', 'kgentd.service');
const SANDBOX = path.join(REPO_ROOT, 'test', 'systemd', 'unit-sandbox.py');
// PrivateTmp= gives the service a fresh /tmp: a checkout under /tmp (as CI may clone it) would
// vanish with it, daemon and node_modules included. An installed kgent lives in /opt/kgent; here
// the checkout is kept visible instead (tap's own child-process hook also loads from it).
const KEEP_CHECKOUT = /^\/(var\/)?tmp\//.test(`${REPO_ROOT}/`) ? ['--writable', REPO_ROOT] : [];
const PYTHON = '/usr/bin/python3';

async function has(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

async function render(dir: string, edit: (text: string) => string = (s) => s): Promise<string> {
  const template = await readFile(UNIT, 'utf8');
  const unit = path.join(dir, 'kgentd.service');
  await writeFile(unit, edit(template.replaceAll('@NODE@', process.execPath).replaceAll('@PREFIX@', REPO_ROOT)));
  return unit;
}

function withoutCap(cap: string): (s: string) => string {
  return (s) => s.replace(/^CapabilityBoundingSet=.*$/m, (line) => line.replace(` ${cap}`, '').replace(`=${cap} `, '='));
}

t.test('kgentd.service renders and verifies', async (t) => {
  if (!(await has('systemd-analyze'))) return t.skip('systemd-analyze not installed');
  const template = await readFile(UNIT, 'utf8');
  t.match(template, /^User=root$/m, 'runs as root (bpftrace 0.17 refuses other users)');
  for (const line of [
    'RuntimeDirectory=kgent',
    'StateDirectory=kgent kgent/cwd',
    'WorkingDirectory=/var/lib/kgent/cwd',
    'LogsDirectory=kgent',
    'KillMode=control-group',
    'CapabilityBoundingSet=CAP_SYS_ADMIN CAP_BPF CAP_PERFMON CAP_SYSLOG CAP_SYS_PTRACE',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'Restart=on-failure',
    'StartLimitBurst=5',
    'StandardOutput=journal',
    // The memory figures of the daemon-load bench are measured with it (test/support/daemon-harness.ts).
    'Environment=MALLOC_ARENA_MAX=2',
  ]) {
    t.ok(template.split('\n').includes(line), line);
  }
  t.match(template, /^MemoryMax=\d+[KMG]$/m, 'MemoryMax set');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = await render(dir);
  const res = await execa('systemd-analyze', ['verify', unit], { reject: false, all: true });
  const problems = String(res.all ?? '')
    .split('\n')
    .filter((l) => l.includes('kgentd.service'));
  t.same(problems, [], 'no complaint about kgentd.service');
  t.equal(res.exitCode, 0);
});

t.test('systemd-analyze security: exposure <= 3.0', async (t) => {
  if (!(await has('systemd-analyze'))) return t.skip('systemd-analyze not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = await render(dir);
  const res = await execa('systemd-analyze', ['security', '--offline=true', unit], { reject: false, all: true });
  const m = /Overall exposure level for kgentd\.service: (\d+\.\d+) (\S+)/.exec(String(res.all));
  t.ok(m, `score line found in: ${String(res.all).slice(-300)}`);
  if (!m) return;
  const score = Number(m[1]);
  t.comment(`systemd-analyze security --offline=true kgentd.service: ${m[1]} ${m[2]}`);
  console.log(`# kgentd.service exposure: ${m[1]} ${m[2]}`);
  t.ok(score <= 3.0, `exposure ${score} <= 3.0`);
  // --threshold compares the unrounded value (x10): the printed 3.0 could hide 3.04.
  const th = await execa('systemd-analyze', ['security', '--offline=true', '--threshold=30', unit], { reject: false });
  t.equal(th.exitCode, 0, 'unrounded exposure within 30/100');
});

interface Sandboxed {
  exitCode: number;
  out: string;
}

/** Runs `script` (bash) under the unit's restrictions; `dir` stays writable (like StateDirectory=). */
async function sandboxed(unit: string, dir: string, script: string, timeoutMs = 90_000): Promise<Sandboxed> {
  const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.sh`);
  await writeFile(file, script);
  const r = await execa(PYTHON, [SANDBOX, '--unit', unit, '--writable', dir, ...KEEP_CHECKOUT, '--report', path.join(dir, 'report.json'), '--', 'bash', file], {
    reject: false,
    all: true,
    timeout: timeoutMs,
  });
  return { exitCode: r.exitCode ?? -1, out: String(r.all ?? '') };
}

async function sandboxReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!(await has('bpftrace'))) return 'bpftrace not installed';
  if (!existsSync(PYTHON)) return 'python3 not installed';
  if (!(await has('systemd-analyze'))) return 'systemd-analyze not installed';
  return builtOrReason();
}

// One bpftrace line per feature the capabilities are there for; each prints KGENT_OK when it worked.
const FEATURES: Record<string, string> = {
  'tracepoint args (BTF types: CAP_SYS_ADMIN)': 'tracepoint:syscalls:sys_enter_openat { printf("KGENT_OK %s\\n", str(args->filename)); exit(); }',
  kfunc: 'kfunc:do_sys_openat2 { printf("KGENT_OK\\n"); exit(); }',
  uprobe: 'uprobe:/bin/bash:readline { } BEGIN { printf("KGENT_OK\\n"); exit(); }',
  'profile + kstack': 'profile:hz:99 { @[kstack] = count(); } interval:ms:300 { printf("KGENT_OK\\n"); exit(); }',
  ksym: 'profile:hz:999 { printf("KGENT_OK %s\\n", ksym(reg("ip"))); exit(); }',
  'hist + interval': 'tracepoint:syscalls:sys_exit_read { @ = hist(args->ret); } interval:ms:200 { printf("KGENT_OK\\n"); exit(); }',
};

function featureScript(): string {
  const lines = ['#!/bin/bash', '( while true; do cat /etc/hostname >/dev/null; sleep 0.05; done ) &', 'LOAD=$!'];
  for (const [name, prog] of Object.entries(FEATURES)) {
    lines.push(
      `out=$(timeout 60 bpftrace -e '${prog.replaceAll("'", "'\\''")}' 2>&1)`,
      `if grep -q KGENT_OK <<<"$out"; then echo "FEATURE ok ${name}"; else echo "FEATURE fail ${name}: $(tr '\\n' ' ' <<<"$out" | cut -c1-300)"; fi`,
    );
  }
  lines.push('kill $LOAD');
  return lines.join('\n') + '\n';
}

/** ustack() of a process of another user (nobody): symbols need /proc/PID/maps, i.e. CAP_SYS_PTRACE. */
const USTACK_SCRIPT = `#!/bin/bash
out=$(timeout 30 bpftrace -e 'tracepoint:syscalls:sys_enter_clock_nanosleep /uid == 65534/ { printf("USTACK %s\\n", ustack(2)); exit(); }' 2>&1)
echo "$out" | grep -A2 USTACK
`;

t.test('bpftrace works under the unit restrictions; each capability is needed', async (t) => {
  const reason = await sandboxReason();
  if (reason) return t.skip(reason);
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-sandbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = await render(dir);
  const r = await sandboxed(unit, dir, featureScript());
  const reportFile = path.join(dir, existsSync(path.join(dir, 'report.json.seccomp')) ? 'report.json.seccomp' : 'report.json');
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as { applied: string[]; static: string[]; notes: string[] };
  t.comment(`reproduced: ${report.applied.join('; ')}`);
  t.comment(`only checked statically: ${report.static.join('; ')}`);
  for (const n of report.notes) t.comment(`note: ${n}`);
  for (const name of Object.keys(FEATURES)) t.match(r.out, `FEATURE ok ${name}`, `${name} under the unit (${r.out.split('\n').find((l) => l.includes(name)) ?? r.out.slice(-300)})`);

  // Without CAP_SYS_ADMIN, bpftrace 0.17 cannot type tracepoint arguments.
  const noAdmin = await render(await mkdtemp(path.join(dir, 'noadmin-')), withoutCap('CAP_SYS_ADMIN'));
  const r2 = await sandboxed(noAdmin, dir, featureScript());
  t.match(r2.out, 'FEATURE fail tracepoint args', 'CAP_SYS_ADMIN is needed for tracepoint args');
  t.match(r2.out, 'FEATURE ok kfunc', 'CAP_BPF + CAP_PERFMON alone load and attach programs');

  // ustack of another user's process: symbolised with CAP_SYS_PTRACE, bare addresses without.
  const nsleep = path.join(dir, 'nsleep');
  await copyFile('/bin/sleep', nsleep);
  await chmod(dir, 0o755);
  const sleeper = execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', `while true; do ${nsleep} 0.1; done`], { reject: false });
  t.teardown(() => {
    sleeper.kill('SIGKILL');
  });
  const withPtrace = await sandboxed(unit, dir, USTACK_SCRIPT);
  t.match(withPtrace.out, /USTACK\s*\n\s*clock_nanosleep/, `ustack symbolised with CAP_SYS_PTRACE: ${withPtrace.out}`);
  const noPtrace = await render(await mkdtemp(path.join(dir, 'noptrace-')), withoutCap('CAP_SYS_PTRACE'));
  const without = await sandboxed(noPtrace, dir, USTACK_SCRIPT);
  t.match(without.out, /USTACK\s*\n\s*0x/, `bare addresses without CAP_SYS_PTRACE: ${without.out}`);
  // CAP_SYSLOG matters only when kernel.kptr_restrict=1 (checked by hand: without it ksym() and
  // kstack print addresses); the test does not change that sysctl under other tests' feet.
});

t.test('kgentd under the unit restrictions: starts, doctor, check, run, logs, stop', async (t) => {
  const reason = await sandboxReason();
  if (reason) return t.skip(reason);
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-sandbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = await render(dir);
  const socket = path.join(dir, 'run', 'kgentd.sock');
  const config = path.join(dir, 'config.json');
  // As the unit does for /run/kgent (ExecStartPre=+chgrp, mode 2750): a setgid directory gives the
  // socket its group at birth, so kgentd needs no CAP_CHOWN. `users` stands in for `kgent`.
  const group = 'users';
  const gid = Number((await execa('getent', ['group', group])).stdout.split(':')[2]);
  await mkdir(path.dirname(socket), { mode: 0o750 });
  await chown(path.dirname(socket), 0, gid);
  await chmod(path.dirname(socket), 0o2750);
  await writeFile(config, JSON.stringify({ socketGroup: group, contracts: { rebuildOnStart: false, watchPaths: [] } }));
  const daemon = execa(
    PYTHON,
    [SANDBOX, '--unit', unit, '--writable', dir, ...KEEP_CHECKOUT, '--', process.execPath, '--max-semi-space-size=8', DAEMON_JS, '--socket', socket, '--state-dir', path.join(dir, 'state')],
    {
      reject: false,
      all: true,
      buffer: false,
      // systemd starts services with a clean environment; tap's (NODE_OPTIONS, ...) must not leak in.
      extendEnv: false,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', KGENT_CONFIG: config, OLLAMA_HOST: 'http://localhost:9', LANCEDB_LOG: 'error', NODE_ENV: 'production' },
    },
  );
  let log = '';
  daemon.all?.on('data', (c: Buffer) => (log += c.toString()));
  t.teardown(async () => {
    daemon.kill('SIGTERM');
    await daemon;
  });
  const ctl = async (...args: string[]) => {
    const r = await execa(process.execPath, [CLI_JS, '--socket', socket, ...args], { reject: false, timeout: 120_000 });
    return { code: r.exitCode ?? -1, out: `${String(r.stdout)}${String(r.stderr)}` };
  };
  for (let i = 0; i < 120 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 250));
  t.ok(existsSync(socket), `socket up (daemon output: ${log.slice(-800)})`);
  if (!existsSync(socket)) return;

  const st = await stat(socket);
  t.same({ mode: (st.mode & 0o777).toString(8), uid: st.uid, gid: st.gid }, { mode: '660', uid: 0, gid }, 'socket root:<group> 0660 without CAP_CHOWN');
  const doctor = await ctl('--json', 'doctor');
  const checks = (JSON.parse(doctor.out.slice(doctor.out.indexOf('{'))) as { checks: { name: string; status: string; detail: string }[] }).checks;
  const byName = new Map(checks.map((c) => [c.name, c]));
  t.equal(byName.get('bpftrace')?.status, 'ok', 'doctor: bpftrace ok');
  t.equal(byName.get('tracefs')?.status, 'ok', 'doctor: tracefs ok (read-only is enough)');
  t.equal(byName.get('state dir')?.status ?? byName.get('state')?.status ?? 'ok', 'ok', 'doctor: state dir writable');
  t.notMatch(log, /Permission denied|EACCES|EROFS|read-only file system/i, 'no permission error in the daemon log');

  const prog = path.join(dir, 'opens.bt');
  await writeFile(prog, 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }\n');
  const check = await ctl('check', prog);
  t.equal(check.code, 0, `kernel check passes in the sandbox: ${check.out}`);

  const stackProg = path.join(dir, 'stacks.bt');
  await writeFile(stackProg, 'profile:hz:99 { @[kstack(3)] = count(); } interval:s:1 { print(@); clear(@); }\n');
  const run = await ctl('--json', 'run', stackProg, '--name', 'sandboxed-stacks');
  t.equal(run.code, 0, `run attaches: ${run.out}`);
  const id = String((JSON.parse(run.out) as { program?: { id: number }; id?: number }).program?.id ?? (JSON.parse(run.out) as { id?: number }).id);
  let logs = '';
  for (let i = 0; i < 40; i++) {
    logs = (await ctl('logs', id, '-n', '20')).out;
    if (/[a-z_]+\+\d+/.test(logs)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.match(logs, /[a-z_]+\+\d+/, `kernel stacks come out symbolised: ${logs.slice(0, 400)}`);
  const stop = await ctl('stop', id);
  t.equal(stop.code, 0, `stop works without CAP_KILL: ${stop.out}`);
});
