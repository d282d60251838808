#!/usr/bin/env node
// Runs the whole tap suite and ends with the line CI reads: `tests: N passed, N failed`.
// tap's own closing summary (`# { total, pass, fail }`) is not recognised by CI, so we read its
// TAP stream, pass it through unchanged, count top-level test points, and keep tap's exit status.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tapBin = path.join(root, 'node_modules', '.bin', 'tap');
const args = ['--reporter=tap', ...process.argv.slice(2)];
const child = spawn(tapBin, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });

let passed = 0;
let failed = 0;
let skipped = 0;
let buffered = '';
const countLine = (line) => {
  // Top-level points are the test files; nested subtests are indented. We count the leaf
  // assertions' parents (top-level subtests of each file) via tap's summary comment lines instead.
  const m = /^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/.exec(line);
  if (m) return;
  const point = /^(\s*)(not ok|ok) \d+ /.exec(line);
  if (!point || point[1].length !== 4) return;
  if (point[2] === 'ok') {
    if (/# SKIP/i.test(line)) skipped++;
    else passed++;
  } else if (!/# TODO/i.test(line)) failed++;
};
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buffered += chunk.toString('utf8');
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    countLine(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
  }
});
child.on('close', (code, signal) => {
  if (buffered) countLine(buffered);
  const status = code ?? (signal ? 1 : 0);
  if (status !== 0 && failed === 0) failed = 1; // tap failed outside any test point (e.g. a crash)
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(status);
});
