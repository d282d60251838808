/**
 * The parts of `kgentctl mcp` that need no daemon: MCP progress values from kgentd's progress
 * events (they must only grow, whatever the events), the next step an agent is told, and refusals
 * in one line. The whole server is tested with a real client in mcp-e2e and mcp-rights-e2e.
 */
import t from 'tap';
import { ErrorCodes, type RequestProgress, type RequestResult } from '../../../daemon/protocol/index.js';
import { RpcError } from '../../../cli/client.js';
import { CliError, ExitCode } from '../../../cli/exit-codes.js';
import { agentNext } from '../../../cli/mcp/agent-text.js';
import { ProgressCounter, progressMessage } from '../../../cli/mcp/progress.js';
import { refusal } from '../../../cli/mcp/refusal.js';

const ev = (attempt: number, stage: RequestProgress['stage'], phase: RequestProgress['phase'], extra: Partial<RequestProgress> = {}): RequestProgress => ({ requestId: 4, attempt, trials: 2, stage, phase, ...extra });

t.test('progress only grows: stages, token counts, feedback, a hint round past the trials, done', async (t) => {
  const c = new ProgressCounter();
  const events = [
    ev(1, 'retrieving', 'start'),
    ev(1, 'retrieving', 'end', { ms: 30 }),
    ev(1, 'synthesizing', 'start'),
    ev(1, 'synthesizing', 'info', { tokens: 10 }),
    ev(1, 'synthesizing', 'info', { tokens: 20 }),
    ev(1, 'synthesizing', 'end', { ms: 900, tokens: 40 }),
    ev(1, 'verifying', 'end', { ms: 5 }),
    ev(1, 'feedback', 'info', { message: 'assert refuted\nsecond line' }),
    ev(2, 'retrieving', 'start'),
    ev(2, 'kernel-check', 'end', { ms: 800 }),
    // a hint round: attempts go on past the trials, and a late event of an earlier stage
    ev(3, 'synthesizing', 'start'),
    ev(3, 'retrieving', 'end'),
    ev(0, 'done', 'end', { message: 'verified' }),
  ];
  let last = 0;
  for (const e of events) {
    const p = c.next(e);
    t.ok(p.progress > last, `${p.message}: ${p.progress} > ${last}`);
    t.ok(p.total >= p.progress, `total ${p.total} >= progress ${p.progress}`);
    last = p.progress;
  }
});

t.test('progress messages, one line each', async (t) => {
  const cases: [RequestProgress, string][] = [
    [ev(1, 'verifying', 'start'), 'R4 attempt 1/2: verifying started'],
    [ev(1, 'verifying', 'end', { ms: 412.4 }), 'R4 attempt 1/2: verifying done (412 ms)'],
    [ev(1, 'annotating', 'end', { stopped: true }), 'R4 attempt 1/2: annotating stopped'],
    [ev(1, 'synthesizing', 'info', { tokens: 120 }), 'R4 attempt 1/2: synthesizing 120 tokens'],
    [ev(1, 'feedback', 'info', { message: 'refuted: x\ncounterexample' }), 'R4 attempt 1/2: feedback refuted: x'],
    [ev(0, 'done', 'end', { message: 'verified' }), 'R4 ended: verified'],
  ];
  for (const [e, want] of cases) t.equal(progressMessage(e), want);
});

const result = (status: RequestResult['request']['status'], program?: { id: number; status: string }): RequestResult =>
  ({
    request: { id: 9, text: 'x', status, submittedBy: 'alice', submittedAt: '', updatedAt: '', trials: 3, attach: false, hints: [], attempts: 1 },
    ...(program ? { programInfo: program } : {}),
    next: 'for people',
  }) as unknown as RequestResult;

t.test('the next step an agent is told', async (t) => {
  const cases: [string, RequestResult, boolean, RegExp][] = [
    ['verified, member agent', result('verified', { id: 5, status: 'pending-approval' }), false, /^program 5 waits for a person's approval: .*kgentctl approve 5; you cannot approve it/],
    ['verified, approve offered', result('verified', { id: 5, status: 'pending-approval' }), true, /approve it with the approve tool only if the user asked you to/],
    ['needs a hint', result('needs-hint'), false, /call the hint tool with request_id "R9"/],
    ['cancelled', result('cancelled'), false, /R9 was cancelled/],
    ['failed', result('failed'), false, /R9 failed/],
  ];
  for (const [what, r, may, want] of cases) t.match(agentNext(r, may), want, what);
});

t.test('a refusal is one line with what to do', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['not found', new RpcError(ErrorCodes.NotFound, 'program 7 not found'), /^stop refused by kgentd: program 7 not found; call list to see the ids you may use$/],
    ['refused, several lines', new RpcError(ErrorCodes.Refused, 'alice may not stop program 3\nit belongs to bob'), /^stop refused by kgentd: alice may not stop program 3; it belongs to bob$/],
    [
      'no LLM, with library programs',
      new RpcError(ErrorCodes.Unavailable, 'no LLM answers at http://127.0.0.1:11434', { library: [{ id: 'tcp-connect', prompt: '', program: '' }] }),
      /^stop refused by kgentd: no LLM answers at .*; the closest verified programs of the library \(tcp-connect\) are in structuredContent\.library/,
    ],
    ['kgentd unreachable', new CliError(ExitCode.Unreachable, 'kgentd is not running (no socket at /x)'), /^stop failed: kgentd is not running/],
    ['unexpected', new TypeError('boom'), /^stop failed unexpectedly: boom; kgentd's journal/],
  ];
  for (const [what, err, want] of cases) {
    const r = refusal('stop', err);
    t.equal(r.isError, true, what);
    t.match(r.content[0]!.text, want, what);
    t.notMatch(r.content[0]!.text, /\n/, `${what}: one line`);
  }
});
