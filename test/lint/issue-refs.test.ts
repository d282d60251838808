/**
 * The issue-number check of `npm run lint` (test/lint/issue-refs.mjs) on small trees in a temp
 * dir: an issue number in a line or block comment fails; the same text in a string, or a `#3`
 * that is no issue, passes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'issue-refs.mjs');
const word = 'iss' + 'ue';

const CASES: readonly { name: string; src: string; lines: readonly number[] }[] = [
  { name: 'line comment', src: `const a = 1; // see ${word} 9\n`, lines: [1] },
  { name: 'block comment with #', src: `/**\n * Faults (${word}s #3, item 7).\n */\nexport const a = 1;\n`, lines: [2] },
  { name: 'a string is no comment', src: `export const a = '${word} 9';\n`, lines: [] },
  { name: 'a request number is no issue', src: `// no unused script entry matches request #3\nexport const a = 1;\n`, lines: [] },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-issue-refs-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'daemon'));
    writeFileSync(path.join(dir, 'daemon', 'a.ts'), c.src);
    let out: string;
    let status = 0;
    try {
      out = execFileSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { status: number; stdout: string };
      status = e.status;
      out = e.stdout;
    }
    t.same([...out.matchAll(/^daemon\/a\.ts:(\d+):/gm)].map((m) => Number(m[1])), c.lines, out);
    t.equal(status, c.lines.length ? 1 : 0);
  });
}
