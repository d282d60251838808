/**
 * Pipeline benchmark: what one request costs besides the LLM, over the eval
 * cases with replayed answers (the Ollama stand-in answers at once with the case's reference and
 * its annotated version), through a real kgentd:
 * - per stage, p50 / p95 per attempt: retrieve (examples + hooks), prompt build, parse of the
 *   answer, lints, verification (guards, symbolic execution, solver: the verifier's own timing),
 *   kernel check; "all but LLM and kernel check" is their sum per attempt (target p50 < 100 ms);
 * - the kernel check beside bpftrace's own start-and-load of the same program (`bpftrace FILE`
 *   with a BEGIN that exits: every probe loaded and attached, then gone), interleaved in one run
 *   (target: kernel check p50 <= 1.2 x bpftrace's);
 * - kgentd's resident memory idle, and its peak while 4 requests run at once.
 * Parse and lints are timed in this process with the functions kgentd runs (extractProgram,
 * lintWithContracts with this host's contracts): kgentd stores no separate time for them.
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KgentClient } from '../../cli/client.js';
import { hostContractProvider } from '../../daemon/verification/host-contracts.js';
import { lintWithContracts } from '../../daemon/verification/verify-program.js';
import { loadEvalCases, type EvalCaseFile } from '../../daemon/eval/cases.js';
import { missingProbe } from '../../daemon/eval/runner.js';
import { extractProgram } from '../../daemon/pipeline/extract-program.js';
import { analyzeProgram, type AttachableProbes } from '../../daemon/programs/program-analysis.js';
import { RequestShow, RequestSubmit, type AttemptDetail, type RequestDetail } from '../../daemon/protocol/index.js';
import { ALL_PROBES_AVAILABLE } from '../../daemon/verifier/lints/index.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport } from '../../kernel-contracts/kernel-reader/probe-support.js';
import { detectBpftrace } from '../../daemon/runner/bpftrace-cli.js';
import { createDaemon } from '../support/daemon-harness.js';
import { percentile } from '../support/golden.js';
import { startOllamaStandin } from '../support/ollama-standin.js';
import { fenced, replayAnswer } from '../daemon/eval/replay-answers.js';

const TARGET_NON_LLM_P50_MS = 100;
const TARGET_KERNEL_RATIO = 1.2;
const CONCURRENT = 4;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function stats(xs: readonly number[]): { p50: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95) };
}

const f = (ms: number): string => `${ms.toFixed(1)} ms`.padStart(10);

function row(name: string, xs: readonly number[], target?: string): string {
  const s = stats(xs);
  return `  ${name.padEnd(34)} p50 ${f(s.p50)}   p95 ${f(s.p95)}${target ? `   target ${target}` : ''}`;
}

async function submit(client: KgentClient, text: string): Promise<RequestDetail> {
  const r = await client.call(RequestSubmit, { text, trials: 1 }, { timeoutMs: 300_000 });
  return client.call(RequestShow, { id: r.request.id });
}

/** bpftrace's own start-and-load: run the program with a BEGIN that exits at once (after every probe attached). */
async function bpftraceLoad(bin: string, dir: string, program: string, probes: AttachableProbes): Promise<number> {
  const file = path.join(dir, 'load.bt');
  // BEGIN fires once every probe is attached: exit there (in the program's own BEGIN when it has one).
  const at = analyzeProgram(program, 'load.bt', probes, { allowUnsafe: false }).beginBodyOffset;
  writeFileSync(file, at === undefined ? `${program.trimEnd()}\nBEGIN { exit(); }\n` : `${program.slice(0, at)} exit(); ${program.slice(at)}`);
  const t0 = performance.now();
  const r = await execa(bin, [file], { reject: false, stdin: 'ignore' });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`bpftrace could not load ${file}: ${r.stderr}`);
  return ms;
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('pipeline bench: skipped (needs root: the kernel check loads programs)');
    return;
  }
  const cli = await detectBpftrace('bpftrace');
  const probes = await detectProbeSupport(realHost(), { bpftrace: { version: cli.version, ...(cli.features ? { features: cli.features } : {}) } });
  const cases: EvalCaseFile[] = loadEvalCases().filter((c) => !missingProbe(c.reference, probes));
  const standin = await startOllamaStandin({ models: ['qwen2.5-coder:7b', 'nomic-embed-text'], chat: (req) => replayAnswer(cases, { ...req, model: 'replay-reference' }) });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host } });
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-pipeline-bench-'));
  try {
    await d.start();
    const pid = d.proc.pid!;
    const client = await KgentClient.connect(d.socket);
    // Warm-up: the example library syncs in the background at start, the solver initialises once.
    await submit(client, cases[0]!.prompt);
    await new Promise((r) => setTimeout(r, 1000));
    const idleMb = rssMb(pid);

    const contracts = hostContractProvider(realHost());
    // This process reads the host's contracts on first use, as kgentd did at start: not part of a request.
    await lintWithContracts(cases[0]!.reference, { contracts, probes: ALL_PROBES_AVAILABLE });
    const per: Record<string, number[]> = { retrieve: [], prompt: [], parse: [], lints: [], verify: [], nonLlm: [], kernel: [], bpftrace: [] };
    let verified = 0;
    for (const c of cases) {
      const detail = await submit(client, c.prompt);
      const a: AttemptDetail | undefined = detail.attempts[0];
      if (!a) continue;
      if (a.outcome === 'verified') verified++;
      const t = (stage: string): number => a.timings.filter((x) => x.stage === stage).reduce((s, x) => s + x.ms, 0);
      // Parse (the synthesis answer and the comprehension answer) and lints, as kgentd runs them.
      const p0 = performance.now();
      extractProgram(fenced(c.reference));
      extractProgram(fenced(c.annotated ?? c.reference));
      const parseMs = performance.now() - p0;
      const l0 = performance.now();
      await lintWithContracts(c.reference, { contracts, probes: ALL_PROBES_AVAILABLE });
      const lintMs = performance.now() - l0;
      const verifyMs = t('verifying');
      per.retrieve!.push(t('retrieving'));
      per.prompt!.push(t('prompt'));
      per.parse!.push(parseMs);
      per.lints!.push(lintMs);
      per.verify!.push(verifyMs);
      per.nonLlm!.push(t('retrieving') + t('prompt') + parseMs + lintMs + verifyMs);
      if (a.kernelCheck) {
        per.kernel!.push(a.kernelCheck.durationMs);
        per.bpftrace!.push(await bpftraceLoad(cli.path, dir, c.reference, probes));
      }
    }

    // Four requests at once: peak RSS, sampled every 50 ms.
    let peakMb = rssMb(pid);
    const sampler = setInterval(() => {
      peakMb = Math.max(peakMb, rssMb(pid));
    }, 50);
    const clients = await Promise.all(Array.from({ length: CONCURRENT }, () => KgentClient.connect(d.socket)));
    const t0 = performance.now();
    await Promise.all(clients.map((cl, i) => submit(cl, cases[i % cases.length]!.prompt)));
    const concurrentMs = performance.now() - t0;
    clearInterval(sampler);
    for (const cl of clients) cl.close();
    client.close();

    const nonLlm = stats(per.nonLlm!);
    const kernel = stats(per.kernel!);
    const own = stats(per.bpftrace!);
    const ratio = kernel.p50 / own.p50;
    console.log(`pipeline bench: ${cases.length} eval cases with replayed answers (${verified} verified on the first attempt), through kgentd`);
    console.log(row('retrieve (examples + hooks)', per.retrieve!));
    console.log(row('prompt build (synthesis)', per.prompt!));
    console.log(row('parse (both answers)', per.parse!));
    console.log(row('lints', per.lints!));
    console.log(row('verify (guards + symbolic + Z3)', per.verify!));
    console.log(`${row('all but LLM and kernel check', per.nonLlm!, `p50 < ${TARGET_NON_LLM_P50_MS} ms`)}   ${nonLlm.p50 < TARGET_NON_LLM_P50_MS ? 'MET' : 'MISSED'}`);
    console.log(row('kernel check (kgentd)', per.kernel!));
    console.log(row("bpftrace's own start-and-load", per.bpftrace!));
    console.log(`  kernel check / bpftrace p50      ${ratio.toFixed(2)}x   target <= ${TARGET_KERNEL_RATIO}x   ${ratio <= TARGET_KERNEL_RATIO ? 'MET' : 'MISSED'}`);
    console.log(`  kgentd RSS idle                  ${idleMb.toFixed(1)} MB`);
    console.log(`  kgentd RSS peak, ${CONCURRENT} requests at once ${peakMb.toFixed(1)} MB (the 4 took ${(concurrentMs / 1000).toFixed(1)} s)`);
  } finally {
    await d.cleanup();
    await standin.close();
  }
}
