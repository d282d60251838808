#!/usr/bin/env node
/**
 * Dead exports: an export of a source file under daemon/, cli/, kernel-contracts/ or datasets/
 * that no other file (source or test) imports, re-exports or names in an `import('...')` type,
 * and that its own file does not use either. A module loaded with a dynamic `import()` counts as
 * wholly used, and so does one imported as a namespace (`import * as`). The type checker resolves
 * each import through re-exports to the declaration; a re-export (`export { a } from`, an index's
 * API) counts as a use. Run by `npm run lint`; exits 1 with one line per
 * finding. `--all` also lists exports used only inside their own file (the `export` could go;
 * informational, not a failure).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const rootArg = process.argv.indexOf('--root');
/** The repository (`--root DIR`: another tree laid out the same way, for the tests of this check). */
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECKED = ['daemon', 'cli', 'kernel-contracts', 'datasets'];
const CONSUMERS = [...CHECKED, 'test'];
/** Exports kept on purpose although nothing imports them, with why. */
const KEEP = new Map([
  ['daemon/verifier/smt/solver.ts#setSolverTrace', 'the debugging hook the module comment documents (installed by hand)'],
]);
const listAll = process.argv.includes('--all');

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const files = CONSUMERS.filter((d) => existsSync(path.join(root, d))).flatMap((d) => [...tsFiles(path.join(root, d))]);
const cfg = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
const program = ts.createProgram(files, { ...(cfg?.options ?? {}), noEmit: true });
const checker = program.getTypeChecker();

/** Export symbols used from another file; modules used whole. */
const used = new Set();
const usedWhole = new Set();

/** Marks `sym` and every alias it goes through to its declaration. */
function markChain(sym) {
  for (let s = sym, n = 0; s && n < 20; n++) {
    used.add(s);
    if (!(s.flags & ts.SymbolFlags.Alias)) break;
    s = checker.getImmediateAliasedSymbol(s);
  }
}

function moduleFileOf(specifier) {
  const sym = checker.getSymbolAtLocation(specifier);
  return sym?.valueDeclaration && ts.isSourceFile(sym.valueDeclaration) ? sym.valueDeclaration.fileName : undefined;
}

for (const sf of program.getSourceFiles()) {
  if (sf.isDeclarationFile || !files.includes(path.resolve(sf.fileName))) continue;
  const visit = (n) => {
    if (ts.isImportDeclaration(n) && n.importClause) {
      const c = n.importClause;
      if (c.name) markChain(checker.getSymbolAtLocation(c.name));
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b)) {
        const f = moduleFileOf(n.moduleSpecifier);
        if (f) usedWhole.add(f);
      } else if (b) for (const el of b.elements) markChain(checker.getSymbolAtLocation(el.name));
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier) {
      if (!n.exportClause) {
        // `export * from`: the names are used if imported from here (resolved through it).
      } else if (ts.isNamespaceExport(n.exportClause)) {
        const f = moduleFileOf(n.moduleSpecifier);
        if (f) usedWhole.add(f);
      } else {
        // `export { a } from`: an index's API; the re-export keeps `a` alive.
        for (const el of n.exportClause.elements) {
          const own = checker.getSymbolAtLocation(el.name);
          if (own && own.flags & ts.SymbolFlags.Alias) markChain(checker.getImmediateAliasedSymbol(own));
        }
      }
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0]) {
      const f = moduleFileOf(n.arguments[0]);
      if (f) usedWhole.add(f);
    } else if (ts.isImportTypeNode(n)) {
      const target = n.argument && ts.isLiteralTypeNode(n.argument) ? n.argument.literal : undefined;
      if (target && n.qualifier) {
        const first = ts.isIdentifier(n.qualifier) ? n.qualifier : n.qualifier.left;
        const mod = checker.getSymbolAtLocation(target);
        const exp = mod && checker.getExportsOfModule(mod).find((s) => s.name === (ts.isIdentifier(first) ? first.text : ''));
        if (exp) markChain(exp);
      } else if (target) {
        const f = moduleFileOf(target);
        if (f) usedWhole.add(f);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

/** Whether `sym` is referenced in `sf` other than by its own declaration's name. */
function usedInFile(sf, sym) {
  const names = new Set((sym.declarations ?? []).map((d) => d.name).filter(Boolean));
  let found = false;
  const visit = (n) => {
    if (found) return;
    if (ts.isIdentifier(n) && n.text === sym.name && !names.has(n)) {
      const s = checker.getSymbolAtLocation(n);
      if (s === sym || (s && s.flags & ts.SymbolFlags.Alias && checker.getAliasedSymbol(s) === sym) || (s && checker.getExportSymbolOfSymbol(s) === sym)) found = true;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const findings = [];
const localOnly = [];
for (const file of files) {
  const rel = path.relative(root, file);
  if (!CHECKED.some((d) => rel.startsWith(`${d}/`))) continue;
  const sf = program.getSourceFile(file);
  const mod = sf && checker.getSymbolAtLocation(sf);
  if (!mod || usedWhole.has(sf.fileName)) continue;
  for (const exp of checker.getExportsOfModule(mod)) {
    if (used.has(exp)) continue;
    // A name this file re-exports is its API; it is alive when what it names is.
    if (exp.flags & ts.SymbolFlags.Alias && used.has(checker.getAliasedSymbol(exp))) continue;
    const decl = exp.declarations?.find((d) => d.getSourceFile() === sf) ?? exp.declarations?.[0];
    // Exports that come in through `export *` are the re-exporting file's business only if declared there.
    if (!decl || decl.getSourceFile() !== sf) continue;
    if (KEEP.has(`${rel}#${exp.name}`)) continue;
    const { line } = sf.getLineAndCharacterOfPosition(decl.getStart(sf));
    if (!usedInFile(sf, exp)) findings.push(`${rel}:${line + 1}: \`${exp.name}\` is exported and nothing uses it: remove it`);
    else if (listAll) localOnly.push(`${rel}:${line + 1}: \`${exp.name}\` is used only in its own file (the \`export\` could go)`);
  }
}
for (const f of localOnly.sort()) process.stdout.write(`${f}\n`);
for (const f of findings.sort()) process.stdout.write(`${f}\n`);
if (findings.length) {
  process.stdout.write(`unused-exports: ${findings.length} dead export(s)\n`);
  process.exit(1);
}
process.stdout.write('unused-exports: no dead exports\n');
