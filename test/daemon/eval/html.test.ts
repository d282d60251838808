/**
 * The evaluation page: the paper's Figure 6 (A / FP / FN per configuration, grouped by model, with
 * axes and values) and the per-case table, static and escaped. Checked twice: on the text kgentd
 * writes, and as a real headless browser (chromium-headless-shell) builds and draws
 * it: the DOM it parsed and the pixels of a screenshot.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { renderHtml } from '../../../daemon/eval/html.js';
import { summarize } from '../../../daemon/eval/runner.js';
import { EVAL_CONFIGS, type EvalItem, type EvalParams, type EvalReport } from '../../../daemon/protocol/eval-api.js';
import { dumpDom, headlessBrowserOrReason, screenshot } from '../../support/headless-browser.js';
import { decodePng } from '../../support/png.js';

/** Text a hostile prompt, program or LLM answer could hold: it must stay text. */
const HOSTILE = `</pre></td></tr></table><script>alert(1)</script><img src=x onerror="alert(2)"> & &amp; <b>bold</b> ' " ]]> <!--`;
const HOSTILE_PROGRAM = `tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filename)); } // ${HOSTILE}\nEND { if (1 < 2 && 3 > 2) { exit(); } }`;

function item(model: string, config: EvalItem['config'], caseId: string, outcome: EvalItem['outcome'], requestId: number, extra: Partial<EvalItem> = {}): EvalItem {
  return {
    model,
    config,
    caseId,
    run: 1,
    outcome,
    status: outcome === 'fn' ? 'needs-hint' : 'verified',
    requestId,
    attempts: outcome === 'fn' ? 2 : 1,
    attemptLog:
      outcome === 'fn'
        ? [
            { n: 1, outcome: 'refuted', feedback: [`symbolic: assert may fail ${HOSTILE}`] },
            { n: 2, outcome: 'kernel-rejected', feedback: ['kernel: Unknown identifier'] },
          ]
        : [{ n: 1, outcome: 'verified', feedback: [] }],
    llmCalls: 2,
    requestMs: 1234 + requestId,
    llmMs: 1000,
    ...(outcome === 'correct' ? { program: 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }' } : {}),
    ...(outcome === 'fp' ? { program: HOSTILE_PROGRAM, reason: `oracle: output did not match /x/ ${HOSTILE}` } : {}),
    ...(outcome === 'fn' ? { reason: `not proved: ${HOSTILE}`, program: HOSTILE_PROGRAM } : {}),
    ...extra,
  };
}

function report(trials: number, models: string[], items: EvalItem[], configs = [...EVAL_CONFIGS]): EvalReport {
  const params: EvalParams = { models, configs, trials, runs: 1 };
  const cases = [...new Set(items.map((i) => i.caseId))].map((id) => ({ id, prompt: `Trace ${id} ${HOSTILE}` }));
  return {
    id: 'E20261205-120000',
    startedAt: '2026-12-05T12:00:00.000Z',
    endedAt: '2026-12-05T12:10:00.000Z',
    kernelRelease: '6.1.0-test',
    bpftraceVersion: 'v0.17.0',
    params,
    cases,
    items,
    summary: summarize(items, params),
    planned: items.length,
    complete: true,
    skipped: [],
  };
}

// Two models (one with a hostile name), four configurations; model B never ran `symbex`.
const MODEL_B = `qwen<b>"'&`;
const ITEMS: EvalItem[] = [
  item('llama3', 'few-shot', 'file/open', 'correct', 1),
  item('llama3', 'few-shot', `net/<x>&"`, 'fp', 2),
  item('llama3', 'few-shot', 'sched/sleep', 'fn', 3),
  item('llama3', 'few-shot', 'proc/exec', 'correct', 4),
  item('llama3', 'feedback', 'file/open', 'correct', 5),
  item('llama3', 'feedback', 'sched/sleep', 'fp', 6),
  item('llama3', 'symbex', 'file/open', 'fn', 7),
  item('llama3', 'full', 'file/open', 'correct', 8),
  item(MODEL_B, 'few-shot', 'file/open', 'fp', 9),
  item(MODEL_B, 'feedback', 'file/open', 'fn', 10),
  item(MODEL_B, 'full', 'file/open', 'correct', 11),
];
const R = report(3, ['llama3', MODEL_B], ITEMS);
const html = renderHtml(R);

/** What the page's text says once entities are decoded (enough entities for this page). */
const decode = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

t.test('the page is static and every outside text is escaped', async (t) => {
  t.notMatch(html, /<script/i, 'no script element, nothing injected');
  t.notMatch(html, /<img/i, 'no element from a hostile text');
  t.notMatch(html, /<b>/, 'no markup from a hostile text');
  t.notMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'nothing to fetch (only the SVG namespace)');
  t.notMatch(html, /<link |@import|url\(/, 'no stylesheet or image to load');
  t.ok(html.includes(`&lt;/pre&gt;&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(1)&lt;/script&gt;`), 'the hostile text shows as text');
  t.ok(html.includes('qwen&lt;b&gt;&quot;&#39;&amp;'), 'a hostile model name shows as text, in attributes too');
});

t.test('the header says what the attempts were', async (t) => {
  const cases: [string, EvalReport, RegExp][] = [
    ['--trials 1', report(1, ['m'], [item('m', 'full', 'a', 'correct', 1)]), /one attempt per request \(no feedback loop\)/],
    ['--trials 3, all configurations', R, /up to 3 attempts per request with feedback of failed ones in \+ feedback and full Kgent; the others one attempt/],
    ['--trials 3, only few-shot', report(3, ['m'], [item('m', 'few-shot', 'a', 'correct', 1)], ['few-shot']), /one attempt per request \(no feedback loop\)/],
  ];
  for (const [name, r, want] of cases) {
    const page = renderHtml(r);
    t.match(page, want, name);
    t.notMatch(page, /trial\(s\) with feedback/, `${name}: no "trial(s) with feedback"`);
  }
});

t.test('Figure 6: per model and configuration an A, FP and FN bar with its value, over axes', async (t) => {
  const bars = [...html.matchAll(/<rect class="bar (correct|fp|fn)" data-model="([^"]*)" data-config="([^"]*)" data-metric="\w+" data-value="([\d.e-]+)"/g)];
  const ran = R.summary.filter((s) => s.n > 0);
  t.equal(bars.length, ran.length * 3, 'three bars for each model x configuration that ran');
  for (const s of ran) {
    const of = (m: string): number => Number(bars.find((b) => decode(b[2]!) === s.model && b[3] === s.config && b[1] === m)?.[4]);
    t.equal(of('correct'), s.accuracy, `${s.model} ${s.config} A`);
    t.equal(of('fp'), s.fpRate, `${s.model} ${s.config} FP`);
    t.equal(of('fn'), s.fnRate, `${s.model} ${s.config} FN`);
  }
  // llama3 few-shot: 2 correct, 1 FP, 1 FN of 4.
  t.match(html, /<text class="value"[^>]*>50%<\/text>/, 'value labels on the bars');
  t.match(html, /<text class="value"[^>]*>25%<\/text>/);
  t.match(html, /not run<\/text>/, 'a configuration a model did not run says so');
  for (const tick of ['0%', '20%', '40%', '60%', '80%', '100%']) t.match(html, new RegExp(`<text class="tick"[^>]*>${tick}</text>`), `y tick ${tick}`);
  t.equal([...html.matchAll(/<line class="axis"/g)].length, 2, 'x and y axis');
  for (const l of ['few-shot', '+ feedback', '+ symbolic execution', 'full Kgent']) t.ok(html.includes(`>${l}</text>`), `configuration label ${l}`);
  t.match(html, /<text class="model"[^>]*>llama3<\/text>/, 'model group label');
  t.match(html, /accuracy \(A\)<\/text>.*false positive \(FP\)<\/text>.*false negative \(FN\)<\/text>/, 'legend');
  t.match(html, /role="img" aria-labelledby="fig6-title fig6-desc"/, 'the chart has an accessible name and description');
});

t.test('the per-case table: outcome, reason, attempts, time, final program, request anchor', async (t) => {
  const rows = [...html.matchAll(/<tr id="R(\d+)" class="item" data-outcome="(correct|fp|fn)">([\s\S]*?)<\/tr>/g)];
  t.equal(rows.length, ITEMS.length, 'one row per item');
  const fn = rows.find((r) => r[1] === '3')!;
  t.equal(fn[2], 'fn');
  t.match(fn[3], /<td class="outcome">FN<\/td>/);
  t.match(fn[3], /<td class="reason">not proved: &lt;\/pre&gt;/);
  t.match(fn[3], /<details><summary>2<\/summary><ol class="attempts"><li>1: refuted — symbolic: assert may fail/, 'attempts, each with how it ended');
  t.match(fn[3], /<li>2: kernel-rejected — kernel: Unknown identifier<\/li>/);
  t.match(fn[3], /<td class="num">1\.2 s<\/td>/, 'time');
  t.match(fn[3], /<a href="#R3">R3<\/a>/, 'the request id links to its row');
  const pre = /<pre>([\s\S]*?)<\/pre>/.exec(fn[3]);
  t.equal(decode(pre?.[1] ?? ''), HOSTILE_PROGRAM, 'the final program, exactly, in <pre>');
});

const noBrowser = headlessBrowserOrReason();
t.test('a real headless browser builds the chart and the table from the page, and draws them', { skip: noBrowser ?? false, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-eval-html-'));
  const file = path.join(dir, 'eval.html');
  writeFileSync(file, html);
  const dom = await dumpDom(file);
  t.notMatch(dom, /<script|<img/i, 'the parsed DOM has no script or image element: nothing was injected');
  t.equal([...dom.matchAll(/<rect class="bar /g)].length, R.summary.filter((s) => s.n > 0).length * 3, 'the bars are in the DOM, inside the SVG');
  t.match(dom, /<svg class="figure6"[\s\S]*<text class="value"[^>]*>50%<\/text>[\s\S]*<\/svg>/, 'value labels inside the SVG');
  t.equal([...dom.matchAll(/<tr id="R\d+" class="item" data-outcome="/g)].length, ITEMS.length, 'every table row survived parsing (the hostile text closed nothing)');
  const pres = [...dom.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((m) => decode(m[1]!));
  t.ok(pres.includes(HOSTILE_PROGRAM), 'the program reads back exactly as text');
  t.match(dom, /<table class="items">[\s\S]*<\/table>\s*<\/body>/, 'the table ends where the page says, not where a hostile text says');

  const png = path.join(dir, 'eval.png');
  await screenshot(file, png, 1400, 900);
  const img = decodePng(readFileSync(png));
  t.equal(img.width, 1400);
  const counts = new Map<number, number>();
  let notWhite = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const c = img.rgb(x, y);
      counts.set(c, (counts.get(c) ?? 0) + 1);
      if (c !== 0xffffff) notWhite++;
    }
  }
  t.ok(notWhite > img.width * img.height * 0.02, `the screenshot is not blank (${notWhite} drawn pixels)`);
  // The bars' fills, drawn: llama3 few-shot alone is 22 px wide and 110 px (A 50%) tall.
  t.ok((counts.get(0x2e7d32) ?? 0) > 22 * 100, `accuracy bars drawn (${counts.get(0x2e7d32) ?? 0} px of #2e7d32)`);
  t.ok((counts.get(0xc62828) ?? 0) > 22 * 50, `FP bars drawn (${counts.get(0xc62828) ?? 0} px of #c62828)`);
  t.ok((counts.get(0x757575) ?? 0) > 22 * 50, `FN bars drawn (${counts.get(0x757575) ?? 0} px of #757575)`);
});
