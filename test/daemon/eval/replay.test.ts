/**
 * The evaluation harness without a model: the real kgentd and `kgentctl eval`,
 * the Ollama-protocol stand-in replaying answers through the real `ollama` client and HTTP, the
 * real verifier, kernel check and execution oracle. Two stand-in "models":
 * - `replay-reference` answers synthesis with the case's reference and comprehension with its
 *   `annotated` version: every item must score correct, in every configuration;
 * - `replay-wrong` answers with the case's first wrong program (comprehension: the same program,
 *   unannotated): every item must score FP (verified without the symbolic stage, the oracle fails)
 *   or FN (the symbolic stage finds nothing proved), never correct.
 * A fixed slice of the cases keeps it near a minute; `KGENT_EVAL_ALL=1` replays every case.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadEvalCases } from '../../../daemon/eval/cases.js';
import type { EvalReport } from '../../../daemon/protocol/eval-api.js';
import { builtOrReason, createDaemon } from '../../support/daemon-harness.js';
import { startOllamaStandin } from '../../support/ollama-standin.js';
import { replayAnswer } from './replay-answers.js';

const SLICE = ['network/tcp-listen-port', 'file/created-files-mode', 'process/exec-and-execveat', 'sched/sleep-requests-ms'];

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (kernel check and oracle attach eBPF programs)';
  return builtOrReason();
}

t.setTimeout(20 * 60_000);

const skip = skipReason();
t.test('replayed references score correct and replayed wrong programs never do, in every configuration', { skip: skip ?? false, timeout: 900_000 }, async (t) => {
  const all = loadEvalCases();
  const cases = process.env['KGENT_EVAL_ALL'] === '1' ? all : all.filter((c) => SLICE.includes(c.id));
  t.equal(cases.length, process.env['KGENT_EVAL_ALL'] === '1' ? all.length : SLICE.length, 'the slice exists');
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-eval-replay-'));
  const casesFile = path.join(dir, 'cases.jsonl');
  writeFileSync(casesFile, cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const standin = await startOllamaStandin({
    models: ['replay-reference', 'replay-wrong', 'qwen2.5-coder:7b', 'nomic-embed-text'],
    chat: (req) => replayAnswer(cases, req),
  });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host } });
  t.teardown(async () => {
    await d.cleanup();
    await standin.close();
  });
  await d.start();
  const html = path.join(dir, 'eval.html');
  const reportFile = path.join(dir, 'eval.json');
  const r = await d.ctl(['eval', '--cases', casesFile, '--models', 'replay-reference,replay-wrong', '--trials', '2', '--html', html, '--report', reportFile], { timeoutMs: 840_000 });
  t.equal(r.exitCode, 0, `kgentctl eval exits 0: ${r.stderr.slice(-2000)}`);
  t.comment(r.stdout.split('\n').filter((l) => !/^\S+\/\S+\s+replay-/.test(l)).join('\n'));
  t.match(r.stderr, /\[eval 1\/\d+ \d+% \| \d+s elapsed, ~\S+ left\]/, 'progress: item N of M, elapsed, estimated remaining');
  t.match(r.stdout, /^replay-reference\s+A\s+FP\s+FN/m, 'the summary table, per model');
  t.match(r.stdout, /^few-shot\s/m);
  t.match(r.stdout, /^\+ feedback\s/m);
  t.match(r.stdout, /^\+ symbolic execution\s/m);
  t.match(r.stdout, /^full Kgent\s/m);

  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as EvalReport;
  t.equal(report.complete, true);
  t.equal(report.items.length, 2 * 4 * cases.length, 'every model x configuration x case');
  for (const i of report.items) {
    if (i.model === 'replay-reference') t.equal(i.outcome, 'correct', `${i.config} ${i.caseId}: reference correct (${i.reason ?? ''})`);
    else t.not(i.outcome, 'correct', `${i.config} ${i.caseId}: wrong program ${i.outcome} (${i.reason ?? ''})`);
    t.same(i.oracle?.leftAttached ?? [], [], `${i.caseId}: nothing left attached`);
  }
  const wrongFull = report.items.filter((i) => i.model === 'replay-wrong' && (i.config === 'full' || i.config === 'symbex'));
  t.ok(wrongFull.every((i) => i.outcome === 'fn'), 'with the symbolic stage, wrong programs are not verified (FN)');
  const wrongPlain = report.items.filter((i) => i.model === 'replay-wrong' && (i.config === 'few-shot' || i.config === 'feedback'));
  t.ok(wrongPlain.every((i) => i.outcome === 'fp'), 'without it, they pass the kernel check and the oracle catches them (FP)');
  const ref = report.summary.find((s) => s.model === 'replay-reference' && s.config === 'full');
  t.equal(ref?.accuracy, 1);
  t.equal(report.summary.find((s) => s.model === 'replay-reference' && s.config === 'few-shot')?.meanLlmCalls, 1, 'few-shot: one LLM call (no comprehension)');
  t.equal(ref?.meanLlmCalls, 2, 'full: synthesis + comprehension');

  const page = readFileSync(html, 'utf8');
  t.match(page, /<svg class="figure6"/, 'the Figure 6 chart');
  t.equal([...page.matchAll(/<rect class="bar /g)].length, 2 * 4 * 3, 'A, FP and FN bars per model and configuration');
  t.match(page, /data-model="replay-reference" data-config="full" data-metric="correct" data-value="1"/, 'the reference scores 100 % in full Kgent');
  t.match(page, /<text class="value"[^>]*>100%<\/text>/, 'with its value on the bar');
  t.notMatch(page, /<script|<link /, 'self-contained: no scripts, no links to fetch');
  t.notMatch(page, /trial\(s\) with feedback/);
  t.match(page, /up to 2 attempts per request with feedback/);
  const rows = [...page.matchAll(/<tr id="R(\d+)" class="item" data-outcome="(correct|fp|fn)">([\s\S]*?)<\/tr>/g)];
  t.equal(rows.length, report.items.length, 'one table row per item, anchored by its request');
  for (const i of report.items) {
    const row = rows.find((r) => r[1] === String(i.requestId));
    t.ok(row, `${i.model} ${i.config} ${i.caseId}: a row`);
    if (i.program) t.ok(row?.[3].includes('<pre>'), `${i.caseId}: the final program`);
    if (i.outcome !== 'correct') t.match(row?.[3] ?? '', /<td class="reason">\S/, `${i.caseId}: the reason`);
    t.ok((i.attemptLog?.length ?? 0) >= 1, `${i.caseId}: how each attempt ended is kept`);
  }
  t.ok(report.items.some((i) => i.status === 'needs-hint'), 'some requests ended needing a hint');
  t.match(r.stdout, /one attempt|up to 2 attempts/, 'the terminal says what the attempts were');

  // Eval requests are judged, kept in the report, and deleted: nothing in kgentctl requests, needs-hint ones included.
  const reqs = await d.ctlJson<{ requests: { id: number; status: string }[] }>(['requests']);
  t.same(reqs.requests, [], 'the evaluation left no request behind');
  const show = await d.ctl(['show', `R${report.items[0]!.requestId}`]);
  t.not(show.exitCode, 0, 'its requests are gone');
  const progs = await d.ctlJson<{ programs: unknown[] }>(['list', '--all']);
  t.equal(progs.programs.length, 0, 'no program was stored or attached');
});

t.test('an interrupted evaluation resumes where it stopped', { skip: skip ?? false, timeout: 600_000 }, async (t) => {
  const cases = loadEvalCases().filter((c) => SLICE.slice(0, 2).includes(c.id));
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-eval-resume-'));
  const casesFile = path.join(dir, 'cases.jsonl');
  writeFileSync(casesFile, cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const standin = await startOllamaStandin({ models: ['replay-reference', 'nomic-embed-text', 'qwen2.5-coder:7b'], chat: (req) => replayAnswer(cases, req), delayMs: 300 });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host } });
  t.teardown(async () => {
    await d.cleanup();
    await standin.close();
  });
  await d.start();
  // The client goes away after the first item: the daemon stops the evaluation and keeps its state.
  const { execa } = await import('execa');
  const { CLI_JS } = await import('../../support/daemon-harness.js');
  const child = execa(process.execPath, [CLI_JS, '--socket', d.socket, 'eval', '--cases', casesFile, '--models', 'replay-reference', '--config', 'few-shot,full'], { reject: false, all: true });
  let seen = '';
  await new Promise<void>((resolve) => {
    child.all?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (/\[eval 1\/4 /.test(seen)) resolve();
    });
    void child.then(() => resolve());
  });
  child.kill('SIGKILL');
  await child;
  const listed = await d.ctlJson<{ evals: { id: string; done: number; planned: number; complete: boolean }[] }>(['eval', '--list']);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(listed.evals.length, 1);
  t.equal(listed.evals[0]?.complete, false, `interrupted at ${listed.evals[0]?.done}/${listed.evals[0]?.planned}`);
  const r = await d.ctl(['eval', '--resume', '--json'], { timeoutMs: 300_000 });
  t.equal(r.exitCode, 0, r.stderr);
  const end = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as EvalReport & { event: string };
  t.equal(end.event, 'report');
  t.equal(end.id, listed.evals[0]?.id, 'the same evaluation');
  t.equal(end.items.length, 4, 'all items, none twice');
  t.ok(end.items.every((i) => i.outcome === 'correct'));
  // The request the disconnect cancelled is deleted as well as the judged ones.
  const reqs = await d.ctlJson<{ requests: unknown[] }>(['requests']);
  t.same(reqs.requests, [], 'no request left behind by the interrupted or the resumed run');
});
