/**
 * The evaluation as one self-contained HTML page: inline CSS and SVG, no scripts, no fonts or
 * images to fetch, so it opens the same on an air-gapped server, in a mail attachment or with
 * JavaScript off. It holds
 * - the A / FP / FN table per model and configuration (the layout of Table 1 of the Kgent paper);
 * - the same numbers as a grouped bar chart (the paper's Figure 6): one group per model, in it one
 *   cluster per configuration with an accuracy, a false-positive and a false-negative bar, each
 *   labelled with its value, over a 0-100 % axis;
 * - one row per item (case x model x configuration x run): outcome, reason, attempts and how each
 *   ended, time, the final program and the request's id, anchored so `#R<id>` links to it (the
 *   evaluation deletes its requests once judged, so this row is what `kgentctl show` would say).
 * Every text from outside (prompts, programs, reasons, model names) goes through {@link escapeHtml}.
 */
import {
  EVAL_CONFIG_LABELS,
  describeAttempts,
  type EvalItem,
  type EvalOutcome,
  type EvalReport,
  type EvalSummaryRow,
} from '../protocol/eval-api.js';

const COLORS = { correct: '#2e7d32', fp: '#c62828', fn: '#757575' } as const;
const OUTCOME_LABELS: Readonly<Record<EvalOutcome, string>> = { correct: 'correct', fp: 'FP', fn: 'FN' };

/** Text made safe inside an element or a quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
const esc = escapeHtml;

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Geometry of the chart, in px. */
const G = {
  barW: 24,
  /** Between the clusters of one model, and between models. */
  clusterGap: 40,
  groupGap: 40,
  left: 52,
  right: 16,
  /** Legend, then room for a 100 % bar's value label. */
  top: 44,
  plotH: 220,
  /** Configuration labels, then model labels. */
  bottom: 58,
} as const;

const METRICS = [
  { key: 'accuracy', outcome: 'correct', label: 'accuracy (A)' },
  { key: 'fpRate', outcome: 'fp', label: 'false positive (FP)' },
  { key: 'fnRate', outcome: 'fn', label: 'false negative (FN)' },
] as const;

/** The paper's Figure 6 as inline SVG: grouped by model, per configuration A / FP / FN with values. */
export function renderChart(r: EvalReport): string {
  const configs = r.params.configs;
  const clusterW = METRICS.length * G.barW;
  const groupW = configs.length * clusterW + (configs.length - 1) * G.clusterGap;
  const width = G.left + r.params.models.length * groupW + (r.params.models.length - 1) * G.groupGap + G.right;
  const height = G.top + G.plotH + G.bottom;
  const y = (fraction: number): number => G.top + G.plotH * (1 - fraction);
  const parts: string[] = [];
  // Y axis: ticks and grid every 20 %.
  for (let t = 0; t <= 100; t += 20) {
    const ty = y(t / 100).toFixed(1);
    parts.push(`<line class="grid" x1="${G.left}" y1="${ty}" x2="${width - G.right}" y2="${ty}" stroke="#e0e0e0"/>`);
    parts.push(`<text class="tick" x="${G.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle" font-size="11">${t}%</text>`);
  }
  parts.push(`<text x="12" y="${(G.top + G.plotH / 2).toFixed(1)}" transform="rotate(-90 12 ${(G.top + G.plotH / 2).toFixed(1)})" text-anchor="middle" font-size="11">share of items</text>`);
  r.params.models.forEach((model, mi) => {
    const gx = G.left + mi * (groupW + G.groupGap);
    configs.forEach((config, ci) => {
      const cx = gx + ci * (clusterW + G.clusterGap);
      const row: EvalSummaryRow | undefined = r.summary.find((s) => s.model === model && s.config === config);
      const label = `${model}, ${EVAL_CONFIG_LABELS[config]}`;
      METRICS.forEach((m, k) => {
        const x = cx + k * G.barW;
        if (!row || row.n === 0) {
          if (k === 1) parts.push(`<text class="value" x="${x + G.barW / 2}" y="${y(0) - 4}" text-anchor="middle" font-size="10">not run</text>`);
          return;
        }
        const v = row[m.key];
        const top = y(v);
        const h = Math.max(y(0) - top, 0);
        const count = row[m.outcome === 'correct' ? 'correct' : m.outcome];
        parts.push(
          `<rect class="bar ${m.outcome}" data-model="${esc(model)}" data-config="${config}" data-metric="${m.outcome}" data-value="${v}" x="${x + 1}" y="${top.toFixed(1)}" width="${G.barW - 2}" height="${h.toFixed(1)}" fill="${COLORS[m.outcome]}"><title>${esc(`${label}: ${m.label} ${pct(v)} (${count} of ${row.n})`)}</title></rect>`,
        );
        parts.push(`<text class="value" x="${x + G.barW / 2}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${Math.round(v * 100)}%</text>`);
      });
      parts.push(`<text class="config" x="${cx + clusterW / 2}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${esc(EVAL_CONFIG_LABELS[config])}</text>`);
    });
    parts.push(`<text class="model" x="${gx + groupW / 2}" y="${y(0) + 40}" text-anchor="middle" font-size="13" font-weight="bold">${esc(model)}</text>`);
    if (mi > 0) parts.push(`<line x1="${gx - G.groupGap / 2}" y1="${G.top}" x2="${gx - G.groupGap / 2}" y2="${y(0) + 46}" stroke="#bdbdbd" stroke-dasharray="4 3"/>`);
  });
  // Axes last, over the bars' feet.
  parts.push(`<line class="axis" x1="${G.left}" y1="${G.top}" x2="${G.left}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line class="axis" x1="${G.left}" y1="${y(0)}" x2="${width - G.right}" y2="${y(0)}" stroke="#333"/>`);
  const legend = METRICS.map((m, i) => `<rect x="${G.left + i * 150}" y="6" width="12" height="12" fill="${COLORS[m.outcome]}"/><text x="${G.left + i * 150 + 17}" y="16" font-size="11">${m.label}</text>`).join('');
  const desc = r.summary.map((s) => `${s.model}, ${EVAL_CONFIG_LABELS[s.config]}: A ${pct(s.accuracy)}, FP ${pct(s.fpRate)}, FN ${pct(s.fnRate)} of ${s.n}`).join('; ');
  return `<svg class="figure6" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="fig6-title fig6-desc" font-family="system-ui, sans-serif"><title id="fig6-title">Accuracy, false positives and false negatives per configuration, grouped by model</title><desc id="fig6-desc">${esc(desc)}</desc>${legend}${parts.join('')}</svg>`;
}

function attemptsCell(i: EvalItem): string {
  const log = i.attemptLog ?? [];
  if (log.length === 0) return String(i.attempts);
  const lines = log.map((a) => `<li>${a.n}: ${esc(a.outcome)}${a.feedback.length ? ` — ${esc(a.feedback.join('; '))}` : ''}</li>`).join('');
  return `<details><summary>${i.attempts}</summary><ol class="attempts">${lines}</ol></details>`;
}

function itemRow(i: EvalItem, prompt: string | undefined): string {
  const anchor = i.requestId !== undefined ? `R${i.requestId}` : undefined;
  const request = anchor ? `<a href="#${anchor}">${anchor}</a>` : '-';
  const program = i.program ? `<pre>${esc(i.program)}</pre>` : '<span class="none">none</span>';
  return `<tr${anchor ? ` id="${anchor}"` : ''} class="item" data-outcome="${i.outcome}"><td><span class="case">${esc(i.caseId)}</span>${prompt ? `<div class="prompt">${esc(prompt)}</div>` : ''}</td><td>${esc(i.model)}</td><td>${esc(EVAL_CONFIG_LABELS[i.config])}</td><td class="num">${i.run}</td><td class="outcome">${OUTCOME_LABELS[i.outcome]}</td><td>${request}</td><td class="num">${attemptsCell(i)}</td><td class="num">${secs(i.requestMs)}</td><td class="reason">${esc(i.reason ?? (i.outcome === 'correct' ? (i.oracle?.reason ?? '') : ''))}</td><td>${program}</td></tr>`;
}

export function renderHtml(r: EvalReport): string {
  const rows = r.summary
    .map(
      (s) =>
        s.n === 0
          ? `<tr><td>${esc(s.model)}</td><td>${esc(EVAL_CONFIG_LABELS[s.config])}</td><td class="num">0</td><td colspan="5">not run</td></tr>`
          : `<tr><td>${esc(s.model)}</td><td>${esc(EVAL_CONFIG_LABELS[s.config])}</td><td class="num">${s.n}</td><td class="num a">${pct(s.accuracy)}</td><td class="num fp">${pct(s.fpRate)}</td><td class="num fn">${pct(s.fnRate)}</td><td class="num">${secs(s.meanRequestMs)}</td><td class="num">${s.meanLlmCalls.toFixed(2)}</td></tr>`,
    )
    .join('\n');
  const prompts = new Map(r.cases.map((c) => [c.id, c.prompt]));
  const items = r.items.map((i) => itemRow(i, prompts.get(i.caseId))).join('\n');
  const skipped = r.skipped.length ? `<p>Skipped (probes this kernel lacks): ${r.skipped.map((s) => `${esc(s.id)} (${esc(s.reason)})`).join('; ')}</p>` : '';
  const incomplete = r.complete ? '' : ` — <strong>incomplete: ${r.items.length} of ${r.planned} items</strong>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kgent evaluation ${esc(r.id)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.num{text-align:right}.a{color:${COLORS.correct};font-weight:bold}.fp{color:${COLORS.fp}}.fn{color:${COLORS.fn}}
figure{margin:1em 0;overflow-x:auto}figcaption{font-size:12px;color:#555}
tr[data-outcome=correct] .outcome{color:${COLORS.correct};font-weight:bold}tr[data-outcome=fp] .outcome{color:${COLORS.fp};font-weight:bold}tr[data-outcome=fn] .outcome{color:${COLORS.fn};font-weight:bold}
tr.item:target{outline:2px solid #1565c0}
.prompt{font-size:12px;color:#555;min-width:12em;max-width:24em;overflow-wrap:anywhere}.reason{min-width:16em;max-width:28em;overflow-wrap:anywhere}
pre{margin:0;max-width:40em;max-height:20em;overflow:auto;font-size:12px;white-space:pre}
ol.attempts{margin:.3em 0;padding-left:1.2em;text-align:left;font-size:12px;max-width:28em}
</style></head><body>
<h1>kgent evaluation ${esc(r.id)}</h1>
<p>Kernel ${esc(r.kernelRelease)}, bpftrace ${esc(r.bpftraceVersion)}; ${r.cases.length} case(s), ${r.params.runs} run(s) each, ${esc(describeAttempts(r.params))}; started ${esc(r.startedAt)}${r.endedAt ? `, ended ${esc(r.endedAt)}` : ''}${incomplete}.</p>
<p>Correct (A): a verified program whose output matched the case when run against its trigger. FP: verified but wrong when run. FN: no verified program.</p>
<h2>Accuracy, false positives and false negatives</h2>
<table class="summary"><thead><tr><th>model</th><th>configuration</th><th>n</th><th>A</th><th>FP</th><th>FN</th><th>time / request</th><th>LLM calls / request</th></tr></thead><tbody>
${rows}
</tbody></table>
<figure>${renderChart(r)}<figcaption>Per model, each configuration's share of items that were correct (A), verified but wrong (FP) and not verified (FN); as Figure 6 of the Kgent paper.</figcaption></figure>
${skipped}
<h2>Per case</h2>
<p>One row per case, model, configuration and run. The request ids link to their row: kgentd deletes an evaluation's requests once judged, so this row keeps what <code>kgentctl show</code> said (attempts: open to see how each ended).</p>
<table class="items"><thead><tr><th>case</th><th>model</th><th>configuration</th><th>run</th><th>outcome</th><th>request</th><th>attempts</th><th>time</th><th>reason</th><th>final program</th></tr></thead><tbody>
${items}
</tbody></table>
</body></html>
`;
}
