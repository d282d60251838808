#!/usr/bin/env node
/**
 * Keeps god objects from coming back: no function (declaration, method, arrow, constructor,
 * accessor) longer than MAX_FUNCTION_LINES and no class longer than MAX_CLASS_LINES in the
 * sources of daemon/, kernel-contracts/ and cli/, except the ones listed in ALLOWED with the size
 * they have today (an allowed one may shrink, not grow). Lines are counted from the declaration's
 * first line to its last, comments inside included. Run by `npm run lint`; exits 1 with one line
 * per finding. `--report N` lists the N largest functions and classes instead (to set the bounds).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIRS = ['daemon', 'kernel-contracts', 'cli'];
const MAX_FUNCTION_LINES = 120;
const MAX_CLASS_LINES = 400;
/**
 * Today's exceptions, `file#name` -> the most lines it may have. Each is a split still to do;
 * the list only shrinks.
 */
const ALLOWED = new Map([
  ['cli/mcp/tools.ts#registerTools', 198],
  ['kernel-contracts/rebuild/build.ts#buildDataset', 160],
  ['cli/main.ts#main', 151],
  ['daemon/verifier/symbolic/expressions.ts#evalExpr', 126],
  ['daemon/verifier/smt/term.ts#evaluate', 128],
  ['daemon/verifier/frontend/parser.ts#Parser', 908],
  ['kernel-contracts/kernel-reader/btf/btf.ts#BtfImpl', 766],
]);

function* sourceFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** A readable name for a function-like or class node: `Class.method`, `name`, or `(arrow at L12)`. */
function nameOf(node, sf) {
  const own = node.name && ts.isIdentifier(node.name) ? node.name.text : undefined;
  if (ts.isConstructorDeclaration(node)) return `${className(node.parent)}.constructor`;
  if ((ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) && ts.isClassLike(node.parent)) return `${className(node.parent)}.${own ?? '?'}`;
  if (own) return own;
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyDeclaration(p) && ts.isIdentifier(p.name) && ts.isClassLike(p.parent)) return `${className(p.parent)}.${p.name.text}`;
  return `(function at line ${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1})`;
}

function className(c) {
  return c.name?.text ?? '(anonymous class)';
}

function linesOf(node, sf) {
  const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
  const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
  return end - start + 1;
}

const measured = [];
for (const dir of DIRS) {
  for (const file of sourceFiles(path.join(root, dir))) {
    const rel = path.relative(root, file);
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isClassLike(node)) {
        measured.push({ kind: 'class', key: `${rel}#${className(node)}`, lines: linesOf(node, sf), max: MAX_CLASS_LINES });
      } else if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        measured.push({ kind: 'function', key: `${rel}#${nameOf(node, sf)}`, lines: linesOf(node, sf), max: MAX_FUNCTION_LINES });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
}

const reportArg = process.argv.indexOf('--report');
if (reportArg > 0) {
  const n = Number(process.argv[reportArg + 1] ?? 30);
  for (const kind of ['function', 'class']) {
    console.log(`largest ${kind}s:`);
    for (const m of measured.filter((x) => x.kind === kind).sort((a, b) => b.lines - a.lines).slice(0, n)) console.log(`  ${m.lines}\t${m.key}`);
  }
  process.exit(0);
}

const findings = [];
for (const m of measured) {
  const allowed = ALLOWED.get(m.key);
  const max = allowed ?? m.max;
  if (m.lines > max) {
    findings.push(
      allowed !== undefined
        ? `${m.key}: ${m.kind} of ${m.lines} lines, more than the ${allowed} it is allowed today (split it rather than grow it)`
        : `${m.key}: ${m.kind} of ${m.lines} lines, over ${m.max}; split it by responsibility`,
    );
  }
}
// A stale entry (the function was split, renamed or moved) is flagged in the repository itself.
for (const key of rootArg > 0 ? [] : ALLOWED.keys()) {
  if (!measured.some((m) => m.key === key)) findings.push(`${key}: in the size allow-list but not found; remove it from test/lint/size-bounds.mjs`);
}
if (findings.length) {
  for (const f of findings) console.error(`size-bounds: ${f}`);
  process.exit(1);
}
console.log(`size-bounds: no function over ${MAX_FUNCTION_LINES} lines, no class over ${MAX_CLASS_LINES} lines (${ALLOWED.size} allowed exceptions)`);
