/**
 * The god-object check of `npm run lint` (test/lint/size-bounds.mjs) on small trees in a temp
 * dir: a function or class over its bound fails, naming it; one at the bound passes; nested
 * functions are measured on their own too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'size-bounds.mjs');

/** A function of exactly `lines` lines. */
function fn(name: string, lines: number): string {
  return `export function ${name}(): number {\n${'  void 0;\n'.repeat(lines - 3)}  return 1;\n}\n`;
}

function cls(name: string, lines: number): string {
  return `export class ${name} {\n${'  a = 1;\n'.repeat(lines - 2)}}\n`;
}

const CASES: readonly { name: string; file: string; src: string; flagged: readonly string[] }[] = [
  { name: 'a function at the bound passes', file: 'daemon/a.ts', src: fn('atBound', 120), flagged: [] },
  { name: 'a function over the bound fails', file: 'daemon/a.ts', src: fn('tooLong', 121), flagged: ['daemon/a.ts#tooLong: function of 121 lines'] },
  {
    name: 'a long arrow inside another is named and measured on its own too',
    file: 'cli/b.ts',
    src: `export const outer = (): void => {\n  const inner = (): void => {\n${'    void 0;\n'.repeat(125)}  };\n  inner();\n};\n`,
    flagged: ['cli/b.ts#outer: function of 130 lines', 'cli/b.ts#inner: function of 127 lines'],
  },
  { name: 'a class at the bound passes', file: 'kernel-contracts/c.ts', src: cls('Fine', 400), flagged: [] },
  { name: 'a class over the bound fails', file: 'kernel-contracts/c.ts', src: cls('God', 401), flagged: ['kernel-contracts/c.ts#God: class of 401 lines'] },
  { name: 'other folders are not checked', file: 'test/d.ts', src: fn('testHelper', 300), flagged: [] },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-size-bounds-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, path.dirname(c.file)), { recursive: true });
    writeFileSync(path.join(dir, c.file), c.src);
    const r = spawnSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' });
    const found = r.stderr.split('\n').filter((l) => l.startsWith('size-bounds: '));
    t.equal(found.length, c.flagged.length, r.stderr);
    for (const f of c.flagged) t.ok(found.some((l) => l.includes(f)), `${f} in ${r.stderr}`);
    t.equal(r.status, c.flagged.length ? 1 : 0);
  });
}

t.test('the repository passes with its allow-list', async (t) => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});
