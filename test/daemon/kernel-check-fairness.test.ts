/**
 * Kernel checks are shared fairly, with real users through the real daemon and socket: one member
 * flooding checks on one connection gets one running and a few waiting (the rest refused at once
 * with one line), another member is served before the flooder's next check (round-robin by uid),
 * root's check takes the slot kept for admins, every check is bounded in wall time with a
 * one-line diagnostic, and a client that goes away takes its running and waiting checks with it
 * (bpftrace killed, the slots free at once).
 */
import t from 'tap';
import { execa } from 'execa';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { builtOrReason, CLI_JS, createDaemon, eventually, pidsWith, type DaemonHandle } from '../support/daemon-harness.js';
import { asUser, createUsers, PIPELINE_CLIENT, userTag } from '../support/real-users.js';
import type { CheckResult, StatusResult } from '../../daemon/protocol/methods.js';

const tag = userTag();
const MEMBERS = `kgfm${tag}`;
const ADMINS = `kgfa${tag}`;
const ALICE = `kgfal${tag}`;
const BOB = `kgfbo${tag}`;

const skip = process.getuid?.() !== 0 ? 'needs root (useradd, eBPF)' : builtOrReason();

// bpftrace 0.17 needs tens of seconds to compile 5,000 unrolled statements: every check of it
// ends at the wall-time bound (kernelCheckTimeoutMs below).
const SLOW = 'BEGIN { printf("x\\n"); unroll(100) { unroll(50) { @x = @x + 1; } } exit(); }\n';
const FAST = 'BEGIN { printf("fast\\n"); }\n';
const TIMEOUT_MS = 6000;

const checkLine = (id: number, source: string): string => JSON.stringify({ jsonrpc: '2.0', id, method: 'programs.check', params: { source } });

interface Answer {
  ms: number;
  line?: string;
  closed?: boolean;
}

t.test('kernel checks are shared fairly between real users', { skip }, async (t) => {
  const removeUsers = await createUsers([MEMBERS, ADMINS], { [ALICE]: [MEMBERS], [BOB]: [MEMBERS] });
  t.teardown(removeUsers);
  const d: DaemonHandle = await createDaemon({
    config: {
      socketGroup: MEMBERS,
      policy: { adminGroup: ADMINS },
      maxConcurrentKernelChecks: 1,
      maxRunningKernelChecksPerUid: 1,
      maxQueuedKernelChecksPerUid: 2,
      adminKernelCheckSlots: 1,
      kernelCheckTimeoutMs: TIMEOUT_MS,
    },
  });
  t.teardown(() => d.cleanup());
  await chmod(d.dir, 0o711);
  await d.start();
  const fast = path.join(d.dir, 'fast.bt');
  await writeFile(fast, FAST);
  await chmod(fast, 0o644);
  const checkDir = path.join(d.stateDir, 'checks');
  const status = async () => (await d.ctlJson<StatusResult>(['status'])).kernelChecks!;

  /** ALICE's pipelining client: `count` slow checks on one connection; answers as they come. */
  const flood = (count: number) => {
    const lines = Array.from({ length: count }, (_, i) => checkLine(i + 1, SLOW));
    const proc = execa('runuser', asUser(ALICE, ['-e', PIPELINE_CLIENT, d.socket, ...lines]), { reject: false, stdin: 'pipe' });
    const answers: Answer[] = [];
    let buf = '';
    proc.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        answers.push(JSON.parse(buf.slice(0, nl)) as Answer);
        buf = buf.slice(nl + 1);
      }
    });
    return { proc, answers, t0: Date.now() };
  };
  const parsed = (a: Answer) => JSON.parse(a.line!) as { id: number; result?: CheckResult; error?: { message: string } };

  await t.test('a flood gets 1 running + 2 waiting, the rest refused; others are served fairly', async (t) => {
    const f = flood(5);
    await eventually(async () => f.answers.length >= 2 && (await status()).queued === 2 && (await status()).running === 1, 30_000, 'the flood to be queued');
    const refused = f.answers.map(parsed).filter((a) => a.error);
    t.equal(refused.length, 2, 'two refused at once');
    for (const r of refused) t.match(r.error!.message, /already has 1 kernel check\(s\) running and 2 waiting, the limit per user \(maxRunningKernelChecksPerUid 1, maxQueuedKernelChecksPerUid 2\)/);

    // Root is an admin: the reserved slot, at once, while ALICE's check runs and two wait.
    const rootStarted = Date.now();
    const root = await d.ctlJson<CheckResult>(['check', fast]);
    const rootDone = Date.now();
    t.equal(root.ok, true, `root's check passes: ${JSON.stringify(root.diagnostics)}`);
    t.ok(rootDone - rootStarted < TIMEOUT_MS, `root was not queued behind the member (${rootDone - rootStarted} ms)`);

    // BOB asks after the flood: he runs before ALICE's second check.
    const bob = execa('runuser', asUser(BOB, [CLI_JS, '--socket', d.socket, '--json', 'check', fast]), { reject: false, timeout: 120_000 });
    const bobResult = await bob;
    const bobDone = Date.now() - f.t0;
    t.equal(bobResult.exitCode, 0, bobResult.stderr);
    await eventually(async () => f.answers.filter((a) => a.line).length >= 5, 120_000, "ALICE's three checks to end");
    const slow = f.answers.filter((a) => a.line).map((a) => ({ ms: a.ms, ...parsed(a) })).filter((a) => a.result);
    t.equal(slow.length, 3);
    t.ok(bobDone < slow[1]!.ms, `BOB (done at ${bobDone} ms) before ALICE's second check (${slow[1]!.ms} ms): round-robin by uid`);
    for (const s of slow) {
      t.equal(s.result!.ok, false);
      t.match(s.result!.diagnostics[0], { code: 'kernel.check-timeout', message: `kernel check stopped after ${TIMEOUT_MS} ms (kernelCheckTimeoutMs): bpftrace did not finish loading the program` });
      t.notMatch(s.result!.diagnostics[0]!.message, /\n/, 'one line');
    }
    f.proc.stdin?.end('bye\n');
    await f.proc;
    t.same(await status(), { running: 0, queued: 0 });
  });

  await t.test('a client that goes away takes its running and waiting checks with it', async (t) => {
    const f = flood(3);
    await eventually(async () => {
      const s = await status();
      return s.running === 1 && s.queued === 2 && (await pidsWith(`${checkDir}/kgent-check-`)).length > 0;
    }, 30_000, 'one check running (its bpftrace seen) and two waiting');
    const gone = Date.now();
    f.proc.stdin?.write('bye\n');
    await f.proc;
    const freed = await eventually(async () => {
      const s = await status();
      return s.running === 0 && s.queued === 0 && (await pidsWith(`${checkDir}/kgent-check-`)).length === 0 ? Date.now() : undefined;
    }, 10_000, 'the slots to free and bpftrace to be gone');
    t.ok(freed - gone < TIMEOUT_MS - 1000, `freed ${freed - gone} ms after the client left, not at the wall-time bound`);
    t.equal(f.answers.filter((a) => a.line).length, 0, 'nothing was answered to nobody');
    t.match(d.output(), /"code":"unavailable","msg":"kernel check cancelled: the client disconnected"/);
  });
});
