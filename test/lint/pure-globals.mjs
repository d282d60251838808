#!/usr/bin/env node
/**
 * The part of "the verifier is pure" that imports cannot show: no ambient I/O through globals.
 * Flags, in daemon/verifier/**.ts, every reference to `process`, `require`, `fetch`, `globalThis`,
 * `__dirname`, `__filename` and `import.meta`. The type checker decides what a name refers to, so
 * a local variable or parameter of the same name does not count. Run by `npm run lint` after dependency-cruiser; exits 1 with one line per finding.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PURE_DIRS = ['daemon/verifier'];
const FORBIDDEN = new Set(['process', 'require', 'fetch', 'globalThis', '__dirname', '__filename']);

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** True when `id` names a global (declared only in lib or @types files), not a key or a local. */
function isGlobalReference(id, checker) {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p)) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  const sym = checker.getSymbolAtLocation(id);
  const decls = sym?.declarations ?? [];
  // No symbol: an undeclared global (e.g. `require` without @types) — still a global reference.
  return decls.length === 0 || decls.every((d) => d.getSourceFile().isDeclarationFile);
}

const files = PURE_DIRS.flatMap((d) => [...tsFiles(path.join(root, d))]);
const cfg = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
const program = ts.createProgram(files, { ...(cfg?.options ?? {}), noEmit: true });
const checker = program.getTypeChecker();
const findings = [];
for (const file of files) {
  const sf = program.getSourceFile(file);
  if (!sf) continue;
  const visit = (n) => {
    let what;
    if (ts.isIdentifier(n) && FORBIDDEN.has(n.text) && isGlobalReference(n, checker)) what = `uses the global \`${n.text}\``;
    else if (ts.isMetaProperty(n) && n.keywordToken === ts.SyntaxKind.ImportKeyword) what = 'uses `import.meta` (module location: file-system access)';
    if (what) {
      const { line, character } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
      findings.push(`${path.relative(root, file)}:${line + 1}:${character + 1}: ${what}; the verifier is pure: take it as a parameter from the caller (daemon/contracts/, daemon/offline/)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
for (const f of findings) process.stdout.write(`${f}\n`);
if (findings.length) {
  process.stdout.write(`pure-globals: ${findings.length} finding(s)\n`);
  process.exit(1);
}
process.stdout.write('pure-globals: daemon/verifier uses no ambient I/O globals\n');
