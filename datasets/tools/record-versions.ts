/**
 * Writes datasets/example-versions.json: which bpftrace dialect profiles each example fits
 * (`example-fit.ts`), with this host's contracts (tracefs formats and the vmlinux BTF).
 *
 *   npm run build && nice node dist/datasets/tools/record-versions.js [--check]
 *
 * `--check` writes nothing and exits 1 when the file differs from what the verifier says now.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostContractProvider } from '../../daemon/verification/host-contracts.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { defaultExamplesDir, loadExamples } from '../load.js';
import { versionsFileFor } from '../versions.js';
import { computeVersions } from './example-fit.js';

const check = process.argv.includes('--check');
const dir = defaultExamplesDir();
const file = versionsFileFor(dir);
const examples = loadExamples(dir);
let done = 0;
const record = await computeVersions(examples, hostContractProvider(realHost()), () => {
  done++;
  if (done % 10 === 0) process.stderr.write(`${done}/${examples.length}\n`);
});
const text = `${JSON.stringify(record, null, 2)}\n`;
if (check) {
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    /* absent: differs */
  }
  if (old !== text) {
    process.stderr.write(`${file} differs from what the verifier says now: regenerate it\n`);
    process.exit(1);
  }
  process.stdout.write(`${file} agrees with the verifier\n`);
} else {
  writeFileSync(file, text);
  const fitAll = Object.values(record.examples).filter((r) => r.versions.length === record.profiles.length).length;
  process.stdout.write(`${file}: ${examples.length} examples, ${fitAll} fit every profile (${record.profiles.join(', ')})\n`);
}
