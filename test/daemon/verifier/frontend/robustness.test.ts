/**
 * The parser never throws on malformed input: random single-character edits of real programs give
 * either a program that round-trips through the printer or exactly one diagnostic with a span.
 * (LLM output is arbitrary text; the front-end sees it first.)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { astDiff, parse, printProgram } from '../../../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, runLints } from '../../../../daemon/verifier/lints/index.js';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/verifier/frontend');

function sources(): { name: string; text: string }[] {
  const out = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.bt'))
    .map((f) => ({ name: f, text: readFileSync(join(FIXTURES, f), 'utf8') }));
  try {
    const listed = execFileSync('dpkg', ['-L', 'bpftrace'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const f of listed.split('\n').filter((x) => x.endsWith('.bt'))) out.push({ name: f, text: readFileSync(f, 'utf8') });
  } catch {
    t.comment('bpftrace package not installed: mutating the fixtures only');
  }
  return out;
}

const ALPHABET = '{}()[];,/*+-"\'#@$:.?!<>=&|^~%\\ \n0aZ_';

t.test('random edits never crash the parser, the printer or the lints', async (t) => {
  let seed = 20261125;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  let parsed = 0;
  let rejected = 0;
  const problems: string[] = [];
  for (const { name, text } of sources()) {
    for (let k = 0; k < 60; k++) {
      let s = text;
      for (let j = 0, m = 1 + rnd(3); j < m; j++) {
        const p = rnd(s.length);
        const c = ALPHABET[rnd(ALPHABET.length)] ?? ' ';
        const op = rnd(3);
        s = op === 0 ? s.slice(0, p) + s.slice(p + 1) : op === 1 ? s.slice(0, p) + c + s.slice(p) : s.slice(0, p) + c + s.slice(p + 1);
      }
      try {
        const r = parse(s, name);
        if (r.program) {
          parsed++;
          const again = parse(printProgram(r.program));
          const diff = again.program ? astDiff(r.program, again.program) : again.diagnostics[0]?.message;
          if (diff) problems.push(`${name} #${k}: round trip: ${diff}`);
          const crashed = runLints(r.program, { probes: ALL_PROBES_AVAILABLE, policy: { allowUnsafe: false } }).filter((d) => d.code === 'lint.internal-error');
          for (const d of crashed) problems.push(`${name} #${k}: ${d.message}`);
        } else {
          rejected++;
          if (r.diagnostics.length !== 1 || !r.diagnostics[0]?.span) problems.push(`${name} #${k}: ${r.diagnostics.length} diagnostics`);
        }
      } catch (e) {
        problems.push(`${name} #${k}: threw ${String(e)}`);
      }
    }
  }
  t.same(problems, []);
  t.ok(parsed > 0 && rejected > 0, `${parsed} mutants parsed, ${rejected} rejected`);
});
