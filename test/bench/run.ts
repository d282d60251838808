/**
 * `npm run bench`: runs every `*-bench.js` module next to this file (compiled in dist/test/bench),
 * one after another, each printing its own figures. `npm run bench -- verifier` runs only those
 * whose name contains "verifier".
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('-bench.js')).filter((f) => filters.every((x) => f.includes(x))).sort();
if (files.length === 0) {
  process.stderr.write(`bench: no benchmark matches ${filters.join(' ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n=== ${f.replace(/\.js$/, '')} ===\n`);
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') {
    process.stderr.write(`bench: ${f} exports no run()\n`);
    failed++;
    continue;
  }
  try {
    await mod.run();
  } catch (err) {
    failed++;
    process.stderr.write(`bench: ${f} failed: ${(err as Error).stack ?? String(err)}\n`);
  }
}
process.exit(failed ? 1 : 0);
