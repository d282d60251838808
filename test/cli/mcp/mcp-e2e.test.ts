/**
 * `kgentctl mcp` with a real MCP client: the SDK's client over stdio starts the real kgentctl,
 * which talks to the real kgentd (temp socket), whose LLM is the Ollama-protocol stand-in (the
 * only part that is not real). English to a proved, kernel-checked program that waits for a
 * person's approval, with progress per stage; verify proved and refuted; cancellation; logs by
 * cursor; resources; a refused approve.
 *
 * KGENT_MCP_SESSION_FILE=PATH keeps the first session's JSON-RPC lines there (the README's example).
 */
import { writeFileSync } from 'node:fs';
import t from 'tap';
import type { RequestProgress } from '../../../daemon/protocol/requests-api.js';
import { ErrorCodes } from '../../../daemon/protocol/index.js';
import { builtOrReason, createDaemon, eventually, rawExchange, type DaemonHandle } from '../../support/daemon-harness.js';
import { startMcpClient, textOf, type McpSessionHandle } from '../../support/mcp-client.js';
import { matchScript, startOllamaStandin, type StandinAnswer, type StandinChatRequest, type StandinScriptEntry } from '../../support/ollama-standin.js';

const MODELS = ['qwen2.5-coder:7b', 'nomic-embed-text'];
const SYNTHESIS = 'Write the program for the request.';
const COMPREHENSION = 'Return the candidate with assume/assert/cover inserted.';
const fenced = (src: string): string => `Here is the program.\n\n\`\`\`bpftrace\n${src.trim()}\n\`\`\`\n`;

const CANDIDATE = `tracepoint:syscalls:sys_enter_write
/comm == "nginx"/
{
  @writes[args->fd] = count();
}`;
const ANNOTATED = `tracepoint:syscalls:sys_enter_write
/comm == "nginx"/
{
  @writes[args->fd] = count();
  assert(comm == "nginx");
  assert(mapkey(@writes, 0) == args->fd);
}`;
const REFUTED = ANNOTATED.replace('assert(mapkey(@writes, 0) == args->fd);', 'assert(mapkey(@writes, 0) == args->fd + 1);');
const SLOW = 'SLOWREQUEST';
const NEEDS_HINT = 'HINTREQUEST';

const TOOLS = ['check', 'contracts_search', 'contracts_show', 'hint', 'list', 'logs', 'request', 'show', 'stop', 'verify'];

const skip = process.getuid?.() !== 0 ? 'needs root (loads eBPF programs)' : builtOrReason();

t.test('an MCP client goes from English to a proved, kernel-checked program waiting for approval', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const script: StandinScriptEntry[] = [
    { match: SLOW, response: fenced(CANDIDATE), delayMs: 120_000 },
    { match: SYNTHESIS, response: fenced(CANDIDATE) },
    { match: COMPREHENSION, response: fenced(ANNOTATED) },
  ];
  const scripted = matchScript(script);
  // The request that needs a hint: its first annotation is refuted, every later one proved.
  let hintRequestAnnotations = 0;
  const chat = (req: StandinChatRequest, i: number): StandinAnswer => {
    const last = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    if (!last.includes(NEEDS_HINT)) return scripted(req, i);
    if (last.includes(SYNTHESIS)) return fenced(CANDIDATE);
    return fenced(hintRequestAnnotations++ === 0 ? REFUTED : ANNOTATED);
  };
  const standin = await startOllamaStandin({ chat, models: MODELS });
  // The kernel contracts build in the background from the start (contracts_search and _show need them).
  const d: DaemonHandle = await createDaemon({ env: { OLLAMA_HOST: standin.host }, config: { contracts: { rebuildOnStart: true, watchPaths: [] } } });
  t.teardown(async () => {
    await d.cleanup();
    await standin.close();
  });
  await d.start();
  const s: McpSessionHandle = await startMcpClient(d.socket);
  t.teardown(() => s.close());

  t.equal(s.client.getServerVersion()?.name, 'kgent', 'initialize: the server names itself');
  t.match(s.client.getInstructions() ?? '', /waits for a person's approval/, 'and tells the agent how a session goes');
  t.match(s.stderr(), /serving on stdio for root \(uid 0, admin\); approve\/run not offered/);

  const { tools } = await s.client.listTools();
  t.same(tools.map((x) => x.name).sort(), TOOLS, 'the tools, without approve and run (mcp.adminsMayApprove is off by default)');
  for (const tool of tools) {
    t.ok((tool.description ?? '').length > 60, `${tool.name} has a description written for an agent`);
    t.equal(tool.inputSchema.type, 'object', `${tool.name} has a JSON Schema`);
  }
  t.same(tools.find((x) => x.name === 'request')?.inputSchema.required, ['text']);
  t.notOk('attach' in (tools.find((x) => x.name === 'request')?.inputSchema.properties ?? {}), 'request has no way to attach');

  // The request: progress per stage, then the verified program that waits for approval.
  const progress: { progress: number; total?: number; message?: string }[] = [];
  const r = await s.client.callTool({ name: 'request', arguments: { text: 'count write() calls made by nginx, per file descriptor' } }, undefined, {
    onprogress: (p) => progress.push(p),
    timeout: 240_000,
    resetTimeoutOnProgress: true,
  });
  const out = textOf(r);
  const sc = r.structuredContent as { requestId: string; status: string; programId: number; programStatus: string; verdict: string; next: string };
  t.notOk(r.isError, out);
  t.equal(sc.status, 'verified', `verified: ${out}`);
  t.equal(sc.programStatus, 'pending-approval', 'the program waits for approval: nothing was attached');
  t.equal(sc.verdict, 'proved');
  t.match(out, /kernel check: accepted by the kernel's eBPF verifier; nothing is attached until a person approves it/);
  t.match(out, /line \d+: assert\(mapkey\(@writes, 0\) == args->fd\): proved/, 'each assertion with its verdict');
  t.match(sc.next, new RegExp(`kgentctl approve ${sc.programId}; you cannot approve it`), 'the next step: a person approves');
  const stages = progress.map((p) => p.message ?? '');
  for (const stage of ['synthesizing', 'annotating', 'verifying', 'kernel-check']) t.ok(stages.some((m) => m.includes(`: ${stage} done`)), `progress for ${stage}`);
  t.ok(progress.every((p, i) => i === 0 || p.progress > progress[i - 1]!.progress), 'progress only grows');
  const callId = s.wire.find((w) => w.dir === 'client->server' && (w.message as { method?: string }).method === 'tools/call')!;
  const resultAt = s.wire.findIndex((w) => w.dir === 'server->client' && (w.message as { id?: unknown }).id === (callId.message as { id: unknown }).id);
  const progressAt = s.wire.findIndex((w) => (w.message as { method?: string }).method === 'notifications/progress');
  t.ok(progressAt >= 0 && progressAt < resultAt, 'progress notifications come before the result, on the wire');

  const shown = await s.client.callTool({ name: 'show', arguments: { id: sc.programId } });
  t.match(textOf(shown), new RegExp(`^${sc.programId} pending-approval, proved \\(${sc.requestId}\\)`), 'show: the program and how it was verified');
  const shownRequest = await s.client.callTool({ name: 'show', arguments: { id: sc.requestId } });
  t.match(textOf(shownRequest), new RegExp(`request ${sc.requestId}: verified; program ${sc.programId}`));
  if (process.env.KGENT_MCP_SESSION_FILE) writeFileSync(process.env.KGENT_MCP_SESSION_FILE, s.wire.map((w) => JSON.stringify({ dir: w.dir, ...w.message })).join('\n') + '\n');

  await t.test('a refused approve says why in one line, and the program still waits', async (t) => {
    const a = await s.client.callTool({ name: 'approve', arguments: { id: sc.programId } });
    t.equal(a.isError, true);
    t.match(textOf(a), /^approve and run are not offered to agents on this host \(kgentd's config key mcp\.adminsMayApprove is off\); a person approves programs at a terminal: kgentctl approve ID/);
    t.notMatch(textOf(a), /\n/, 'one line');
    const again = await s.client.callTool({ name: 'show', arguments: { id: sc.programId } });
    t.match(textOf(again), /pending-approval/);
  });

  await t.test('verify: proved and refuted, with the counterexample', async (t) => {
    const proved = await s.client.callTool({ name: 'verify', arguments: { program: ANNOTATED } });
    t.equal((proved.structuredContent as { verdict: string }).verdict, 'proved', textOf(proved));
    t.match(textOf(proved), /contracts: kernel \S+ via kgentd/);
    const refuted = await s.client.callTool({ name: 'verify', arguments: { program: REFUTED } });
    t.equal((refuted.structuredContent as { verdict: string }).verdict, 'refuted');
    t.match(textOf(refuted), /line 6: assert\(mapkey\(@writes, 0\) == args->fd \+ 1\): refuted; counterexample: /);
  });

  await t.test('check, list, contracts, the probes resource', async (t) => {
    const ok = await s.client.callTool({ name: 'check', arguments: { program: CANDIDATE } });
    t.match(textOf(ok), /^accepted by the kernel's eBPF verifier/);
    const bad = await s.client.callTool({ name: 'check', arguments: { program: 'tracepoint:syscalls:sys_enter_write { printf("%d\\n", args->nosuchfield); }' } });
    t.equal((bad.structuredContent as { ok: boolean }).ok, false);
    for (const id of ['abc', 'R0', '0']) {
      const bad = await s.client.callTool({ name: 'show', arguments: { id } });
      t.equal(bad.isError, true, `show ${id}: refused`);
      t.match(textOf(bad), new RegExp(`^show failed: "${id}" is neither a program id`), `show ${id}: says what an id looks like`);
    }
    const list = await s.client.callTool({ name: 'list', arguments: {} });
    t.match(textOf(list), new RegExp(`^${sc.programId} pending-approval`, 'm'));
    await eventually(async () => (await d.ctlJson<{ state: string }>(['contracts', 'status'])).state === 'ready', 180_000, 'the kernel contracts built');
    const found = await s.client.callTool({ name: 'contracts_search', arguments: { text: 'write system call', kind: 'tracepoint', k: 20 } });
    t.match(textOf(found), /^tracepoint:syscalls:sys_enter_write \[/m, 'contracts_search finds the write tracepoint');
    const shownHook = await s.client.callTool({ name: 'contracts_show', arguments: { hook: 'tracepoint:syscalls:sys_enter_write' } });
    t.notOk(shownHook.isError, textOf(shownHook));
    t.match(textOf(shownHook), /"name": "fd"/, 'the fields of the tracepoint');
    const badHook = await s.client.callTool({ name: 'contracts_show', arguments: { hook: 'not a hook!' } });
    t.equal(badHook.isError, true);
    t.match(textOf(badHook), /^contracts_show refused by kgentd: .*is not a hook name/);
    const probes = await s.client.readResource({ uri: 'kgent://kernel/probes' });
    const body = JSON.parse((probes.contents[0] as { text: string }).text) as { probeTypes: { probe: string; available: boolean }[] };
    t.ok(body.probeTypes.find((p) => p.probe === 'tracepoint')?.available, 'tracepoints are available here');
  });

  await t.test('logs by cursor, and the output resource, of a running program', async (t) => {
    const run = await d.ctlJson<{ program: { id: number } }>(['run', '--name', 'ticks', await writeProgram(d, 'interval:ms:200 { printf("tick\\n"); }\n')]);
    const id = run.program.id;
    t.teardown(() => d.ctl(['stop', String(id)]));
    await eventually(async () => (textOf(await s.client.callTool({ name: 'logs', arguments: { id, tail: 5 } })).match(/tick/g) ?? []).length >= 2, 20_000, 'two ticks');
    const first = await s.client.callTool({ name: 'logs', arguments: { id, tail: 2 } });
    const cursor = (first.structuredContent as { cursor: string }).cursor;
    t.match(cursor, /^\d+:\d+$/);
    await new Promise((r) => setTimeout(r, 700));
    const next = await s.client.callTool({ name: 'logs', arguments: { id, after: cursor, tail: 100 } });
    const n = next.structuredContent as { entries: { time: string }[]; cursor: string };
    const firstTimes = (first.structuredContent as { entries: { time: string }[] }).entries.map((e) => e.time);
    t.ok(n.entries.length >= 2, `new entries since the cursor (${n.entries.length})`);
    t.ok(n.entries.every((e) => !firstTimes.includes(e.time) && e.time > firstTimes.at(-1)!), 'only entries written after the cursor');
    // A cursor is checked at kgentd's socket too: not a path, not anything but <inode>:<offset>.
    for (const after of ['../../etc/passwd', '1:2:3', '-1:0']) {
      const [bad] = await rawExchange(d.socket, `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'programs.logs', params: { id, after } })}\n`, 1);
      t.match(bad, { error: { code: ErrorCodes.InvalidParams, message: /a cursor from an earlier programs\.logs answer/ } }, `cursor ${after} refused`);
    }
    const resources = await s.client.listResources();
    t.ok(resources.resources.some((x) => x.uri === `kgent://programs/${id}/output`), 'the output resource is listed');
    const output = await s.client.readResource({ uri: `kgent://programs/${id}/output` });
    t.match((output.contents[0] as { text: string }).text, /tick/);
    const stop = await s.client.callTool({ name: 'stop', arguments: { id } });
    t.match(textOf(stop), new RegExp(`^program ${id} stopped`));
    const missing = await s.client.callTool({ name: 'logs', arguments: { id: 999_999 } });
    t.equal(missing.isError, true);
    t.match(textOf(missing), /^logs refused by kgentd: .*; call list to see the ids you may use$/);
  });

  await t.test('a request that needs a hint, continued with the hint tool', async (t) => {
    const first = await s.client.callTool({ name: 'request', arguments: { text: `count writes by nginx per fd ${NEEDS_HINT}`, trials: 1 } }, undefined, { timeout: 120_000 });
    const a = first.structuredContent as { requestId: string; status: string; verdict: string; next: string };
    t.equal(a.status, 'needs-hint', textOf(first));
    t.equal(a.verdict, 'refuted');
    t.match(textOf(first), /last candidate \(NOT verified\)/);
    t.match(textOf(first), /assert\(mapkey\(@writes, 0\) == args->fd \+ 1\): refuted; counterexample: /, 'the counterexample, for the agent to reason on');
    t.match(a.next, new RegExp(`call the hint tool with request_id "${a.requestId}"`));
    const progress: unknown[] = [];
    const second = await s.client.callTool({ name: 'hint', arguments: { request_id: a.requestId, hint: 'the key is the file descriptor itself' } }, undefined, { timeout: 120_000, onprogress: (p) => progress.push(p) });
    const b = second.structuredContent as { requestId: string; status: string; programStatus: string };
    t.equal(b.requestId, a.requestId, 'the same request');
    t.equal(b.status, 'verified', textOf(second));
    t.equal(b.programStatus, 'pending-approval', 'and again it waits for a person');
    t.ok(progress.length > 4, `hint streams progress too (${progress.length})`);
  });

  await t.test('cancelling a request cancels it in kgentd', async (t) => {
    const ac = new AbortController();
    const seen: RequestProgress[] = [];
    const call = s.client.callTool({ name: 'request', arguments: { text: `count reads ${SLOW}` } }, undefined, {
      signal: ac.signal,
      timeout: 120_000,
      onprogress: (p) => {
        seen.push(p as unknown as RequestProgress);
        if ((p.message ?? '').includes('synthesizing started')) ac.abort('the user changed their mind');
      },
    });
    await t.rejects(call, /changed their mind|abort/i, 'the client gives up on the call');
    const id = /R(\d+)/.exec(String((seen[0] as unknown as { message: string }).message))?.[1];
    t.ok(id, 'the request id was in the progress');
    await eventually(async () => /request R\d+: cancelled/.test(textOf(await s.client.callTool({ name: 'show', arguments: { id: `R${id}` } }))), 20_000, 'the request cancelled in kgentd');
    t.pass(`R${id} is cancelled in kgentd`);
  });
});

async function writeProgram(d: DaemonHandle, text: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const f = `${d.dir}/p-${Date.now()}.bt`;
  await writeFile(f, text);
  return f;
}
