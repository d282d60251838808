#!/usr/bin/env node
/**
 * No issue numbers in code comments (STYLE: a comment says why, in words that stay true when the
 * tracker is gone). Flags the word issue followed by a number (with or without `#`) in the comments of every
 * .ts/.mjs/.cjs file under daemon/, cli/, kernel-contracts/, datasets/ and test/ (strings are not
 * comments: a test may print `#3`). Run by `npm run lint`; exits 1 with one line per finding.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIRS = ['daemon', 'cli', 'kernel-contracts', 'datasets', 'test'];
const ISSUE = /\bissues?\s*#?\d+/i;

function* sourceFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'fixtures') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|mts|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

const findings = [];
for (const file of DIRS.flatMap((d) => [...sourceFiles(path.join(root, d))])) {
  const text = readFileSync(file, 'utf8');
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k !== ts.SyntaxKind.SingleLineCommentTrivia && k !== ts.SyntaxKind.MultiLineCommentTrivia) continue;
    const comment = scanner.getTokenText();
    const m = ISSUE.exec(comment);
    if (!m) continue;
    const at = scanner.getTokenStart() + m.index;
    const line = text.slice(0, at).split('\n').length;
    findings.push(`${path.relative(root, file)}:${line}: "${m[0]}" in a comment: say what it is about instead of citing the tracker`);
  }
}
for (const f of findings) process.stdout.write(`${f}\n`);
if (findings.length) {
  process.stdout.write(`issue-refs: ${findings.length} finding(s)\n`);
  process.exit(1);
}
process.stdout.write('issue-refs: no issue numbers in comments\n');
