/**
 * The dialect corpus (test/golden/verifier-dialects/<version>/<verdict>/): each program is verified
 * under its version, where it must meet its expectation (compareReport, as the 0.17 corpus), and
 * under every version it `differsFrom` ("0.17" always), where it must get the verdict stated there;
 * at least one of those differs from its own, which is the point of the case. The same programs on
 * the real binaries: golden-dialects-{host,trixie,sid}.test.ts.
 */
import t from 'tap';
import { astEqual, parse, printProgram } from '../../../daemon/verifier/frontend/index.js';
import { profile } from '../../../daemon/verifier/dialect/index.js';
import type { VerifyReport } from '../../../daemon/verifier/report.js';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GOLDEN_CATEGORIES,
  compareReport,
  goldenContracts,
  goldenVerifyOptions,
  loadDialectGoldenCases,
  updatedExpectation,
  verifyGolden,
  writeExpectation,
  type GoldenCase,
} from '../../support/golden.js';
import { checkClaims, formatPattern, printedClaims, programForBpftrace, refusedToRun } from '../../support/golden-dialects.js';

const update = process.env.UPDATE_GOLDEN === '1';
const cases = loadDialectGoldenCases();
const contracts = goldenContracts();
const staleTodos: string[] = [];

function verifyUnder(c: GoldenCase, version: string): Promise<VerifyReport> {
  const dialect = profile(version);
  if (!dialect) throw new Error(`${c.id}: no profile ${version}`);
  return verifyGolden(c.source, goldenVerifyOptions(c, contracts, { dialect }));
}

t.test('corpus layout', async (t) => {
  const count = (version: string, category?: string): number => cases.filter((c) => c.version === version && (category === undefined || c.category === category)).length;
  for (const c of cases) t.ok((GOLDEN_CATEGORIES as readonly string[]).includes(c.category), `${c.id}: known folder ${c.category}/`);
  t.ok(cases.length >= 30, `at least 30 cases (${cases.length})`);
  // The versions with a binary here carry every kind of verdict: what they accept, prove and refute differently.
  for (const v of ['0.23', '0.27']) for (const cat of ['proved', 'refuted', 'invalid']) t.ok(count(v, cat) >= 1, `${v} has ${cat}/ cases (${count(v, cat)})`);
  for (const c of cases) t.ok(c.expected, `${c.id} has ${c.name}.expected.json`);
});

for (const c of cases) {
  t.test(c.id, async (t) => {
    const expected = c.expected;
    const version = c.version;
    if (!expected || version === undefined) return t.fail('no expectation');
    const dialect = profile(version);
    if (!dialect) return t.fail(`no profile ${version} in daemon/verifier/dialect/profiles.ts`);
    t.equal(expected.verdict, c.category, 'folder matches the expected verdict');

    // The whole program reads with the newest syntax and round-trips, as the 0.17 corpus's.
    const parsed = parse(c.source, `${c.name}.bt`);
    if (!parsed.program) return t.fail(`parse error: ${parsed.diagnostics.map((d) => d.message).join('; ')}`);
    const again = parse(printProgram(parsed.program));
    t.ok(again.program && astEqual(parsed.program, again.program), 'print/parse round-trips to an equal AST');

    // How its facts were established is said, and honestly: a profile not run here is marked.
    if (dialect.checked === 'from-source') t.match(expected.fromSources ?? '', /^from sources, not run here/, `${version} is not run here: "fromSources" says so`);
    else t.equal(expected.fromSources, undefined, `${version} is run here: no "fromSources"`);
    // The corpus is about acceptance and meaning; an invalid case is one a version refuses to compile.
    if (expected.verdict === 'invalid') t.ok(expected.diagnostics?.some((d) => d.code?.startsWith('parse.')), 'invalid for a compile reason (a parse.* diagnostic)');

    const report = await verifyUnder(c, version);
    if (update) {
      // Keeps the description, dialect, differsFrom and fromSources (and a todo case as it is).
      writeExpectation(c.expectedFile, updatedExpectation(report, expected));
      return t.pass(`updated ${c.name}.expected.json (${report.verdict})`);
    }
    const diffs = compareReport(report, expected);
    t.same(diffs, [], `${version}: ${expected.description}`, expected.todo ? { todo: expected.todo } : {});
    if (expected.todo && diffs.length === 0) staleTodos.push(`${c.id}.expected.json`);

    const others = Object.entries(expected.differsFrom ?? {});
    t.ok(others.some(([, v]) => v !== expected.verdict), `differs from ${others.map(([v, verdict]) => `${v} (${verdict})`).join(', ')}`);
    for (const [other, verdict] of others) {
      const r = await verifyUnder(c, other);
      t.equal(r.verdict, verdict, `under ${other}: ${verdict}${r.verdict !== verdict ? ` (${r.diagnostics.map((d) => d.message).join(' | ')})` : ''}`);
    }
  });
}

t.test('todo markers are current', async (t) => {
  t.same(staleTodos, [], 'the verifier meets these expectations now: remove their "todo"');
});

// A corpus that is silent or wrong about its versions must fail to load, loudly.
t.test('the loader refuses a malformed dialect case', async (t) => {
  const table: [string, string, Record<string, unknown>, RegExp][] = [
    ['a folder that is no version', 'trixie', { dialect: '0.23', differsFrom: { '0.17': 'invalid' } }, /named major\.minor/],
    ['no dialect', '0.23', { differsFrom: { '0.17': 'invalid' } }, /"dialect" must be "0\.23"/],
    ['a dialect other than its folder', '0.23', { dialect: '0.27', differsFrom: { '0.17': 'invalid' } }, /"dialect" must be "0\.23"/],
    ['no differsFrom', '0.23', { dialect: '0.23' }, /"differsFrom" must give the verdict under "0\.17"/],
    ['differsFrom without 0.17', '0.23', { dialect: '0.23', differsFrom: { '0.22': 'invalid' } }, /under "0\.17"/],
    ['a bad verdict in differsFrom', '0.23', { dialect: '0.23', differsFrom: { '0.17': 'accepted' } }, /bad verdict accepted for 0\.17/],
    ['a bad version in differsFrom', '0.23', { dialect: '0.23', differsFrom: { '0.17': 'invalid', latest: 'proved' } }, /"latest" is not a major\.minor/],
    ['an empty fromSources', '0.23', { dialect: '0.23', differsFrom: { '0.17': 'invalid' }, fromSources: '' }, /fromSources must be a non-empty string/],
  ];
  for (const [what, folder, fields, error] of table) {
    const dir = mkdtempSync(path.join(tmpdir(), 'kgent-golden-dialects-'));
    try {
      mkdirSync(path.join(dir, folder, 'proved'), { recursive: true });
      writeFileSync(path.join(dir, folder, 'proved', 'x.bt'), 'BEGIN { exit(); }\n');
      writeFileSync(path.join(dir, folder, 'proved', 'x.expected.json'), JSON.stringify({ description: what, verdict: 'proved', ...fields }));
      t.throws(() => loadDialectGoldenCases(dir), error, what);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

// The checks the binary tests make, on made-up runs: each must catch a disagreement.
t.test('the binary checks catch what they should', async (t) => {
  const program = (body: string) => {
    const p = parse(`BEGIN {\n${body}\n}`).program;
    if (!p) throw new Error(body);
    return p;
  };
  const straight = printedClaims(program('printf("%d\\n", 1);\nassert(printed(0) == 1);\nprintf("%d %d\\n", 2, 3);\nassert(3 != printed(1));\nexit();'));
  t.same(
    straight.claims.map((c) => [c.line, c.printfIndex, c.arg, c.op, c.value]),
    [
      [3, 0, 0, '==', 1n],
      [5, 1, 1, '!=', 3n],
    ],
    'top-level claims map to their printf and argument (a literal on the left is flipped)',
  );
  const nestedPrintf = printedClaims(program('if (pid > 0) { printf("%d\\n", 1); }\nprintf("%d\\n", 2);\nassert(printed(0) == 2);'));
  t.same([nestedPrintf.claims.length, nestedPrintf.unmapped], [0, [4]], 'after a printf in a branch the output line is not known: unmapped');
  t.same(printedClaims(program('printf("%d", 1);\nprintf("%d\\n", 2);\nassert(printed(0) == 2);')).claims, [], 'a printf without its own line: unmapped');

  // A claim right after a printf of its own format, inside a branch: found by the format.
  const branch = printedClaims(program('if (pid == 0) { printf("small %d\\n", 1); } else { printf("%d\\n", 2);\nassert(printed(0) == 2); }\nexit();'));
  t.same([branch.claims.length, branch.unmapped], [1, []], 'a claim after a printf of a format of its own is mapped by the format');
  const byFormat = branch.claims;
  const proved = (): VerifyReport['assertions'] => [{ line: 3, column: 1, text: '', probe: 'BEGIN', verdict: 'proved' }];
  const formatTable: [string, string, boolean | undefined][] = [
    ['its line printed once', 'Attaching 1 probe...\n2\n', true],
    ['its line printed with another value', '3\n', false],
    ['the other branch printed', 'small 1\n', undefined],
    ['its line printed twice', '2\n2\n', undefined],
  ];
  for (const [what, stdout, agrees] of formatTable) t.equal(checkClaims(byFormat, proved(), stdout)[0]?.agrees, agrees, `by format: ${what}`);
  const patterns: [string, string, boolean][] = [
    ['%d\n', '-12', true],
    ['a %5ld b %u\n', 'a    12 b 3', true],
    ['a %5ld b %u\n', 'a 12 b', false],
    ['(%d)\n', '(7)', true],
  ];
  for (const [fmt, line, matches] of patterns) t.equal(formatPattern(fmt)?.test(line), matches, `${JSON.stringify(fmt)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(line)}`);
  for (const fmt of ['%s\n', '%%d\n', '%d', '%d\n%d\n', '%x\n']) t.equal(formatPattern(fmt), undefined, `no pattern for ${JSON.stringify(fmt)}`);

  const claims = straight.claims.slice(0, 1);
  const verdict = (v: 'proved' | 'refuted' | 'unknown', inputs: Record<string, string> = {}): VerifyReport =>
    ({ verdict: v, diagnostics: [], assertions: [{ line: 3, column: 1, text: '', probe: 'BEGIN', verdict: v, ...(v === 'refuted' ? { counterexample: { inputs, computed: {}, summary: 's' } } : {}) }] }) as unknown as VerifyReport;
  const table: [string, VerifyReport, string, boolean | undefined][] = [
    ['proved and printed 1', verdict('proved'), 'Attaching 1 probe...\n1\n2 3\n\n', true],
    ['proved but printed 2', verdict('proved'), '2\n2 3\n', false],
    ['refuted and printed 2', verdict('refuted'), '2\n', true],
    ['refuted without inputs but printed 1', verdict('refuted'), '1\n', false],
    ['refuted for some pid, printed 1 on this run', verdict('refuted', { pid: '7' }), '1\n', undefined],
    ['unknown', verdict('unknown'), '5\n', undefined],
    ['proved but printed nothing', verdict('proved'), '\n\n@m[1]: 5\n', false],
  ];
  for (const [what, report, stdout, agrees] of table) t.equal(checkClaims(claims, report.assertions, stdout)[0]?.agrees, agrees, what);

  const outcome = (compiles: boolean, exit: number, stdout = '') => ({ compiles, exit, stdout, stderr: '', error: '' });
  t.ok(refusedToRun(outcome(false, 1)), 'a compile error is a refusal');
  t.ok(refusedToRun(outcome(true, 139)), 'a crash before any output is a refusal');
  t.notOk(refusedToRun(outcome(true, 139, '1\n')), 'a crash after the program printed is not');
  t.notOk(refusedToRun(outcome(true, 0, '1\n')), 'a run is not');
  t.notMatch(programForBpftrace('BEGIN { $x = 1; assert($x == 1); exit(); }'), /assert/, 'bpftrace never sees an annotation');
});
