/**
 * Cut columns in kgentctl's tables end with "…", so a reader sees that text is missing: the one
 * helper (`clip`) and the tables that cut (eval's per-case rows, `requests`, `contracts search`).
 */
import t from 'tap';
import { caseRows } from '../../cli/commands/eval-command.js';
import { requestRow } from '../../cli/commands/request-command.js';
import { renderSearch } from '../../cli/commands/contracts-command.js';
import { clip } from '../../cli/io.js';
import type { ContractsSearchResult, EvalReport, RequestInfo } from '../../daemon/protocol/index.js';

t.test('clip', async (t) => {
  const cases: [string, string, number, string][] = [
    ['short stays', 'abc', 5, 'abc'],
    ['exactly max stays', 'abcde', 5, 'abcde'],
    ['one over is cut with …', 'abcdef', 5, 'abcd…'],
    ['whitespace folds to one line first', 'a\n  b\tc', 5, 'a b c'],
    ['folded then cut', 'a\n\n\nbcdefgh', 5, 'a bc…'],
    ['no split surrogate pair', '😀😀😀😀😀😀', 3, '😀😀…'],
    ['max 1', 'abc', 1, '…'],
    ['max 0', 'abc', 0, ''],
  ];
  for (const [name, s, max, want] of cases) {
    const got = clip(s, max);
    t.equal(got, want, name);
    t.ok([...got].length <= max, `${name}: at most ${max} characters`);
  }
});

t.test('kgentctl eval cuts the reason column with …', async (t) => {
  const reason = `not proved: ${'x'.repeat(200)}\nsecond line`;
  const r = {
    items: [{ model: 'm', config: 'full', caseId: 'c', run: 1, outcome: 'fn', status: 'needs-hint', requestId: 4, attempts: 1, llmCalls: 2, requestMs: 10, llmMs: 5, reason }],
  } as unknown as EvalReport;
  const last = caseRows(r).split('\n').at(-1)!;
  t.match(last, /not proved: x+…$/, 'the cut reason ends with …');
  t.notMatch(last, /second line/);
});

t.test('kgentctl requests cuts the text column with …', async (t) => {
  const q = { id: 1, text: `count opens ${'y'.repeat(100)}`, status: 'failed', submittedBy: 'root', submittedAt: '', updatedAt: '', trials: 3, attach: false, hints: [], attempts: 1 } as RequestInfo;
  t.match(requestRow(q).at(-1)!, /^count opens y+…$/);
  t.notMatch(requestRow(q).at(-1)!, /\.\.\.$/, 'not three dots');
});

t.test('kgentctl contracts search cuts the summary with …, and only when cut', async (t) => {
  const hit = (summary: string) => ({ score: 1, id: 'tracepoint:x:y', probes: ['tracepoint:x:y'], unavailable: [], summary });
  const out = renderSearch({ hits: [hit('s'.repeat(100)), hit('short')] } as unknown as ContractsSearchResult);
  t.match(out, /s{59}…\n/);
  t.match(out, /short$/m);
  t.notMatch(out, /short…/);
});
