/**
 * Replays every dialect fact (facts.ts) in the bpftrace binary of one source (the host's, or one
 * Debian root's): it must reproduce, for its version, the recorded outcome: whether the program
 * compiles, the exit code, the first error line, the first stderr line and stdout exactly. A root
 * that is not built, or a version with no recorded outcomes (a sid root rebuilt after a new
 * upload), is skipped with the reason printed, never failed. Needs root (bpftrace). One test file
 * per source keeps each within the per-file time limit (about 40 s each here).
 */
import t from 'tap';
import { probeBinaries } from './binaries.js';
import { runFact, type Outcome } from './fact-run.js';
import { FACTS, FACT_VERSIONS } from './facts.js';

export function replayFacts(source: string): void {
  const skip = whySkip(source);
  if (typeof skip === 'string') {
    console.log(`# dialect facts (${source}) skipped: ${skip}`);
    t.test(`dialect facts in the ${source} bpftrace`, { skip }, async () => undefined);
    return;
  }
  const bin = skip;
  t.test(`dialect facts in bpftrace ${bin.version} (${source}: ${bin.path})`, { timeout: 170_000 }, async (t) => {
    const results = new Map<string, Outcome | Error>();
    let next = 0;
    // Two at a time: bpftrace's start-up is CPU-bound LLVM work.
    const worker = async (): Promise<void> => {
      while (next < FACTS.length) {
        const f = FACTS[next++]!;
        results.set(f.id, await runFact(bin.path, f).catch((err: Error) => err));
      }
    };
    await Promise.all([worker(), worker()]);
    for (const f of FACTS) {
      const got = results.get(f.id)!;
      if (got instanceof Error) t.fail(`${f.id}: could not run: ${got.message}`);
      else t.same(got, f.outcomes[bin.version], `${f.id}: ${f.finding}`);
    }
  });
}

function whySkip(source: string): string | { path: string; version: string } {
  if (process.getuid?.() !== 0) return 'needs root to run bpftrace';
  const p = probeBinaries().find((x) => (x.ok ? x.bin.source : x.source) === source);
  if (!p) return `unknown source ${source}`;
  if (!p.ok) return p.reason;
  if (!(FACT_VERSIONS as readonly string[]).includes(p.bin.version)) {
    return `${p.bin.path} is bpftrace ${p.bin.version}, which has no recorded outcomes (record them with record-facts.ts)`;
  }
  return p.bin;
}
