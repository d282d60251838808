/**
 * The evaluation as one self-contained HTML page (no network at view time: inline CSS and SVG,
 * no scripts, no fonts to fetch): the A / FP / FN table comparing models and configurations in the
 * layout of Table 1 of the Kgent paper, and one stacked bar per case, model and configuration
 * (correct / FP / FN over the runs), like the paper's Figure 6.
 */
import { EVAL_CONFIG_LABELS, type EvalItem, type EvalReport } from '../protocol/eval.js';

const COLORS = { correct: '#2e7d32', fp: '#c62828', fn: '#9e9e9e' } as const;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function renderHtml(r: EvalReport): string {
  const series = r.params.models.flatMap((model) => r.params.configs.map((config) => ({ model, config })));
  const rows = r.summary
    .map(
      (s) =>
        `<tr><td>${esc(s.model)}</td><td>${esc(EVAL_CONFIG_LABELS[s.config])}</td><td>${s.n}</td><td class="a">${pct(s.accuracy)}</td><td class="fp">${pct(s.fpRate)}</td><td class="fn">${pct(s.fnRate)}</td><td>${secs(s.meanRequestMs)}</td><td>${s.meanLlmCalls.toFixed(2)}</td></tr>`,
    )
    .join('\n');
  const barW = 14;
  const gap = 4;
  const h = 60;
  const charts = r.cases
    .map((c) => {
      const width = series.length * (barW + gap) + gap;
      const bars = series
        .map((s, i) => {
          const its = r.items.filter((it: EvalItem) => it.caseId === c.id && it.model === s.model && it.config === s.config);
          const n = its.length || 1;
          let y = h;
          const x = gap + i * (barW + gap);
          const parts = (['correct', 'fp', 'fn'] as const).map((o) => {
            const k = its.filter((it) => it.outcome === o).length;
            const bh = (k / n) * h;
            y -= bh;
            return k ? `<rect x="${x}" y="${y.toFixed(1)}" width="${barW}" height="${bh.toFixed(1)}" fill="${COLORS[o]}"><title>${esc(`${s.model} ${EVAL_CONFIG_LABELS[s.config]}: ${o} ${k}/${its.length}`)}</title></rect>` : '';
          });
          return its.length ? parts.join('') : `<rect x="${x}" y="${h - 2}" width="${barW}" height="2" fill="#ddd"><title>not run</title></rect>`;
        })
        .join('');
      return `<figure><svg width="${width}" height="${h + 1}" viewBox="0 0 ${width} ${h + 1}" role="img" aria-label="${esc(c.id)}">${bars}<line x1="0" y1="${h + 0.5}" x2="${width}" y2="${h + 0.5}" stroke="#444"/></svg><figcaption title="${esc(c.prompt)}">${esc(c.id)}</figcaption></figure>`;
    })
    .join('\n');
  const legendSeries = series.map((s, i) => `<li>${i + 1}. ${esc(s.model)} — ${esc(EVAL_CONFIG_LABELS[s.config])}</li>`).join('');
  const skipped = r.skipped.length ? `<p>Skipped (probes this kernel lacks): ${r.skipped.map((s) => `${esc(s.id)} (${esc(s.reason)})`).join('; ')}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kgent evaluation ${esc(r.id)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,td:nth-child(2),th{text-align:left}
.a{color:${COLORS.correct};font-weight:bold}.fp{color:${COLORS.fp}}.fn{color:#616161}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;text-align:center}figcaption{font-size:11px;max-width:16em;overflow-wrap:anywhere}
.key span{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em}
</style></head><body>
<h1>kgent evaluation ${esc(r.id)}</h1>
<p>Kernel ${esc(r.kernelRelease)}, bpftrace ${esc(r.bpftraceVersion)}; ${r.cases.length} cases, ${r.params.runs} run(s) each, ${r.params.trials} trial(s) with feedback; started ${esc(r.startedAt)}${r.endedAt ? `, ended ${esc(r.endedAt)}` : ''}${r.complete ? '' : ` — <strong>incomplete: ${r.items.length} of ${r.planned} items</strong>`}.</p>
<p>Correct (A): a verified program whose output matched the case when run against its trigger. FP: verified but wrong when run. FN: no verified program.</p>
<table><thead><tr><th>model</th><th>configuration</th><th>n</th><th>A</th><th>FP</th><th>FN</th><th>time / request</th><th>LLM calls / request</th></tr></thead><tbody>
${rows}
</tbody></table>
${skipped}
<h2>Per case</h2>
<p class="key"><span style="background:${COLORS.correct}"></span>correct<span style="background:${COLORS.fp}"></span>FP<span style="background:${COLORS.fn}"></span>FN — bars, left to right:</p>
<ol style="list-style:none;padding:0">${legendSeries}</ol>
<div class="charts">
${charts}
</div>
</body></html>
`;
}
