/**
 * kgentctl eval: the paper's Table 1 for local models, judged by running the programs.
 * Reads the cases (`--cases FILE|DIR`, JSON lines; default: the daemon's bundled datasets/eval),
 * asks kgentd to run them (`eval.run`: the loop per model and configuration, then the execution
 * oracle), shows progress while it runs, then prints per-case rows and the A / FP / FN table;
 * `--html FILE` writes the self-contained page, `--report FILE` the JSON report, `--json` prints
 * the report. Ctrl-C interrupts; `--resume` continues the last interrupted evaluation.
 * Argument parsing and rendering only; the caller adds the `kgentctl eval:` prefix to errors.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  EVAL_CONFIG_LABELS,
  EVAL_CONFIGS,
  describeAttempts,
  EvalList,
  EvalProgressNotification,
  EvalRun,
  type EvalCase,
  type EvalConfigName,
  type EvalItem,
  type EvalProgress,
  type EvalReport,
} from '../../daemon/protocol/index.js';
import type { KgentClient } from '../client.js';
import { parseCommandArgs } from '../args.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { clip, printJson, table, type CliIO } from '../io.js';

export const EVAL_HELP = `kgentctl eval — accuracy, false positives and false negatives of the Kgent loop, per model

Usage:
  kgentctl eval [--cases FILE|DIR] [--config few-shot|feedback|symbex|full[,...]] [--trials N]
                [--runs N] [--models A,B,...] [--comprehension-model M] [--only ID[,ID]]
                [--html FILE] [--report FILE] [--json]
  kgentctl eval --resume [ID]      continue an interrupted evaluation (default: the last one)
  kgentctl eval --list             evaluations kgentd keeps, with how far they got

Each model x configuration x case x run is one request through kgentd's loop; a verified program
is then attached, the case's trigger run, its output matched against the case's expectation, and
the program detached. Correct = verified and the output matches; FP = verified but wrong;
FN = no verified program. Configurations (rows of the paper's Table 1):
  few-shot   retrieved examples, one attempt, the kernel check alone decides
  feedback   + feedback of failed attempts, up to --trials attempts
  symbex     few-shot + comprehension and symbolic verification (one attempt)
  full       the whole Kgent loop (examples, feedback, symbolic verification, kernel check)
Default: all four, the configured synthesis model, --trials from the configuration, --runs 1.
--html FILE writes one static page (no scripts, nothing to fetch): the A / FP / FN table, the same
as a bar chart grouped by model (the paper's Figure 6), and a row per item with its outcome,
reason, attempts, time and final program. kgentd deletes the requests of an evaluation once judged
(they do not show in kgentctl requests); the report and the page keep what they said.
Needs root or kgent-admin: triggers run as root.
`;

function fmtMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Cases from a `.jsonl` file or a directory of them: the fields the eval uses (extra fields are dropped). */
export function readCases(fileOrDir: string): EvalCase[] {
  let files: string[];
  try {
    files = statSync(fileOrDir).isDirectory()
      ? readdirSync(fileOrDir)
          .filter((f) => f.endsWith('.jsonl'))
          .sort()
          .map((f) => path.join(fileOrDir, f))
      : [fileOrDir];
  } catch (err) {
    throw new CliError(ExitCode.Usage, `cannot read --cases ${fileOrDir}: ${(err as Error).message}`);
  }
  const out: EvalCase[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(line) as Record<string, unknown>;
        } catch (err) {
          throw new CliError(ExitCode.Usage, `${file}:${i + 1}: not JSON: ${(err as Error).message}`);
        }
        for (const k of ['id', 'prompt', 'trigger', 'expect', 'reference']) {
          if (typeof o[k] !== 'string' || !(o[k] as string).trim()) throw new CliError(ExitCode.Usage, `${file}:${i + 1}: "${k}" must be a non-empty string`);
        }
        out.push({
          id: o['id'] as string,
          prompt: o['prompt'] as string,
          trigger: o['trigger'] as string,
          expect: o['expect'] as string,
          reference: o['reference'] as string,
          ...(typeof o['waitMs'] === 'number' ? { waitMs: o['waitMs'] } : {}),
        });
      });
  }
  if (out.length === 0) throw new CliError(ExitCode.Usage, `no cases in ${fileOrDir}`);
  return out;
}

function list(s: string | undefined): string[] | undefined {
  return s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean);
}

function count(s: string | undefined, name: string, max: number): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new CliError(ExitCode.Usage, `${name} wants a number from 1 to ${max}, got "${s}"`);
  return n;
}

function itemLine(i: EvalItem): string {
  const what = i.outcome === 'correct' ? 'correct' : i.outcome === 'fp' ? 'FP' : 'FN';
  return `${what} (R${i.requestId ?? '?'}, ${i.attempts} attempt${i.attempts === 1 ? '' : 's'}, ${i.llmCalls} LLM call${i.llmCalls === 1 ? '' : 's'}, ${(i.requestMs / 1000).toFixed(1)} s)${i.reason ? `: ${clip(i.reason.split('\n')[0]!, 140)}` : ''}`;
}

function progressLine(p: EvalProgress): string | undefined {
  const head = `[eval ${p.done}/${p.planned} ${p.planned ? Math.floor((p.done / p.planned) * 100) : 0}% | ${fmtMs(p.elapsedMs)} elapsed${p.remainingMs !== undefined ? `, ~${fmtMs(p.remainingMs)} left` : ''}]`;
  if (p.item) return `${head} ${p.item.model} ${p.item.config} ${p.item.caseId}#${p.item.run}: ${itemLine(p.item)}`;
  return p.message ? `${head} ${p.message}` : undefined;
}

/** The per-case rows. */
export function caseRows(r: EvalReport): string {
  const rows = [['CASE', 'MODEL', 'CONFIG', 'RUN', 'RESULT', 'REQUEST', 'ATTEMPTS', 'LLM', 'TIME', 'WHY']];
  for (const i of r.items) {
    rows.push([
      i.caseId,
      i.model,
      i.config,
      String(i.run),
      i.outcome === 'correct' ? 'correct' : i.outcome.toUpperCase(),
      i.requestId !== undefined ? `R${i.requestId}` : '-',
      String(i.attempts),
      String(i.llmCalls),
      `${(i.requestMs / 1000).toFixed(1)}s`,
      clip((i.reason ?? '').split('\n')[0]!, 90),
    ]);
  }
  return table(rows);
}

/** The summary in the layout of the paper's Table 1: per model, one row per configuration. */
export function summaryTable(r: EvalReport): string {
  const out: string[] = [];
  for (const model of r.params.models) {
    const rows = [[`${model}`, 'A', 'FP', 'FN', 'n', 'time/request', 'LLM calls/request']];
    for (const config of r.params.configs as readonly EvalConfigName[]) {
      const s = r.summary.find((x) => x.model === model && x.config === config);
      if (!s) continue;
      rows.push([EVAL_CONFIG_LABELS[config], pct(s.accuracy), pct(s.fpRate), pct(s.fnRate), String(s.n), `${(s.meanRequestMs / 1000).toFixed(1)}s`, s.meanLlmCalls.toFixed(2)]);
    }
    out.push(table(rows));
  }
  return out.join('\n\n');
}

export async function evalCommand(argv: string[], io: CliIO, connect: () => Promise<KgentClient>): Promise<number> {
  const parsed = parseCommandArgs(argv, {
    cases: { type: 'string' },
    config: { type: 'string' },
    trials: { type: 'string' },
    runs: { type: 'string' },
    models: { type: 'string' },
    'comprehension-model': { type: 'string' },
    only: { type: 'string' },
    html: { type: 'string' },
    report: { type: 'string' },
    json: { type: 'boolean', default: false },
    resume: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'eval');
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(EVAL_HELP);
    return ExitCode.Ok;
  }
  const positional = parsed.positionals;
  if (positional.length > (v.resume ? 1 : 0)) throw new CliError(ExitCode.Usage, `unexpected argument "${positional.at(-1)}"; see kgentctl eval --help`);
  const configs = list(v.config);
  for (const c of configs ?? []) {
    if (!(EVAL_CONFIGS as readonly string[]).includes(c)) throw new CliError(ExitCode.Usage, `--config: unknown configuration "${c}" (one of ${EVAL_CONFIGS.join(', ')})`);
  }
  const trials = count(v.trials, '--trials', 10);
  const runs = count(v.runs, '--runs', 100);
  const cases = v.cases !== undefined ? readCases(v.cases) : undefined;
  const client = await connect();
  try {
    if (v.list) {
      const r = await client.call(EvalList, {});
      if (v.json) printJson(io, r);
      else io.stdout.write(r.evals.length ? `${table([['ID', 'STARTED', 'DONE', 'STATE'], ...r.evals.map((e) => [e.id, e.startedAt, `${e.done}/${e.planned}`, e.complete ? 'complete' : 'interrupted (kgentctl eval --resume ' + e.id + ')'])])}\n` : 'no evaluations yet\n');
      return ExitCode.Ok;
    }
    const stop = client.onNotification(EvalProgressNotification, (p) => {
      if (v.json) io.stdout.write(`${JSON.stringify({ event: 'progress', ...p })}\n`);
      else {
        const line = progressLine(p);
        if (line) io.stderr.write(`${line}\n`);
      }
    });
    const onSigint = (): void => {
      io.stderr.write('\ninterrupted: kgentd keeps what is done; continue with kgentctl eval --resume\n');
      process.exit(130);
    };
    process.on('SIGINT', onSigint);
    let report: EvalReport;
    try {
      report = await client.call(
        EvalRun,
        {
          ...(cases ? { cases } : {}),
          ...(list(v.only) ? { only: list(v.only)! } : {}),
          ...(configs ? { configs: configs as EvalConfigName[] } : {}),
          ...(list(v.models) ? { models: list(v.models)! } : {}),
          ...(v['comprehension-model'] ? { comprehensionModel: v['comprehension-model'] } : {}),
          ...(trials !== undefined ? { trials } : {}),
          ...(runs !== undefined ? { runs } : {}),
          ...(v.resume ? { resume: positional[0] ?? 'last' } : {}),
          ...(v.html !== undefined ? { html: true } : {}),
        },
        { timeoutMs: null },
      );
    } finally {
      process.off('SIGINT', onSigint);
      stop();
    }
    const { html, ...json } = report;
    if (v.html !== undefined && html) writeFileSync(v.html, html);
    if (v.report !== undefined) writeFileSync(v.report, `${JSON.stringify(json, null, 2)}\n`);
    if (v.json) {
      io.stdout.write(`${JSON.stringify({ event: 'report', ...json })}\n`);
    } else {
      io.stdout.write(`\n${caseRows(report)}\n\n`);
      if (report.skipped.length) io.stdout.write(`skipped (probes this kernel lacks): ${report.skipped.map((s) => s.id).join(', ')}\n\n`);
      io.stdout.write(`evaluation ${report.id}: ${report.cases.length} case(s), ${report.params.runs} run(s), ${describeAttempts(report.params)}, kernel ${report.kernelRelease}, bpftrace ${report.bpftraceVersion}${report.complete ? '' : ` — INCOMPLETE (${report.items.length}/${report.planned}; kgentctl eval --resume ${report.id})`}\n\n`);
      io.stdout.write(`${summaryTable(report)}\n`);
      if (v.html !== undefined) io.stdout.write(`\nHTML: ${v.html}\n`);
      if (v.report !== undefined) io.stdout.write(`JSON report: ${v.report}\n`);
    }
    return report.complete ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    client.close();
  }
}
