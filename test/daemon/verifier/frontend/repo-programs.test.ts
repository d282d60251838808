/**
 * Every `.bt` program in this repository (golden corpus, fixtures, datasets) parses and survives a
 * print/parse round trip, except those whose `NAME.expected.json` expects a `parse` diagnostic,
 * which must be rejected with exactly one diagnostic.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { repoRoot } from '../../../../daemon/util/repo-root.js';
import { formatDiagnostic } from '../../../../daemon/protocol/diagnostic.js';
import { astDiff, parse, printProgram } from '../../../../daemon/verifier/frontend/index.js';
import { profile } from '../../../../daemon/verifier/dialect/index.js';
import { checkAcceptance } from '../../../../daemon/verifier/acceptance.js';

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);
/** Recorded inputs of a real bpftrace (`bpftrace-0.23.2/`): broken on purpose, to record its errors. */
const RECORDED_BPFTRACE = /^bpftrace-\d+\.\d+/;

function programs(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !RECORDED_BPFTRACE.test(e.name)) programs(join(dir, e.name), out);
    } else if (e.name.endsWith('.bt')) {
      out.push(join(dir, e.name));
    }
  }
  return out;
}

function expectsParseError(file: string): boolean {
  const exp = file.replace(/\.bt$/, '.expected.json');
  if (!existsSync(exp)) return false;
  try {
    const j = JSON.parse(readFileSync(exp, 'utf8')) as { diagnostics?: { stage?: string }[] };
    return (j.diagnostics ?? []).some((d) => d.stage === 'parse');
  } catch {
    return false;
  }
}

const root = repoRoot();
const files = programs(root).sort();
t.ok(files.length > 0, `${files.length} programs in the repository`);
for (const file of files) {
  const name = relative(root, file);
  const src = readFileSync(file, 'utf8');
  // A per-version golden case is written in its version's language.
  const version = /verifier-dialects\/(\d+\.\d+)\//.exec(name)?.[1];
  const dialect = version ? profile(version) : undefined;
  const r = parse(src, name, dialect ? { dialect } : {});
  if (expectsParseError(file)) {
    if (r.program && dialect) {
      // A version's compile-time refusal (a wider value into a variable) comes from its acceptance rules.
      t.ok(checkAcceptance(r.program, dialect).some((d) => d.severity === 'error'), `${name}: refused by bpftrace ${dialect.version}'s rules as its expectation says`);
      continue;
    }
    t.equal(r.program, undefined, `${name}: rejected as its expectation says`);
    t.equal(r.diagnostics.length, 1, `${name}: one diagnostic`);
    continue;
  }
  t.same(r.diagnostics.map((d) => formatDiagnostic(d, name, src)), [], `${name}: parses`);
  if (!r.program) continue;
  const printed = printProgram(r.program);
  const again = parse(printed, undefined, dialect ? { dialect } : {});
  t.equal(again.program ? astDiff(r.program, again.program) : again.diagnostics[0]?.message, undefined, `${name}: round trip`);
}
