import t from 'tap';
import { startOllamaStandin } from '../support/ollama-standin.js';
import { standinContractsModel } from './helpers/standin-model.js';
import { enrichContract, checkAnswer, buildPrompt } from '../../kernel-contracts/enrich/enricher.js';
import { deriveFunctionContract, deriveTracepointContract, type TypeInfo } from '../../kernel-contracts/contracts/derive.js';
import { parseTracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';
import { ContractsError } from '../../kernel-contracts/errors.js';
import { RECORDED_FORMATS } from './helpers/fake-kernel.js';

const int32: TypeInfo = { type: 'int', kind: 'int', bits: 32, signed: true, byteOrder: 'host', size: 4 };
const fnContract = deriveFunctionContract(
  {
    name: 'tcp_connect',
    module: 'vmlinux',
    linkage: 'global',
    variadic: false,
    params: [{ name: 'sk', type: { type: 'struct sock *', kind: 'pointer', bits: 64, signed: false, byteOrder: 'host', size: 8, pointee: 'struct sock' } }],
    ret: int32,
  },
  [{ probe: 'kprobe', available: false, reason: 'no kprobes' }],
  { doc: { summary: 'build and send a SYN', source: 'kernel-doc', returns: '0 or a negative errno' }, params: { sk: 'the socket' } },
);
const tpContract = deriveTracepointContract(parseTracepointFormat('sock', 'inet_sock_set_state', RECORDED_FORMATS['sock:inet_sock_set_state']!), [
  { probe: 'tracepoint', available: true },
]);
const memberOf = (pointee: string, p: readonly string[]) =>
  pointee === 'struct sock' && p.join('.') === '__sk_common.skc_dport' ? { bits: 16, signed: false } : undefined;

const GOOD = JSON.stringify({
  summary: 'Sends the SYN of an active open.',
  pre: [{ expr: { op: 'ne', lhs: { field: 'sk' }, rhs: 0 }, note: 'always called with a socket' }],
  post: [{ expr: { op: 'le', lhs: { ret: true }, rhs: 0 }, note: '0 or -errno' }],
});

t.test('prompt is built from the template files and names the hook values', async (t) => {
  const p = buildPrompt(fnContract, undefined);
  t.match(p.system, /Answer with ONE JSON object/);
  t.match(p.user, /Hook: function:tcp_connect/);
  t.match(p.user, /int tcp_connect\(struct sock \*sk\)/);
  t.match(p.user, /sk: struct sock \* \(pointer, 64-bit unsigned, may be NULL\) -- the socket/);
  t.match(p.user, /\(no source tree available\)/);
});

t.test('a good answer is accepted on the first attempt', async (t) => {
  const s = await startOllamaStandin({ chat: [GOOD], models: ['coder'] });
  t.teardown(() => s.close());
  const r = await enrichContract(fnContract, undefined, { llm: standinContractsModel(s.host, { chatModel: 'coder' }), model: 'coder', memberOf });
  t.equal(r.attempts, 1);
  t.same(
    r.conditions.map((c) => [c.kind, c.source]),
    [
      ['pre', 'llm'],
      ['post', 'llm'],
    ],
  );
  const req = s.chatRequests()[0]!;
  t.equal(req.model, 'coder');
  t.equal(req.format, 'json');
  t.equal(req.options?.['temperature'], 0, 'deterministic answers');
  t.equal(req.options?.['num_ctx'], 8192, "the daemon's num_ctx goes with the prompt");
  t.equal(req.messages[0]?.role, 'system');
});

t.test('malformed answers are rejected with reasons, fed back, and retried', async (t) => {
  const s = await startOllamaStandin({
    chat: [
      'Sure! Here are the conditions: sk != NULL',
      JSON.stringify({ pre: [{ expr: { op: 'ne', lhs: { field: 'skb' }, rhs: 0 } }], post: [] }),
      GOOD,
    ],
  });
  t.teardown(() => s.close());
  const rejected: string[][] = [];
  const r = await enrichContract(fnContract, undefined, {
    llm: standinContractsModel(s.host, { chatModel: 'coder' }),
    model: 'coder',
    onRejected: (_, reasons) => rejected.push([...reasons]),
  });
  t.equal(r.attempts, 3);
  t.match(rejected[0]?.[0], /not valid JSON/);
  t.match(rejected[1]?.[0], /at \$\.pre\[0\]\.expr\.lhs\.field: no argument or field "skb" on this hook \(have: sk\)/);
  const third = s.chatRequests()[2]!;
  t.equal(third.messages.length, 6, 'system, user, then (answer, rejection) twice');
  t.match(third.messages[5]?.content, /rejected and nothing was stored:\n- at \$\.pre\[0\]\.expr\.lhs\.field/);
});

t.test('bounded retries: all answers malformed -> refused, nothing returned', async (t) => {
  const bad = JSON.stringify({ pre: [{ expr: { op: 'in', lhs: { field: 'family' }, rhs: ['AF_INET'] } }], post: [] });
  const s = await startOllamaStandin({ chat: [bad, bad, bad, GOOD] });
  t.teardown(() => s.close());
  const err = await enrichContract(tpContract, undefined, { llm: standinContractsModel(s.host, { chatModel: 'coder' }), model: 'coder', maxAttempts: 3 }).catch((e: unknown) => e);
  t.ok(err instanceof ContractsError);
  t.equal((err as ContractsError).code, 'refused');
  t.match((err as ContractsError).message, /rejected after 3 answer\(s\); last reason: at \$\.pre\[0\]\.expr\.rhs\[0\]: "AF_INET" does not match/);
  t.equal(s.remaining(), 1, 'stopped after 3 attempts');
});

t.test('answer checks: tracepoints have no post, members resolve, fenced JSON accepted', async (t) => {
  const post = checkAnswer(JSON.stringify({ pre: [], post: [{ expr: { op: 'eq', lhs: { field: 'family' }, rhs: 2 } }] }), tpContract);
  t.same(post, { ok: false, reasons: ['at $.post: a tracepoint has no return: post must be []'] });
  const member = checkAnswer(JSON.stringify({ pre: [{ expr: { op: 'ne', lhs: { field: 'sk', path: ['__sk_common', 'skc_dport'] }, rhs: 0 } }], post: [] }), fnContract, memberOf);
  t.equal(member.ok, true);
  const fenced = checkAnswer('```json\n' + GOOD + '\n```', fnContract);
  t.equal(fenced.ok, true);
  const tooBig = checkAnswer(JSON.stringify({ pre: [{ expr: { op: 'in', lhs: { field: 'family' }, rhs: [2, 70000] } }], post: [] }), tpContract);
  t.match(tooBig.ok ? '' : tooBig.reasons[0], /70000 is outside the 16-bit unsigned range/);
});

t.test('an unreachable model is an operational error, not a rejection', async (t) => {
  const s = await startOllamaStandin({ chat: [], models: ['other'] });
  t.teardown(() => s.close());
  const err = await enrichContract(fnContract, undefined, { llm: standinContractsModel(s.host, { chatModel: 'coder' }), model: 'coder' }).catch((e: unknown) => e);
  t.equal((err as ContractsError).code, 'unavailable');
  t.match((err as Error).message, /model coder did not answer \(model "coder" is not pulled on the Ollama at .*: run `ollama pull coder`\)/);
});
