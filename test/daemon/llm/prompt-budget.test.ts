import t from 'tap';
import type { LlmMessage } from '../../../daemon/llm/backend.js';
import { LlmError } from '../../../daemon/llm/errors.js';
import { estimatePromptTokens, estimateTokens, fitPrompt, SHORTENED_MARKER, shortenFeedback } from '../../../daemon/llm/prompt-budget.js';

interface Ex {
  readonly id: string;
  readonly text: string;
}

const ex = (id: string, tokens: number): Ex => ({ id, text: `// ${id}\n${'word '.repeat(tokens)}` });
const fb = (first: string, lines: number): string => [first, ...Array.from({ length: lines }, (_, i) => `detail line ${i} of ${first}`)].join('\n');

const render =
  (request: string) =>
  ({ examples, feedback }: { examples: readonly Ex[]; feedback: readonly string[] }): LlmMessage[] => [
    { role: 'system', content: 'You write bpftrace programs.' },
    { role: 'user', content: `Request: ${request}\n\nExamples:\n${examples.map((e) => e.text).join('\n')}\n\nFeedback:\n${feedback.join('\n---\n')}` },
  ];

t.test('token estimate never undercounts code-like text against bytes / 3 and counts punctuation and digits', async (t) => {
  const table: [string, number][] = [
    ['', 0],
    ['hello', 2],
    ['printf("%d\\n", args->dport);', 0],
    ['0xffffffff 18446744073709551615', 0],
    ['kprobe:tcp_v4_connect { @[comm] = count(); }', 0],
    ['héllo wörld ✓', 0],
  ];
  for (const [text, exact] of table) {
    const n = estimateTokens(text);
    t.ok(n >= Math.ceil(Buffer.byteLength(text) / 3), `${JSON.stringify(text)}: ${n} >= bytes/3`);
    if (exact) t.equal(n, exact, text);
  }
  // Each digit is a token for Qwen: 20 digits are at least 20 tokens.
  t.ok(estimateTokens('18446744073709551615') >= 20);
  // Punctuation-dense code counts above bytes / 3.
  const code = 'printf("%s %d\\n", comm, args->dport);';
  t.ok(estimateTokens(code) > Math.ceil(code.length / 3));
  t.ok(estimatePromptTokens([{ role: 'user', content: '' }]) > 0, 'template overhead counted');
});

t.test('everything fits: nothing dropped, report says so', async (t) => {
  const r = fitPrompt({ examples: [ex('a', 10), ex('b', 10)], feedback: ['parse error at 1:3'] }, render('count syscalls'), { numCtx: 8192, answerTokens: 1024 });
  t.same(r.report.droppedExamples, []);
  t.equal(r.report.shortenedFeedback, 0);
  t.equal(r.report.budget, 8192 - 1024);
  t.equal(r.report.tokens, estimatePromptTokens(r.messages));
  t.same(r.examples.map((e) => e.id), ['a', 'b']);
});

t.test('examples are dropped lowest-ranked first, and only as many as needed', async (t) => {
  const examples = [ex('best', 300), ex('second', 300), ex('third', 300), ex('worst', 300)];
  const full = estimatePromptTokens(render('r')({ examples, feedback: [] }));
  const per = estimatePromptTokens(render('r')({ examples: examples.slice(0, 1), feedback: [] })) - estimatePromptTokens(render('r')({ examples: [], feedback: [] }));
  // Room for all but ~2 examples.
  const numCtx = full - 2 * per + 10 + 512;
  const r = fitPrompt({ examples, feedback: ['fb'] }, render('r'), { numCtx, answerTokens: 512 });
  t.same(r.report.droppedExamples, ['worst', 'third']);
  t.same(r.examples.map((e) => e.id), ['best', 'second']);
  t.equal(r.report.shortenedFeedback, 0, 'feedback untouched while dropping examples was enough');
  t.ok(r.report.tokens <= r.report.budget);
  t.notOk(r.messages[1]!.content.includes('// worst'));
});

t.test('then the oldest feedback is shortened to its first line and a marker', async (t) => {
  const feedback = [fb('attempt 1: parse error at 3:7', 80), fb('attempt 2: refuted assert at line 9', 80), fb('attempt 3: kernel verifier rejected', 80)];
  const base = estimatePromptTokens(render('r')({ examples: [], feedback }));
  const oneShort = estimatePromptTokens(render('r')({ examples: [], feedback: [shortenFeedback(feedback[0]!), ...feedback.slice(1)] }));
  const numCtx = oneShort + 1024 + 5; // fits after shortening only the oldest
  t.ok(base > numCtx - 1024, 'does not fit as is');
  const r = fitPrompt({ examples: [ex('e1', 50), ex('e2', 50)], feedback }, render('r'), { numCtx, answerTokens: 1024 });
  t.same(r.report.droppedExamples, ['e2', 'e1'], 'every example dropped first');
  t.equal(r.report.shortenedFeedback, 1);
  t.equal(r.feedback[0], `attempt 1: parse error at 3:7\n${SHORTENED_MARKER}`);
  t.equal(r.feedback[1], feedback[1], 'newer feedback kept whole');
  t.equal(r.feedback[2], feedback[2]);
  t.ok(r.report.tokens <= r.report.budget);
});

t.test('a prompt whose fixed parts cannot fit throws prompt-too-long naming num_ctx and the fix', async (t) => {
  const request = 'trace '.repeat(3000);
  let err: unknown;
  try {
    fitPrompt({ examples: [ex('a', 10)], feedback: [fb('old', 3)] }, render(request), { numCtx: 2048, answerTokens: 512 });
  } catch (e) {
    err = e;
  }
  t.type(err, LlmError);
  const e = err as LlmError;
  t.equal(e.kind, 'prompt-too-long');
  t.equal(e.code, 'bad-request');
  t.match(e.message, /^the request itself needs ~\d+ prompt tokens but num_ctx 2048 leaves 1536 after 512 for the answer: shorten the request or raise numCtx to \d+ in the configuration$/);
  t.same(e.data?.['droppedExamples'], ['a']);
  t.equal(e.data?.['shortenedFeedback'], 1);
});

t.test('a long first line is cut too, and a one-line message is not "shortened"', async (t) => {
  const s = shortenFeedback(`${'x'.repeat(1000)}\nmore`);
  t.ok(s.length < 400);
  t.ok(s.endsWith(SHORTENED_MARKER));
  const r = fitPrompt({ examples: [], feedback: ['one line'] }, render('r'), { numCtx: 4096, answerTokens: 512 });
  t.equal(r.report.shortenedFeedback, 0);
});
