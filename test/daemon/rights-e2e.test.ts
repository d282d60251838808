/**
 * Who may do what, with real users and groups: a member of the socket's group calls the real
 * kgentd through the real socket (`runuser -u USER -- node dist/cli/bin.js ...`); root and a
 * member of the admin group are the admins. Users and groups are created here and removed after.
 */
import t from 'tap';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtOrReason, CLI_JS, createDaemon, eventually, type DaemonHandle } from '../support/daemon-harness.js';
import { ALLOWED_POINTER_READS, REFUSED_ADDRESS_READS } from '../support/address-cases.js';
import type { DoctorResult, ProgramInfo, RunResult, ShowResult, StatusResult } from '../../daemon/protocol/methods.js';

const tag = randomBytes(3).toString('hex');
const MEMBERS = `kgtm${tag}`;
const ADMINS = `kgta${tag}`;
const ALICE = `kgtal${tag}`; // member
const BOB = `kgtbo${tag}`; // member
const CAROL = `kgtca${tag}`; // admin group
const OUTSIDER = `kgtou${tag}`; // in neither group

/**
 * `runuser` arguments running node as `user` with a clean environment: tap hooks the spawns of
 * its tests (NODE_OPTIONS), and a test user's node may not write tap's files.
 */
const asUser = (user: string, nodeArgs: string[]): string[] => ['-u', user, '--', 'env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, ...nodeArgs];

const skip = process.getuid?.() !== 0 ? 'needs root (useradd, eBPF)' : builtOrReason();

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function uidOf(user: string): Promise<number> {
  return Number((await execa('id', ['-u', user])).stdout.trim());
}

t.test('rights, identities and limits with real users', { skip }, async (t) => {
  await sh('groupadd', [MEMBERS]);
  await sh('groupadd', [ADMINS]);
  for (const [u, g] of [[ALICE, MEMBERS], [BOB, MEMBERS], [CAROL, `${MEMBERS},${ADMINS}`], [OUTSIDER, '']] as const) {
    await sh('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', ...(g ? ['-G', g] : []), u]);
  }
  t.teardown(async () => {
    for (const u of [ALICE, BOB, CAROL, OUTSIDER]) await execa('userdel', ['-f', u], { reject: false });
    for (const g of [MEMBERS, ADMINS]) await execa('groupdel', [g], { reject: false });
  });
  const aliceUid = await uidOf(ALICE);
  const ollamaPort = 20_000 + Math.floor(Math.random() * 20_000);

  const d: DaemonHandle = await createDaemon({
    config: {
      socketGroup: MEMBERS,
      policy: { adminGroup: ADMINS, idleTimeoutMs: 3000, maxConnectionsPerUid: 16 },
    },
    env: { OLLAMA_HOST: `http://127.0.0.1:${ollamaPort}` },
  });
  t.teardown(() => d.cleanup());
  // The temp dir is 0700: let the test users reach the socket (its own mode stays 0660 root:group).
  await chmod(d.dir, 0o711);
  await d.start();

  const as = async (user: string, args: string[], timeoutMs = 60_000) => {
    const r = await execa('runuser', asUser(user, [CLI_JS, '--socket', d.socket, ...args]), { reject: false, timeout: timeoutMs });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const asJson = async <T>(user: string, args: string[]): Promise<T> => {
    const r = await as(user, ['--json', ...args]);
    if (r.exitCode !== 0) throw new Error(`${user}: kgentctl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const prog = async (name: string, text: string): Promise<string> => {
    const f = path.join(d.dir, name);
    await writeFile(f, text);
    await chmod(f, 0o644);
    return f;
  };

  const idle = await prog('idle.bt', '// interval program\ninterval:s:3600 { printf("tick\\n"); }\n');

  await t.test('identity comes from the kernel', async (t) => {
    t.match(await asJson<StatusResult>(ALICE, ['status']), { you: { user: ALICE, uid: aliceUid, role: 'member' } });
    t.match(await asJson<StatusResult>(CAROL, ['status']), { you: { user: CAROL, role: 'admin' } });
    t.match(await d.ctlJson<StatusResult>(['status']), { you: { user: 'root', uid: 0, role: 'admin' } });
  });

  await t.test('someone in neither group is refused with a line saying why', async (t) => {
    // Mode 0666 for this one check, so the outsider reaches the daemon at all.
    await chmod(d.socket, 0o666);
    const r = await as(OUTSIDER, ['status']);
    await chmod(d.socket, 0o660);
    t.not(r.exitCode, 0);
    t.match(r.stderr, new RegExp(`${OUTSIDER} \\(uid \\d+\\) is neither root nor in group ${MEMBERS}`));
  });

  let rootProgram = 0;
  let pending = 0;
  await t.test('root runs a program; its rows carry uid 0 and the name root', async (t) => {
    const run = await d.ctlJson<RunResult>(['run', idle]);
    t.equal(run.program.status, 'running', JSON.stringify(run.check.diagnostics));
    t.match(run.program, { submittedBy: 'root', submittedUid: 0, approvedBy: 'root', approvedUid: 0 });
    rootProgram = run.program.id;
    const waiting = await d.ctlJson<RunResult>(['run', '--no-approve', idle]);
    t.equal(waiting.program.status, 'pending-approval');
    pending = waiting.program.id;
  });

  await t.test('a member may not run, rebuild contracts or promote examples; others\' programs and examples are not found', async (t) => {
    const cases: [string, string[], RegExp][] = [
      ['run', ['run', idle], /may not run programs/],
      ['contracts rebuild', ['contracts', 'rebuild'], /may not rebuild kernel contracts/],
      ['examples promote', ['examples', 'promote', 'learned/0123456789abcdef'], /may not promote examples into the shared library/],
    ];
    for (const [what, args, message] of cases) {
      const r = await as(ALICE, args);
      t.equal(r.exitCode, 5, `${what}: refused (exit 5): ${r.stderr}`);
      t.match(r.stderr, message, what);
      t.match(r.stderr, new RegExp(`${ALICE} \\(uid ${aliceUid}\\) \\(member\\)`), `${what}: the message names the real caller`);
    }
    // Another user's program answers exactly like a program that does not exist (ids cannot be probed).
    for (const [what, verb, id] of [['approve', 'approve', pending], ['stop', 'stop', rootProgram], ['show', 'show', rootProgram], ['logs', 'logs', rootProgram]] as const) {
      const theirs = await as(ALICE, [verb, String(id)]);
      const none = await as(ALICE, [verb, '99999']);
      t.equal(theirs.exitCode, 4, `${what}: not found (exit 4): ${theirs.stderr}`);
      t.equal(theirs.exitCode, none.exitCode, `${what}: same exit as an unknown id`);
      t.equal(theirs.stderr.replaceAll(String(id), 'N'), none.stderr.replaceAll('99999', 'N'), `${what}: same message as an unknown id`);
    }
    // An example that is not hers (or does not exist) is not found, whatever its owner.
    const remove = await as(ALICE, ['examples', 'remove', 'learned/0123456789abcdef']);
    t.equal(remove.exitCode, 4, `examples remove: not found (exit 4): ${remove.stderr}`);
    t.match(remove.stderr, /no example "learned\/0123456789abcdef"/);
    const list = await asJson<{ programs: ProgramInfo[] }>(ALICE, ['list', '--all']);
    t.same(list.programs, [], "a member's list holds only their own programs");
    const running = await d.ctlJson<ShowResult>(['show', String(rootProgram)]);
    t.equal(running.program.status, 'running', "root's program still runs");
  });

  await t.test('an admin-group member approves and stops', async (t) => {
    const ok = await asJson<{ program: ProgramInfo }>(CAROL, ['approve', String(pending)]);
    t.match(ok.program, { status: 'running', approvedBy: CAROL, approvedUid: await uidOf(CAROL) });
    const stopped = await asJson<{ program: ProgramInfo }>(CAROL, ['stop', String(pending)]);
    t.equal(stopped.program.status, 'stopped');
  });

  await t.test('client-supplied names are gone from the protocol', async (t) => {
    const script = `
      const c = require('net').connect(process.argv[1]);
      c.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'programs.stop', params: { id: ${rootProgram}, stoppedBy: 'root (uid 0)' } }) + '\\n');
      c.on('data', (d) => { process.stdout.write(d); c.end(); });`;
    const r = await execa('runuser', asUser(ALICE, ['-e', script, d.socket]), { reject: false });
    t.match(r.stdout, /unknown field stoppedBy/);
  });

  await t.test('audit rows carry the real uid and name', async (t) => {
    const show = await d.ctlJson<ShowResult>(['show', String(rootProgram)]);
    t.match(show.audit, [{ action: 'submit', actor: 'root', actorUid: 0 }]);
    const refusals = show.audit.filter((a) => a.action === 'refuse');
    t.ok(refusals.length >= 3, 'stop, show and logs attempts are audited on the program');
    for (const a of refusals) t.match(a, { actor: ALICE, actorUid: aliceUid });
    const approved = await d.ctlJson<ShowResult>(['show', String(pending)]);
    t.match(approved.audit.find((a) => a.action === 'approve'), { actor: CAROL });
    t.match(approved.audit.find((a) => a.action === 'stop'), { actor: CAROL });
    t.match(d.output(), new RegExp(`"audit":"refuse","uid":${aliceUid},"user":"${ALICE}"`), 'refusals reach the journal');
  });

  await t.test("a member's program may not read files, run commands or read fixed addresses", async (t) => {
    const cases: [string, string, RegExp][] = [
      ['cat', 'BEGIN { cat("/etc/shadow"); exit(); }\n', /cat\(\) \(it prints the contents of a file.*not allowed by the policy for members/],
      ['system', 'BEGIN { system("id"); exit(); }\n', /system\(\) is unsafe/],
      ['raw', 'BEGIN { printf("%d\\n", *(uint64 *)0xffffffff81000000); exit(); }\n', /reads memory at an address that is not a pointer the kernel handed to the probe/],
      ['kptr', 'BEGIN { $p = 0xffffffff81000000; printf("%s\\n", str(kptr($p))); exit(); }\n', /reads memory at an address that is not a pointer the kernel handed to the probe/],
    ];
    for (const [what, source, message] of cases) {
      const f = await prog(`${what}.bt`, source);
      const r = await as(ALICE, ['check', f]);
      t.not(r.exitCode, 0, `${what}: refused`);
      t.match(r.stderr, message, what);
    }
    const shadow = await as(ALICE, ['run', await prog('shadow.bt', 'BEGIN { cat("/etc/shadow"); exit(); }\n')]);
    t.equal(shadow.exitCode, 5, 'and may not run it');
    t.match(d.output(), /"audit":"policy-refuse"/, 'policy decisions reach the journal');
  });

  await t.test('kgentd works in an empty directory of its own', async (t) => {
    const s = await d.ctlJson<StatusResult>(['status']);
    const cwd = await readlink(`/proc/${s.pid}/cwd`);
    t.equal(cwd, path.join(d.stateDir, 'cwd'));
    t.same(await readdir(cwd), [], 'empty');
    const st = await stat(cwd);
    t.equal(st.uid, 0, 'owned by root');
    t.equal(st.mode & 0o222, 0, 'writable by nobody');
  });

  await t.test("no file of the host reaches a member's program, however the include is spelled", async (t) => {
    // A root-only file named relative to /, where kgentd used to work, and relative to its state dir.
    const secretDir = await mkdtemp(path.join(tmpdir(), `kgent-secret-${tag}-`));
    t.teardown(() => rm(secretDir, { recursive: true, force: true }));
    const token = `secret_token_${tag}`;
    const secret = path.join(secretDir, 'secret.h');
    await writeFile(secret, `int ${token};\n${token} root:$6$${tag}\n`, { mode: 0o600 });
    const rel = secret.slice(1);
    const body = 'BEGIN { exit(); }\n';
    const cases: [string, string][] = [
      ['quoted relative', `#include "${rel}"\n${body}`],
      ['angled relative', `#include <${rel}>\n${body}`],
      ['computed', `#define F "${rel}"\n#include F\n${body}`],
      ['inside a struct', `struct s {\n#include "${rel}"\n};\n${body}`],
      ['spliced', `#inc\\\nlude "${rel}"\n${body}`],
      ['behind a comment', `/* x\n */ #include "${rel}"\n${body}`],
      ['__has_include', `#if __has_include("${rel}")\nstruct a { int x; };\n#endif\n${body}`],
      ['pragma dependency', `#pragma GCC dependency "${rel}"\n${body}`],
      ['include_next', `#include_next <${rel}>\n${body}`],
      ['vetted prefix climbing out', `#include <linux/../../../..${secret}>\n${body}`],
    ];
    for (const [what, source] of cases) {
      const f = await prog(`inc-${what.replace(/\W+/g, '-')}.bt`, source);
      const r = await as(ALICE, ['check', f]);
      t.not(r.exitCode, 0, `${what}: refused`);
      t.match(r.stderr, / is refused|refused: /, `${what}: one line saying why`);
      t.notMatch(r.stdout + r.stderr, new RegExp(token), `${what}: nothing of the file comes back`);
    }
    // A root-only binary: bpftrace would open it as root to read its symbols.
    await copyFile('/bin/true', path.join(secretDir, 'tool'));
    await chmod(path.join(secretDir, 'tool'), 0o755);
    const uprobe = await as(ALICE, ['check', await prog('inc-uprobe.bt', `uprobe:${path.join(secretDir, 'tool')}:main { printf("x\\n"); }\n`)]);
    t.not(uprobe.exitCode, 0, 'a uprobe on a file the member cannot read: refused');
    t.match(uprobe.stderr, /uprobe target .* is refused for members of .*: .* is not open to everyone/);
    t.match(d.output(), /"audit":"policy-refuse".*is refused/, 'the refusals are audited');
    // Root's relative include now resolves in kgentd's empty directory: not found, nothing read.
    const admin = await d.ctl(['check', await prog('inc-admin.bt', `#include "${rel}"\n${body}`)]);
    t.not(admin.exitCode, 0);
    t.match(admin.stderr, /file not found/);
    t.notMatch(admin.stdout + admin.stderr, new RegExp(token), 'not even root reads it through kgentd');
  });

  await t.test("compiler text about an included header is withheld from a member, shown to an admin", async (t) => {
    // A macro of the program breaks a vetted header: clang's errors point into /usr/include/linux/sched.h.
    const f = await prog('broken-header.bt', '#define int kgent_int\n#include <linux/sched.h>\nBEGIN { exit(); }\n');
    const member = await as(ALICE, ['check', f]);
    t.comment(`a member sees: ${member.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
    t.not(member.exitCode, 0);
    t.match(member.stderr, /\/usr\/include\/linux\/sched\.h:\d+:\d+: error: unknown type name \(in an included file; its text is in kgentd's log\)/);
    t.notMatch(member.stdout + member.stderr, /__aligned_u64/, "the header's words stay out");
    t.ok(
      d.output().split('\n').some((l) => l.includes('compiler output about an included file withheld') && l.includes("unknown type name '__aligned_u64'")),
      'the log has the full text',
    );
    const admin = await d.ctl(['check', f]);
    t.match(admin.stderr, /unknown type name '__aligned_u64'/, 'an admin sees it all');
  });

  await t.test('a member may read memory only through pointers the kernel handed to the probe', async (t) => {
    for (const [what, source] of REFUSED_ADDRESS_READS) {
      const f = await prog(`addr-${what.replace(/\W+/g, '-')}.bt`, `${source}\n`);
      const r = await as(ALICE, ['check', f]);
      t.not(r.exitCode, 0, `${what}: refused for a member`);
      t.match(r.stderr, /reads memory at an address that is not a pointer the kernel handed to the probe/, what);
    }
    for (const [what, source] of ALLOWED_POINTER_READS) {
      const f = await prog(`ptr-${what.replace(/\W+/g, '-')}.bt`, `${source}\n`);
      const r = await as(ALICE, ['check', f]);
      t.equal(r.exitCode, 0, `${what}: passes the policy and the kernel: ${r.stderr}`);
    }
    // Admins stay allowed: the indirect forms are real reads that load.
    for (const [what, source] of REFUSED_ADDRESS_READS.slice(0, 6)) {
      const f = await prog(`addr-admin-${what.replace(/\W+/g, '-')}.bt`, `${source}\n`);
      const r = await d.ctl(['check', f]);
      t.equal(r.exitCode, 0, `${what}: an admin's check loads it: ${r.stderr}`);
    }
  });

  await t.test('root always gets in while a member holds 200 connections; refusals get a line', async (t) => {
    const script = `
      const net = require('net');
      let refused = 0, open = 0, settled = 0;
      const conns = [];
      for (let i = 0; i < 200; i++) {
        const c = net.connect(process.argv[1]);
        conns.push(c);
        let got = '';
        c.on('connect', () => { open++; });
        c.on('data', (d) => { got += d; });
        c.on('close', () => { if (/policy.maxConnectionsPerUid/.test(got)) refused++; });
      }
      setTimeout(() => {
        const alive = conns.filter((c) => !c.destroyed && c.readyState === 'open').length;
        console.log(JSON.stringify({ refused, alive }));
        // keep them open for root's try
        setTimeout(() => process.exit(0), 4000);
      }, 1500);`;
    const holder = execa('runuser', asUser(ALICE, ['-e', script, d.socket]), { reject: false });
    let first = '';
    holder.stdout?.on('data', (c: Buffer) => (first += c.toString()));
    await eventually(async () => first.includes('refused'), 10_000, 'the holder to report');
    const counts = JSON.parse(first.trim().split('\n')[0]!) as { refused: number; alive: number };
    t.equal(counts.alive, 16, 'the per-uid limit holds');
    t.equal(counts.refused, 184, 'every refused connection was told why');
    const started = Date.now();
    const s = await d.ctlJson<StatusResult>(['status']);
    t.equal(s.you?.uid, 0, 'root is served');
    t.ok(Date.now() - started < 5000);
    await holder;
  });

  await t.test('idle connections are closed after policy.idleTimeoutMs with a line', async (t) => {
    const script = `
      const c = require('net').connect(process.argv[1]);
      const t0 = Date.now(); let got = '';
      c.on('data', (d) => { got += d; });
      c.on('close', () => { console.log(JSON.stringify({ ms: Date.now() - t0, got })); });`;
    const r = await execa('runuser', asUser(BOB, ['-e', script, d.socket]), { reject: false, timeout: 20_000 });
    const res = JSON.parse(r.stdout) as { ms: number; got: string };
    t.ok(res.ms >= 2500 && res.ms < 10_000, `closed after ${res.ms} ms`);
    t.match(res.got, /connection idle for 3000 ms, closed by kgentd/);
  });

  await t.test('an Ollama port held by a non-root user: doctor warns, requests refuse it', async (t) => {
    // The fake endpoint prints its pid (runuser's child's child) and exits by itself at the latest after 60 s.
    const script = `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ models: [] })); }).listen(${ollamaPort}, '127.0.0.1', () => console.log(process.pid)); setTimeout(() => process.exit(0), 60000);`;
    const fake = execa('runuser', asUser(BOB, ['-e', script]), { reject: false });
    const fakePid = await new Promise<number>((resolve) => fake.stdout?.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
    t.teardown(async () => {
      try {
        process.kill(fakePid, 'SIGKILL');
      } catch {
        // already gone
      }
      await fake;
    });
    // doctor exits 1 when a check fails (no bpftrace etc. is not the point here): read its JSON either way.
    const doc = JSON.parse((await d.ctl(['--json', 'doctor'])).stdout) as DoctorResult;
    const owner = doc.checks.find((c) => c.name === 'ollama owner');
    t.match(owner, { status: 'warn', detail: new RegExp(`held by ${BOB} \\(uid \\d+\\), pid \\d+`) });
    const req = await d.ctl(['request', 'count opens per process']);
    t.not(req.exitCode, 0);
    t.match(req.stderr, new RegExp(`port ${ollamaPort} is held by ${BOB}`));
  });

  await d.ctl(['stop', String(rootProgram)]);
});

