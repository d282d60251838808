/**
 * Prints, as JSON, the outcome of every fact (or those whose id matches the first argument, a
 * regular expression) in every available bpftrace binary of this host, for recording a new
 * version in facts.ts or checking one fact by hand:
 *   node --import @tapjs/typescript/import test/dialects/record-facts.ts [ID-REGEX]
 * Needs root. Prints nothing about a binary it cannot run except the reason, on stderr.
 */
import { probeBinaries } from './binaries.js';
import { runFact, type Outcome } from './fact-run.js';
import { FACTS } from './facts.js';

const only = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
const bins = probeBinaries().flatMap((p) => {
  if (p.ok) return [p.bin];
  process.stderr.write(`${p.source}: ${p.reason}\n`);
  return [];
});
const out: Record<string, Record<string, Outcome>> = {};
for (const f of FACTS) {
  if (only && !only.test(f.id)) continue;
  const row: Record<string, Outcome> = {};
  for (const b of bins) row[b.version] = await runFact(b.path, f);
  out[f.id] = row;
}
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
