/**
 * `kgentctl mcp` as real users: the MCP server runs as the user who starts it (`runuser`), and
 * kgentd identifies that user by the socket's peer credentials, so a member's agent has a
 * member's rights and an admin's agent an admin's. With `mcp.adminsMayApprove` on, an admin's
 * agent is offered approve and a member's is not; kgentd's own checks still decide each call.
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { RunResult } from '../../../daemon/protocol/methods.js';
import { builtOrReason, createDaemon, type DaemonHandle } from '../../support/daemon-harness.js';
import { startMcpClient, textOf, type McpSessionHandle } from '../../support/mcp-client.js';
import { asUser, createUsers, userTag } from '../../support/real-users.js';

const tag = userTag();
const MEMBERS = `kgmm${tag}`;
const ADMINS = `kgma${tag}`;
const ALICE = `kgmal${tag}`; // member
const CAROL = `kgmca${tag}`; // admin

const skip = process.getuid?.() !== 0 ? 'needs root (useradd, eBPF)' : builtOrReason();

t.test('a member and an admin through MCP, with mcp.adminsMayApprove on', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  const removeUsers = await createUsers([MEMBERS, ADMINS], { [ALICE]: [MEMBERS], [CAROL]: [MEMBERS, ADMINS] });
  t.teardown(removeUsers);
  const d: DaemonHandle = await createDaemon({ config: { socketGroup: MEMBERS, policy: { adminGroup: ADMINS }, mcp: { adminsMayApprove: true } } });
  t.teardown(() => d.cleanup());
  await chmod(d.dir, 0o711);
  await d.start();
  const as = (user: string) => (nodeArgs: string[]) => ({ command: 'runuser', args: asUser(user, nodeArgs) });
  const alice: McpSessionHandle = await startMcpClient(d.socket, { runAs: as(ALICE) });
  t.teardown(() => alice.close());
  const carol: McpSessionHandle = await startMcpClient(d.socket, { runAs: as(CAROL) });
  t.teardown(() => carol.close());

  // Root's program waits for approval.
  const file = path.join(d.dir, 'idle.bt');
  await writeFile(file, 'interval:s:3600 { printf("tick\\n"); }\n');
  const pending = (await d.ctlJson<RunResult>(['run', '--no-approve', file])).program.id;

  const names = async (s: McpSessionHandle): Promise<string[]> => (await s.client.listTools()).tools.map((x) => x.name);
  t.notOk((await names(alice)).includes('approve'), "a member's agent is not offered approve");
  t.ok((await names(carol)).includes('approve') && (await names(carol)).includes('run'), "an admin's agent is offered approve and run");
  t.match(alice.stderr(), new RegExp(`serving on stdio for ${ALICE} \\(uid \\d+, member\\); approve/run not offered`));

  const refused = await alice.client.callTool({ name: 'approve', arguments: { id: pending } });
  t.equal(refused.isError, true);
  t.match(textOf(refused), new RegExp(`^approve and run are offered to agents of kgent admins only, and ${ALICE} is a member; a person approves programs at a terminal: kgentctl approve ID`));
  t.equal((await d.ctlJson<{ program: { status: string } }>(['show', String(pending)])).program.status, 'pending-approval', 'still waiting');

  // The member sees only their own programs, and may not stop root's: kgentd says so.
  t.notMatch(textOf(await alice.client.callTool({ name: 'list', arguments: {} })), new RegExp(`^${pending} `, 'm'), "root's program is not in the member's list");
  const stop = await alice.client.callTool({ name: 'stop', arguments: { id: pending } });
  t.equal(stop.isError, true);
  t.match(textOf(stop), /^stop refused by kgentd: /);
  t.notMatch(textOf(stop), /\n/, 'in one line');

  const approved = await carol.client.callTool({ name: 'approve', arguments: { id: pending } });
  t.notOk(approved.isError, textOf(approved));
  t.match(textOf(approved), new RegExp(`^program ${pending} approved and running`));
  const show = await d.ctlJson<{ program: { approvedBy: string } ; audit: { action: string; actor: string }[] }>(['show', String(pending)]);
  t.equal(show.program.approvedBy, CAROL, 'the audit trail names the admin whose agent approved it');
  t.match(textOf(await carol.client.callTool({ name: 'stop', arguments: { id: pending } })), new RegExp(`^program ${pending} stopped`), 'an admin may stop it');
});

t.test('root with the default configuration is not offered approve either', { skip: skip ?? false, timeout: 60_000 }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const s = await startMcpClient(d.socket);
  t.teardown(() => s.close());
  t.notOk((await s.client.listTools()).tools.some((x) => x.name === 'approve' || x.name === 'run'));
  const r = await s.client.callTool({ name: 'run', arguments: { program: 'BEGIN { exit(); }' } });
  t.equal(r.isError, true);
  t.match(textOf(r), /mcp\.adminsMayApprove is off/);
});

t.test('kgentd not running: the server still starts, and each call says how to start kgentd', { skip: builtOrReason() ?? false, timeout: 60_000 }, async (t) => {
  const s = await startMcpClient('/nonexistent/kgentd.sock');
  t.teardown(() => s.close());
  t.match(s.stderr(), /kgentd is not reachable yet/);
  const r = await s.client.callTool({ name: 'list', arguments: {} });
  t.equal(r.isError, true);
  t.match(textOf(r), /^list failed: kgentd is not running \(no socket at \/nonexistent\/kgentd\.sock\); start a kgentd on it/);
});
