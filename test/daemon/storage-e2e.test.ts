/**
 * Members cannot fill the disk, with real users through the real kgentd and socket: a member's
 * requests whose LLM answers are 325 KB programs keep a bounded number of bytes, a member at the
 * storage quota is refused before any work with one line naming the way out, `kgentctl requests
 * prune` frees it, and a member may not delete another's request. A second daemon writes its own
 * log file past `log.maxBytes` and rotates it. Users and groups are created here and removed after.
 */
import t from 'tap';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { builtOrReason, CLI_JS, createDaemon, eventually } from '../support/daemon-harness.js';
import { startOllamaStandin } from '../support/ollama-standin.js';
import type { RequestsDeleteResult, StorageUsageInfo } from '../../daemon/protocol/requests-api.js';

const tag = randomBytes(3).toString('hex');
const MEMBERS = `kgsm${tag}`;
const ALICE = `kgsal${tag}`;
const BOB = `kgsbo${tag}`;

const asUser = (user: string, nodeArgs: string[]): string[] => ['-u', user, '--', 'env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, ...nodeArgs];
const skip = process.getuid?.() !== 0 ? 'needs root (useradd)' : builtOrReason();

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const BIG = `\`\`\`bpftrace\n${'tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }\n'.repeat(5200)}\`\`\`\n`;

t.test('a member cannot fill the disk with requests', { skip, timeout: 300_000 }, async (t) => {
  await sh('groupadd', [MEMBERS]);
  for (const u of [ALICE, BOB]) await sh('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', '-G', MEMBERS, u]);
  t.teardown(async () => {
    for (const u of [ALICE, BOB]) await execa('userdel', ['-f', u], { reject: false });
    await execa('groupdel', [MEMBERS], { reject: false });
  });
  const aliceUid = Number((await execa('id', ['-u', ALICE])).stdout.trim());
  const standin = await startOllamaStandin({ chat: () => BIG, models: ['qwen2.5-coder:7b', 'nomic-embed-text'] });
  t.teardown(() => standin.close());
  const d = await createDaemon({
    config: {
      socketGroup: MEMBERS,
      policy: { adminGroup: `${MEMBERS}a` },
      numCtx: 400_000,
      llmAnswerTokens: 8192,
      trials: 2,
      storage: { maxFieldBytes: 32 * 1024, maxRequestBytes: 256 * 1024, memberQuotaRequests: 2, memberQuotaBytes: 1024 * 1024 },
    },
    env: { OLLAMA_HOST: standin.host },
  });
  t.teardown(() => d.cleanup());
  await chmod(d.dir, 0o711);
  await d.start();
  const as = async (user: string, args: string[]) => {
    const r = await execa('runuser', asUser(user, [CLI_JS, '--socket', d.socket, ...args]), { reject: false, timeout: 120_000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const usage = async (user: string): Promise<StorageUsageInfo> => (JSON.parse((await as(user, ['--json', 'requests'])).stdout) as { usage: StorageUsageInfo }).usage;

  const logBefore = Buffer.byteLength(d.output());
  for (let i = 0; i < 2; i++) {
    const r = await as(ALICE, ['request', '--json', `count opens per process ${i}`]);
    t.match(r.stdout, /"status":"needs-hint"/, `request ${i} ran and was refused by the loop: ${r.stderr}`);
  }
  const logGrowth = (Buffer.byteLength(d.output()) - logBefore) / 2;
  const u = await usage(ALICE);
  t.match(u, { uid: aliceUid, requests: 2, quotaRequests: 2 });
  t.ok(u.bytes / 2 <= 256 * 1024 + 2 * 11 * 512 + 64 * 1024, `${Math.round(u.bytes / 2 / 1024)} KB stored per request of 325 KB answers`);
  t.ok(logGrowth < 16 * 1024, `${Math.round(logGrowth / 1024)} KB of log per request`);
  t.notOk(d.output().includes('sys_enter_openat { @opens[comm] = count(); }\ntracepoint'.repeat(3)), 'the program is not repeated in the log');

  await t.test('at the quota: refused before any work, with one line saying how to free it', async (t) => {
    const chats = standin.chatRequests().length;
    const r = await as(ALICE, ['request', 'count opens again']);
    t.equal(r.exitCode, 5, r.stderr);
    t.match(r.stderr, new RegExp(`storage quota exceeded for uid ${aliceUid}: 2 of 2 requests stored; delete old requests with kgentctl requests prune`));
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(standin.chatRequests().length, chats, 'no LLM call was made');
    t.equal((await usage(ALICE)).requests, 2, 'nothing was stored');
    const hint = await as(ALICE, ['hint', 'R1', 'use the tracepoint']);
    t.match(hint.stderr, /storage quota exceeded/, 'a hint is refused too');
    const bob = await as(BOB, ['request', '--json', 'count opens for bob']);
    t.match(bob.stdout, /"status":"needs-hint"/, "another member's quota is their own");
  });

  await t.test("a member may not delete another's request; prune frees their own", async (t) => {
    const bobs = (JSON.parse((await as(BOB, ['--json', 'requests'])).stdout) as { requests: { id: number }[] }).requests[0]!.id;
    const refused = await as(ALICE, ['requests', 'delete', `R${bobs}`]);
    // Another user's request is answered exactly like one that does not exist.
    t.equal(refused.exitCode, 4);
    t.match(refused.stderr, new RegExp(`no request R${bobs} \\(kgentctl requests lists them\\)`));
    const allRefused = await as(ALICE, ['requests', 'prune', '--all']);
    t.equal(allRefused.exitCode, 5, 'pruning everyone is for admins');
    const pruned = JSON.parse((await as(ALICE, ['--json', 'requests', 'prune', '--keep', '1'])).stdout) as RequestsDeleteResult;
    t.equal(pruned.deleted.length, 1);
    t.ok(pruned.freedBytes > 0);
    t.equal(pruned.usage.requests, 1);
    const again = await as(ALICE, ['request', '--json', 'count opens after prune']);
    t.match(again.stdout, /"status":"needs-hint"/, 'room again after the prune');
    const human = await as(ALICE, ['requests']);
    t.match(human.stdout, new RegExp(`your stored requests \\(uid ${aliceUid}\\): 2 requests, .* \\(quota 2 requests, 1.0 MB\\)`));
    const root = await d.ctlJson<RequestsDeleteResult>(['requests', 'delete', `R${bobs}`]);
    t.same(root.deleted, [bobs], 'an admin deletes anyone\'s');
  });
});

t.test("kgentd rotates its own log file at log.maxBytes", { skip: builtOrReason(), timeout: 120_000 }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  const logFile = path.join(d.dir, 'kgentd.log');
  await writeFile(path.join(d.dir, 'config.json'), JSON.stringify({ contracts: { rebuildOnStart: false, watchPaths: [] }, log: { file: logFile, maxBytes: 64 * 1024, keep: 2 } }));
  await d.start();
  // Each call logs a debug line ("request done"): 2000 calls write ~300 KB.
  await new Promise<void>((resolve, reject) => {
    const c = net.connect(d.socket);
    let got = 0;
    let buf = '';
    c.on('connect', () => {
      for (let i = 1; i <= 2000; i++) c.write(`${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'daemon.status', params: {} })}\n`);
    });
    c.on('data', (x) => {
      buf += x.toString();
      got += buf.split('\n').length - 1;
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
      if (got >= 2000) {
        c.end();
        resolve();
      }
    });
    c.on('error', reject);
  });
  await eventually(async () => readdirSync(d.dir).includes('kgentd.log.2'), 10_000, 'two rotations');
  const files = readdirSync(d.dir).filter((f) => f.startsWith('kgentd.log')).sort();
  t.same(files, ['kgentd.log', 'kgentd.log.1', 'kgentd.log.2'], 'current + keep files, no more');
  for (const f of files) t.ok(statSync(path.join(d.dir, f)).size <= 64 * 1024, `${f} within log.maxBytes`);
  t.notMatch(d.output(), /request done/, 'nothing on stdout: the file has it');
});
