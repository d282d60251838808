/**
 * Verifier benchmark over the golden corpus (test/golden/verifier/): the solver initialisation time
 * once, then per-program verification time after init (p50, p95, max) against the targets of issue 4
 * (p50 < 50 ms, p95 < 250 ms per program on the 2-core development machine).
 *
 * Each program is verified ROUNDS times; its time is the median of its rounds (wall clock around
 * `verifyProgram`, which includes parsing, lints and every solver check of the program).
 */
import { performance } from 'node:perf_hooks';
import { verifyProgram } from '../../daemon/verifier/verify.js';
import { goldenContracts, goldenVerifyOptions, loadGoldenCases, percentile } from '../support/golden.js';

const ROUNDS = 3;
const TARGET_P50_MS = 50;
const TARGET_P95_MS = 250;

const WARMUP = 'BEGIN { printf("%d\\n", 1); assert(printed(0) == 1); exit(); }\n';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

export async function run(): Promise<void> {
  const cases = loadGoldenCases();
  const contracts = goldenContracts();

  const t0 = performance.now();
  const warm = await verifyProgram(WARMUP, { fileName: 'warmup.bt', contracts });
  const firstCallMs = performance.now() - t0;
  const init = warm.timings.solverInitMs;
  console.log(
    `verifier bench: solver init ${init > 0 ? fmt(init) : '0 ms (Z3 was already initialised in this process)'} ` +
      `(first verifyProgram call ${fmt(firstCallMs)})`,
  );

  const perProgram: { id: string; ms: number; verdict: string }[] = [];
  for (const c of cases) {
    const samples: number[] = [];
    let verdict = '';
    for (let r = 0; r < ROUNDS; r++) {
      const s = performance.now();
      const report = await verifyProgram(c.source, goldenVerifyOptions(c, contracts));
      samples.push(performance.now() - s);
      verdict = report.verdict;
    }
    perProgram.push({ id: c.id, ms: median(samples), verdict });
  }

  const sorted = perProgram.map((p) => p.ms).sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  const slowest = [...perProgram].sort((a, b) => b.ms - a.ms).slice(0, 3);

  console.log(`verifier bench: programs ${perProgram.length} (golden corpus, median of ${ROUNDS} rounds each, after init)`);
  console.log(`verifier bench: p50 ${fmt(p50)}  target < ${TARGET_P50_MS} ms  ${p50 < TARGET_P50_MS ? 'PASS' : 'MISS'}`);
  console.log(`verifier bench: p95 ${fmt(p95)}  target < ${TARGET_P95_MS} ms  ${p95 < TARGET_P95_MS ? 'PASS' : 'MISS'}`);
  console.log(`verifier bench: max ${fmt(max)}`);
  console.log(`verifier bench: slowest ${slowest.map((s) => `${s.id} ${fmt(s.ms)} (${s.verdict})`).join(', ')}`);
}
