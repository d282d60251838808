/**
 * The dialect corpus on one real bpftrace binary (the host's 0.17, or a Debian root's, see
 * test/dialects/README.md): every case that states a verdict for the binary's version (its own, or
 * one it `differsFrom`) runs there, with its annotations stripped as kgentd strips them. A program
 * the verifier calls invalid must not run (a compile error, or an abort before it runs); any other
 * must compile and run; and where a BEGIN program's assertion reads what it printed, the printed
 * value must agree with the verdict (checkClaims). A binary that is absent, or of a version no case
 * names, is skipped with the reason printed. Needs root (bpftrace).
 */
import t from 'tap';
import { parse } from '../../../daemon/verifier/frontend/index.js';
import { profile } from '../../../daemon/verifier/dialect/index.js';
import { probeBinaries, type BpftraceBinary } from '../../dialects/binaries.js';
import type { Outcome } from '../../dialects/fact-run.js';
import { goldenContracts, goldenVerifyOptions, loadDialectGoldenCases, verifyGolden, type GoldenCase } from '../../support/golden.js';
import { checkClaims, majorMinor, printedClaims, programForBpftrace, refusedToRun, runProgram, statedVerdicts, type StatedAssertion } from '../../support/golden-dialects.js';

export function checkCorpusOnBinary(source: string): void {
  const found = binaryOf(source);
  if (typeof found === 'string') {
    console.log(`# dialect corpus (${source}) skipped: ${found}`);
    t.test(`dialect corpus on the ${source} bpftrace`, { skip: found }, async () => undefined);
    return;
  }
  const bin = found;
  const version = majorMinor(bin.version);
  const cases = loadDialectGoldenCases().filter((c) => statedVerdicts(c).has(version));
  if (cases.length === 0) {
    const why = `no case states a verdict for ${version} (${bin.path})`;
    console.log(`# dialect corpus (${source}) skipped: ${why}`);
    t.test(`dialect corpus on the ${source} bpftrace`, { skip: why }, async () => undefined);
    return;
  }
  t.test(`dialect corpus on bpftrace ${bin.version} (${source}: ${bin.path})`, { timeout: 170_000 }, async (t) => {
    const outcomes = new Map<string, Outcome | Error>();
    let next = 0;
    // Two at a time: bpftrace's start-up is CPU-bound LLVM work.
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const c = cases[next++]!;
        outcomes.set(c.id, await runProgram(bin.path, c.id, programForBpftrace(c.source)).catch((err: Error) => err));
      }
    };
    await Promise.all([worker(), worker()]);
    for (const c of cases) {
      const o = outcomes.get(c.id)!;
      const stated = statedVerdicts(c).get(version)!;
      if (o instanceof Error) {
        t.fail(`${c.id}: could not run: ${o.message}`);
        continue;
      }
      if (stated === 'invalid') {
        t.ok(refusedToRun(o), `${c.id}: invalid under ${version}, and bpftrace ${bin.version} refuses it (${o.error || `exit ${o.exit}`})`);
        continue;
      }
      t.ok(o.compiles && o.exit === 0, `${c.id}: ${stated} under ${version}, and bpftrace ${bin.version} runs it${o.compiles && o.exit === 0 ? '' : ` (exit ${o.exit}: ${o.error})`}`);
      await checkPrinted(t, c, version, bin.version, o);
    }
  });
}

/** The printed() claims of a case against the binary's output, with the verdicts for `version`. */
async function checkPrinted(t: Tap.Test, c: GoldenCase, version: string, binVersion: string, o: Outcome): Promise<void> {
  const program = parse(c.source).program;
  if (!program) return;
  const { claims, unmapped } = printedClaims(program);
  if (unmapped.length) t.comment(`${c.id}: printed() at line ${unmapped.join(', ')} not checked (not a top-level claim of a straight BEGIN body)`);
  if (claims.length === 0) return;
  const stated = await assertionsFor(c, version);
  for (const r of checkClaims(claims, stated, o.stdout)) {
    const what = `${c.id} line ${r.line}: ${r.verdict} under ${version}, bpftrace ${binVersion} printed ${r.printed}: ${r.why}`;
    if (r.agrees === undefined) t.comment(what);
    else t.ok(r.agrees, what);
  }
}

/** The assertion verdicts for `version`: a `todo` case's own expectation (the verifier is known wrong there), else the verifier's. */
async function assertionsFor(c: GoldenCase, version: string): Promise<readonly StatedAssertion[]> {
  const e = c.expected;
  if (e?.todo && version === c.version) return (e.assertions ?? []).map((a) => ({ line: a.line, verdict: a.verdict }));
  const dialect = profile(version);
  if (!dialect) throw new Error(`${c.id}: no profile ${version}`);
  const report = await verifyGolden(c.source, goldenVerifyOptions(c, goldenContracts(), { dialect }));
  return report.assertions;
}

function binaryOf(source: string): BpftraceBinary | string {
  if (process.getuid?.() !== 0) return 'needs root to run bpftrace';
  const p = probeBinaries().find((x) => (x.ok ? x.bin.source : x.source) === source);
  if (!p) return `unknown source ${source}`;
  return p.ok ? p.bin : p.reason;
}
