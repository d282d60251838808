/**
 * With real users through the real daemon and socket:
 * - ids cannot be probed: a member asking about another user's program or request gets exactly
 *   the answer of an id that does not exist (code, message, data, time); "refused" stays for what
 *   they can see but may not do;
 * - removing a member from the socket group revokes them: at their next call (refused, connection
 *   closed, programs stopped), by the periodic sweep (no call needed), and at kgentd's start before
 *   re-attaching; `policy.revokedPrograms: "flag"` leaves the program running, marked.
 */
import t from 'tap';
import { execa } from 'execa';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { builtOrReason, createDaemon, eventually, type DaemonHandle } from '../support/daemon-harness.js';
import { startOllamaStandin } from '../support/ollama-standin.js';
import { asUser, CLI_JS_ARGS, createUsers, sh, startUserClient, uidOf, userTag } from '../support/real-users.js';
import type { ProgramInfo, ShowResult } from '../../daemon/protocol/methods.js';

const tag = userTag();
const MEMBERS = `kgrm${tag}`;
const ADMINS = `kgra${tag}`;
const ALICE = `kgral${tag}`; // stays a member until the "flag" case
const BOB = `kgrbo${tag}`; // removed while connected
const CAROL = `kgrca${tag}`; // removed, never calls again
const DAVE = `kgrda${tag}`; // removed while kgentd is down

const skip = process.getuid?.() !== 0 ? 'needs root (useradd, eBPF)' : builtOrReason();
const MODELS = ['qwen2.5-coder:7b', 'nomic-embed-text'];
const COMPREHENSION = 'Return the candidate with assume/assert/cover inserted.';
const EXEC = 'tracepoint:sched:sched_process_exec { @execs[comm] = count(); }';
const EXEC_ANNOTATED = 'tracepoint:sched:sched_process_exec { @execs[comm] = count(); assert(mapkey(@execs, 0) == comm); assert(mapval(@execs) == 1); }';
const fenced = (src: string): string => `\`\`\`bpftrace\n${src}\n\`\`\`\n`;

const rpc = (id: number, method: string, params: unknown) => ({ jsonrpc: '2.0', id, method, params });

t.test('ids, revocation and re-checked membership with real users', { skip, timeout: 600_000 }, async (t) => {
  const removeUsers = await createUsers([MEMBERS, ADMINS], { [ALICE]: [MEMBERS], [BOB]: [MEMBERS], [CAROL]: [MEMBERS], [DAVE]: [MEMBERS] });
  t.teardown(removeUsers);
  // Every synthesis gets the exec counter, every comprehension its proof: each request is verified.
  const standin = await startOllamaStandin({
    models: MODELS,
    chat: (req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      return { content: fenced(last.includes(COMPREHENSION) ? EXEC_ANNOTATED : EXEC) };
    },
  });
  t.teardown(() => standin.close());
  const config = {
    socketGroup: MEMBERS,
    policy: { adminGroup: ADMINS, attachUsers: [BOB, CAROL, DAVE], membershipSweepMs: 2000, revokedPrograms: 'stop' },
  };
  const d: DaemonHandle = await createDaemon({ config, env: { OLLAMA_HOST: standin.host } });
  t.teardown(() => d.cleanup());
  await chmod(d.dir, 0o711);
  await d.start();

  const as = async (user: string, args: string[]) => {
    const r = await execa('runuser', asUser(user, [...CLI_JS_ARGS, '--socket', d.socket, ...args]), { reject: false, timeout: 180_000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  /** A request as `user` (with --attach: their program runs); its final line. */
  const request = async (user: string | 'root', attach: boolean): Promise<{ requestId: number; programId?: number; status: string }> => {
    const args = ['request', '--json', ...(attach ? ['--attach'] : []), 'count program executions per command'];
    const r = user === 'root' ? await d.ctl(args, { timeoutMs: 180_000 }) : await as(user, args);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = lines.at(-1) as { requestId: number; programId?: number; status: string } | undefined;
    if (!end) throw new Error(`${user}: request printed nothing: ${r.stderr}`);
    return end;
  };
  const program = async (id: number) => (await d.ctlJson<ShowResult>(['show', String(id)])).program;

  const rootReq = await request('root', false);
  t.equal(rootReq.status, 'verified', "root's request is verified (its program waits for approval)");
  const rootProgram = rootReq.programId!;
  const aliceReq = await request(ALICE, false);
  t.equal(aliceReq.status, 'verified');
  const aliceProgram = aliceReq.programId!;

  await t.test("another user's ids answer exactly like ids that do not exist", async (t) => {
    const unknownProgram = 99_999;
    const unknownRequest = 99_998;
    const methods: [string, (id: number) => unknown, number, number][] = [
      ['programs.show', (id) => ({ id }), rootProgram, unknownProgram],
      ['programs.stop', (id) => ({ id }), rootProgram, unknownProgram],
      ['programs.logs', (id) => ({ id }), rootProgram, unknownProgram],
      ['programs.approve', (id) => ({ id }), rootProgram, unknownProgram],
      ['request.show', (id) => ({ id }), rootReq.requestId, unknownRequest],
      ['request.hint', (id) => ({ id, hint: 'x' }), rootReq.requestId, unknownRequest],
      ['request.cancel', (id) => ({ id }), rootReq.requestId, unknownRequest],
      ['request.accept', (id) => ({ id }), rootReq.requestId, unknownRequest],
    ];
    const c = startUserClient(ALICE, d.socket);
    t.teardown(() => c.bye());
    let n = 1;
    for (const [method, params, theirs, none] of methods) {
      const a = n++;
      const b = n++;
      c.send(rpc(a, method, params(theirs)));
      c.send(rpc(b, method, params(none)));
      const [other, missing] = [await c.answer(a), await c.answer(b)];
      t.ok(other.error && missing.error, `${method}: both are errors`);
      t.equal(other.error!.code, missing.error!.code, `${method}: same code`);
      t.equal(other.error!.message.replaceAll(String(theirs), 'N'), missing.error!.message.replaceAll(String(none), 'N'), `${method}: same message`);
      t.same({ ...other.error!.data, id: 0 }, { ...missing.error!.data, id: 0 }, `${method}: same data`);
      t.match(other.error!.data, { kgentCode: 'not-found' }, method);
    }
    // The same time class: the median of 25 asks of each differs by less than a few milliseconds.
    const times = { other: [] as number[], missing: [] as number[] };
    for (let i = 0; i < 25; i++) {
      for (const [k, id] of [['other', rootProgram], ['missing', unknownProgram]] as const) {
        const m = n++;
        const t0 = performance.now();
        c.send(rpc(m, 'programs.show', { id }));
        await c.answer(m, 10_000);
        times[k].push(performance.now() - t0);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    t.ok(Math.abs(median(times.other) - median(times.missing)) < 25, `medians ${median(times.other).toFixed(1)} and ${median(times.missing).toFixed(1)} ms`);
    // What ALICE can see but may not do is still "refused": approving her own program.
    const own = await as(ALICE, ['approve', String(aliceProgram)]);
    t.equal(own.exitCode, 5, own.stderr);
    t.match(own.stderr, /may not approve programs/);
    const audit = (await d.ctlJson<ShowResult>(['show', String(rootProgram)])).audit;
    const aliceUid = await uidOf(ALICE);
    t.ok(audit.some((a) => a.action === 'refuse' && a.actorUid === aliceUid && /answered as not found/.test(a.detail ?? '')), 'the attempts are audited on the program');
  });

  // Programs of BOB, CAROL and DAVE, attached by their own requests; ALICE's approved by root.
  const progs: Record<string, number> = {};
  for (const u of [BOB, CAROL, DAVE]) {
    const r = await request(u, true);
    t.equal(r.status, 'attached', `${u}'s program runs`);
    progs[u] = r.programId!;
  }
  t.equal((await d.ctlJson<{ program: ProgramInfo }>(['approve', String(aliceProgram)])).program.status, 'running');

  await t.test('removed while connected: the next call is refused, the connection closed, the program stopped', async (t) => {
    const c = startUserClient(BOB, d.socket);
    c.send(rpc(1, 'daemon.status', {}));
    t.ok((await c.answer(1)).result, 'served while a member');
    const pid = (await program(progs[BOB]!)).pid!;
    await sh('gpasswd', ['-d', BOB, MEMBERS]);
    c.send(rpc(2, 'daemon.status', {}));
    const refused = await c.answer(2);
    t.match(refused.error, { message: new RegExp(`${BOB} \\(uid \\d+\\) is no longer in group ${MEMBERS} or ${ADMINS}: access revoked`) });
    await eventually(async () => c.answers.some((a) => a.closed), 5000, "BOB's connection to close");
    const p = await eventually(async () => {
      const x = await program(progs[BOB]!);
      return x.ownerRevoked ? x : undefined;
    }, 10_000, "BOB's program to be revoked");
    t.match(p, { status: 'stopped', ownerRevoked: 'stopped' });
    t.throws(() => process.kill(pid, 0), 'its bpftrace is gone');
    const list = await d.ctl(['list']);
    t.match(list.stdout, new RegExp(`${progs[BOB]}\\s+stopped \\(owner revoked\\)`));
    const shown = await d.ctl(['show', String(progs[BOB])]);
    t.match(shown.stdout, /status:\s+stopped \(owner revoked\)/);
    const trail = (await d.ctlJson<ShowResult>(['show', String(progs[BOB])])).audit;
    t.match(trail.find((a) => a.action === 'owner-revoked'), { actor: 'kgentd', detail: new RegExp(`owner ${BOB} \\(uid \\d+\\) is no longer in group ${MEMBERS}.*stopped`) });
    const again = await as(BOB, ['status']);
    t.not(again.exitCode, 0, 'a new connection is refused too');
    await c.bye();
  });

  await t.test('removed without calling again: the periodic sweep stops the program and closes the connection', async (t) => {
    const c = startUserClient(CAROL, d.socket);
    c.send(rpc(1, 'daemon.status', {}));
    await c.answer(1);
    await sh('gpasswd', ['-d', CAROL, MEMBERS]);
    const p = await eventually(async () => {
      const x = await program(progs[CAROL]!);
      return x.ownerRevoked ? x : undefined;
    }, 15_000, "the sweep to revoke CAROL's program");
    t.match(p, { status: 'stopped', ownerRevoked: 'stopped' });
    await eventually(async () => c.answers.some((a) => a.closed), 10_000, "CAROL's idle connection to close");
    t.ok(c.answers.some((a) => a.line && /access revoked/.test(a.line)), 'with a line saying why');
    t.equal((await program(aliceProgram)).status, 'running', "a member's program keeps running");
    await c.bye();
  });

  await t.test('removed while kgentd is down: not re-attached at start', async (t) => {
    await d.kill('SIGTERM');
    await sh('userdel', ['-f', DAVE]);
    await d.start();
    const p = await eventually(async () => {
      const x = await program(progs[DAVE]!);
      return x.ownerRevoked ? x : undefined;
    }, 15_000, "DAVE's program to be revoked at start");
    t.match(p, { status: 'stopped', ownerRevoked: 'stopped' });
    t.notOk(p.pid, 'no bpftrace for it');
    const trail = (await d.ctlJson<ShowResult>(['show', String(progs[DAVE])])).audit;
    const revokedAt = trail.findIndex((a) => a.action === 'owner-revoked');
    t.ok(revokedAt >= 0 && !trail.slice(revokedAt).some((a) => a.action === 'reattach'), 'revoked, and not re-attached after');
    await eventually(async () => (await program(aliceProgram)).status === 'running', 30_000, "ALICE's program to be re-attached");
  });

  await t.test('policy.revokedPrograms "flag": the program keeps running, marked', async (t) => {
    await d.kill('SIGTERM');
    const file = path.join(d.dir, 'config.json');
    const cfg = JSON.parse(await readFile(file, 'utf8')) as { policy: Record<string, unknown> };
    cfg.policy.revokedPrograms = 'flag';
    await writeFile(file, JSON.stringify(cfg));
    await d.start();
    await eventually(async () => (await program(aliceProgram)).status === 'running', 30_000, "ALICE's program to be re-attached");
    await sh('gpasswd', ['-d', ALICE, MEMBERS]);
    const refused = await as(ALICE, ['status']);
    t.not(refused.exitCode, 0);
    const p = await eventually(async () => {
      const x = await program(aliceProgram);
      return x.ownerRevoked ? x : undefined;
    }, 15_000, "ALICE's program to be flagged");
    t.match(p, { status: 'running', ownerRevoked: 'flagged' });
    t.match((await d.ctl(['list'])).stdout, new RegExp(`${aliceProgram}\\s+running \\(owner revoked\\)`));
    t.match((await d.ctlJson<ShowResult>(['show', String(aliceProgram)])).audit.find((a) => a.action === 'owner-revoked'), { detail: /left running/ });
    await d.ctl(['stop', String(aliceProgram)]);
  });
});
