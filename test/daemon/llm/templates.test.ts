import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { estimatePromptTokens } from '../../../daemon/llm/prompt-budget.js';
import { argsDialect, fillPromptTemplate, llmPromptsDir, placeholders, renderPrompt } from '../../../daemon/llm/templates.js';

const synthesis = {
  bpftraceVersion: '0.17.0',
  dialect: argsDialect('v0.17.0'),
  probeTypes: 'kprobe, kretprobe, tracepoint, interval',
  request: 'print the destination port of new TCP connections',
  hooks: 'tracepoint:sock:inet_sock_set_state: dport (u16, host order), family (u16)',
  examples: '(none)',
  feedback: '(none)',
};
const comprehension = { request: 'r', program: 'BEGIN { exit(); }', bpftraceVersion: '0.17.0', dialect: argsDialect('v0.17.0'), contracts: 'c', examples: 'e', feedback: 'f' };

t.test('each template uses exactly the values its stage declares', async (t) => {
  const files = readdirSync(llmPromptsDir()).sort();
  t.same(files, ['comprehension-system.txt', 'comprehension-user.txt', 'synthesis-system.txt', 'synthesis-user.txt']);
  const used = (stage: string) =>
    new Set([...placeholders(readFileSync(path.join(llmPromptsDir(), `${stage}-system.txt`), 'utf8')), ...placeholders(readFileSync(path.join(llmPromptsDir(), `${stage}-user.txt`), 'utf8'))]);
  t.same([...used('synthesis')].sort(), Object.keys(synthesis).sort());
  t.same([...used('comprehension')].sort(), Object.keys(comprehension).sort());
});

t.test('render fills the system and user messages; nothing is left unfilled', async (t) => {
  const m = renderPrompt('synthesis', synthesis);
  t.same(m.map((x) => x.role), ['system', 'user']);
  t.match(m[0]!.content, /bpftrace 0\.17\.0/);
  t.match(m[0]!.content, /args->name/);
  t.match(m[0]!.content, /```bpftrace fenced block/);
  t.match(m[1]!.content, /Request: print the destination port/);
  for (const x of [...m, ...renderPrompt('comprehension', comprehension)]) t.notMatch(x.content, /\{\{/);
  const c = renderPrompt('comprehension', comprehension);
  for (const word of ['printed(I)', 'mapkey(@m, I)', 'mapval(@m)', 'cover(HOOK[, COND]);', 'assume(EXPR);', 'assert(EXPR);']) t.ok(c[0]!.content.includes(word), word);
  t.match(c[1]!.content, /```bpftrace\nBEGIN \{ exit\(\); \}\n```/);
});

t.test('the templates are tight: each stage costs few tokens before its values', async (t) => {
  const empty = (o: Record<string, string>) => Object.fromEntries(Object.keys(o).map((k) => [k, '']));
  const s = estimatePromptTokens(renderPrompt('synthesis', empty(synthesis) as unknown as typeof synthesis));
  const c = estimatePromptTokens(renderPrompt('comprehension', empty(comprehension) as unknown as typeof comprehension));
  t.ok(s < 600, `synthesis fixed text ~${s} tokens`);
  t.ok(c < 1000, `comprehension fixed text ~${c} tokens`);
});

t.test('a missing value is an error naming it', async (t) => {
  t.throws(() => fillPromptTemplate('synthesis-user.txt', { request: 'r' }), /synthesis-user\.txt needs values for hooks, examples, feedback/);
});

t.test('dialect by bpftrace version', async (t) => {
  t.match(argsDialect('v0.17.0'), /args->name/);
  t.match(argsDialect('0.19.1'), /args->name/);
  t.match(argsDialect('bpftrace v0.20.2'), /args\.name on/);
  t.match(argsDialect('1.0'), /args\.name on/);
});
