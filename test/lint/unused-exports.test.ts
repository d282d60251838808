/**
 * The dead-export check of `npm run lint` (test/lint/unused-exports.mjs), run on small source
 * trees in a temp dir: an export nothing imports and its own file does not use fails the lint;
 * imports (named, type-only, namespace, dynamic, `import('...')` types) and re-exports keep an
 * export alive; an export used only in its own file passes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'unused-exports.mjs');
const TSCONFIG = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true }, include: ['daemon/**/*.ts', 'test/**/*.ts'] });

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  /** Names reported as dead; empty: the check passes. */
  readonly dead: readonly string[];
}

const CASES: readonly Case[] = [
  { name: 'an export nothing uses', files: { 'daemon/a.ts': 'export function unused(): number { return 1; }\n' }, dead: ['unused'] },
  { name: 'an exported type nothing uses', files: { 'daemon/a.ts': 'export const codes = { A: 1 } as const;\nexport type CodeValue = (typeof codes)[keyof typeof codes];\n', 'daemon/b.ts': "import { codes } from './a.js';\nexport const x = codes.A;\nconsole.log(x);\n" }, dead: ['CodeValue'] },
  { name: 'a named import keeps it', files: { 'daemon/a.ts': 'export function f(): number { return 1; }\n', 'test/a.test.ts': "import { f } from '../daemon/a.js';\nf();\n" }, dead: [] },
  { name: 'a type-only import keeps it', files: { 'daemon/a.ts': 'export interface T { a: number }\n', 'daemon/b.ts': "import type { T } from './a.js';\nconst t: T = { a: 1 };\nconsole.log(t);\n" }, dead: [] },
  { name: 'a re-export (an index API) keeps it', files: { 'daemon/a.ts': 'export const v = 1;\nexport const w = 2;\n', 'daemon/index.ts': "export { v, w } from './a.js';\n", 'daemon/b.ts': "import { v } from './index.js';\nconsole.log(v);\n" }, dead: [] },
  { name: 'a dynamic import keeps the whole module', files: { 'daemon/a.ts': 'export const v = 1;\nexport const w = 2;\n', 'daemon/b.ts': "void import('./a.js');\n" }, dead: [] },
  { name: 'a namespace import keeps the whole module', files: { 'daemon/a.ts': 'export const v = 1;\n', 'daemon/b.ts': "import * as a from './a.js';\nconsole.log(a);\n" }, dead: [] },
  { name: "an import('...') type keeps it", files: { 'daemon/a.ts': 'export interface T { a: number }\n', 'daemon/b.ts': "const t: import('./a.js').T = { a: 1 };\nconsole.log(t);\n" }, dead: [] },
  { name: 'used in its own file only: passes', files: { 'daemon/a.ts': 'export interface Opts { a: number }\nexport function g(o: Opts): number { return o.a; }\n', 'daemon/b.ts': "import { g } from './a.js';\nconsole.log(g({ a: 1 }));\n" }, dead: [] },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-unused-exports-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'tsconfig.json'), TSCONFIG);
    for (const [file, src] of Object.entries(c.files)) {
      mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(dir, file), src);
    }
    let out: string;
    let status = 0;
    try {
      out = execFileSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { status: number; stdout: string };
      status = e.status;
      out = e.stdout;
    }
    const dead = [...out.matchAll(/`([^`]+)` is exported and nothing uses it/g)].map((m) => m[1]).sort();
    t.same(dead, [...c.dead].sort(), out);
    t.equal(status, c.dead.length ? 1 : 0, 'exit status');
  });
}
