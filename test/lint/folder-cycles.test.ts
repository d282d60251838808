/**
 * The folder-level cycle rule of `npm run lint` (`no-circular-folders` in .dependency-cruiser.cjs),
 * run by dependency-cruiser on small source trees in a temp dir: two folders that import each
 * other through different files (no module cycle) are a violation, with value or type-only
 * imports and through a third folder; imports in one direction are not. A folder contains its
 * subfolders for dependency-cruiser, so daemon/ files (app.ts, config.ts, errors.ts) and the
 * folders under daemon/ are not a folder cycle (a module cycle there is still `no-circular`'s).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cruise } from 'dependency-cruiser';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as { forbidden: { name: string }[] };
const rule = config.forbidden.find((r) => r.name === 'no-circular-folders');

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  /** The folders of the reported cycle, sorted; empty when none is expected. */
  readonly cycle: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'two folders through different files (no module cycle)',
    files: { 'a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n", 'b/y.ts': 'export const y = 1;\n', 'b/z.ts': "import { w } from '../a/w.js';\nexport const z = w;\n", 'a/w.ts': 'export const w = 2;\n' },
    cycle: ['a', 'b'],
  },
  {
    name: 'a type-only import closes the cycle (doctor.ts importing a type from programs/)',
    files: { 'a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n", 'b/y.ts': 'export const y = 1;\n', 'b/z.ts': "import type { W } from '../a/w.js';\nexport const z: W = 1;\n", 'a/w.ts': 'export type W = number;\n' },
    cycle: ['a', 'b'],
  },
  {
    name: 'three folders',
    files: { 'a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n", 'b/y.ts': "import { z } from '../c/z.js';\nexport const y = z;\n", 'c/z.ts': "import { w } from '../a/w.js';\nexport const z = w;\n", 'a/w.ts': 'export const w = 2;\n' },
    cycle: ['a', 'b', 'c'],
  },
  {
    name: 'one direction only',
    files: { 'a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n", 'a/w.ts': "import { z } from '../b/z.js';\nexport const w = z;\n", 'b/y.ts': 'export const y = 1;\n', 'b/z.ts': "import { y } from './y.js';\nexport const z = y;\n" },
    cycle: [],
  },
  {
    name: 'a folder and its subfolder (the composition root and its rooms)',
    files: { 'a/root.ts': "import { y } from './b/y.js';\nexport const r = y;\n", 'a/b/y.ts': "import { c } from '../config.js';\nexport const y = c;\n", 'a/config.ts': 'export const c = 1;\n' },
    cycle: [],
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    t.ok(rule, 'the rule is in .dependency-cruiser.cjs');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-folder-cycles-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const [file, src] of Object.entries(c.files)) {
      mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(dir, file), src);
    }
    const tops = [...new Set(Object.keys(c.files).map((f) => f.split('/')[0]!))];
    const r = await cruise(tops, { baseDir: dir, ruleSet: { forbidden: [rule as never] }, validate: true, tsPreCompilationDeps: true, enhancedResolveOptions: { extensions: ['.ts', '.js'] } });
    const output = r.output as { summary: { violations: { rule: { name: string }; from: string; cycle?: { name: string }[] }[] } };
    const cycles = output.summary.violations.filter((v) => v.rule.name === 'no-circular-folders');
    if (c.cycle.length === 0) t.same(cycles, [], 'no folder cycle');
    else {
      t.ok(cycles.length > 0, 'a folder cycle is reported');
      for (const v of cycles) t.same([v.from, ...(v.cycle ?? []).map((s) => s.name)].filter((f, i, all) => all.indexOf(f) === i).sort(), c.cycle);
    }
  });
}
