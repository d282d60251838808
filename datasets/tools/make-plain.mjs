#!/usr/bin/env node
// Writes each example's plain program from its annotated version: the `.annotated.bt` file minus
// its annotation lines (a line holding only `assume(...);`, `assert(...);` or `cover(...);`).
// Usage: node datasets/tools/make-plain.mjs [FILE.annotated.bt ...]   (default: every example)
// The CI test still checks the result the real way (annotations stripped on the AST).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const examples = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'examples');
const ANNOTATION = /^\s*(assume|assert|cover)\s*\(.*\)\s*;\s*$/;

function plainOf(text) {
  const kept = text.split('\n').filter((l) => !ANNOTATION.test(l));
  return kept.join('\n').replace(/\n{3,}/g, '\n\n').replace(/\s*$/, '\n');
}

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(examples).flatMap((area) =>
      readdirSync(path.join(examples, area))
        .filter((n) => n.endsWith('.annotated.bt'))
        .map((n) => path.join(examples, area, n)),
    );
for (const f of files) {
  const out = f.replace(/\.annotated\.bt$/, '.bt');
  writeFileSync(out, plainOf(readFileSync(f, 'utf8')));
}
console.log(`wrote ${files.length} plain programs`);
