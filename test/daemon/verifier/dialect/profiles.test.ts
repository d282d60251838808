/**
 * The dialect profiles: choosing one from a version, and the facts each carries (introduced in the
 * first profile that has them and kept after, unless a later version removed them).
 */
import t from 'tap';
import { DEFAULT_DIALECT, hasBuiltin, hasFunction, nearestProfile, parseVersion, PROFILES, profile } from '../../../../daemon/verifier/dialect/index.js';

t.test('versions are read from bpftrace --version and package strings', async (t) => {
  t.same(parseVersion('bpftrace v0.23.2'), { major: 0, minor: 23, patch: 2 });
  t.same(parseVersion('0.17.0'), { major: 0, minor: 17, patch: 0 });
  t.same(parseVersion('v0.27.0-rc1'), { major: 0, minor: 27, patch: 0 });
  t.same(parseVersion('0.20'), { major: 0, minor: 20, patch: 0 });
  t.equal(parseVersion('bpftrace'), undefined);
});

const NEAREST: readonly [string, string, string][] = [
  ['v0.17.0', 'exact', '0.17'],
  ['0.17.1', 'exact', '0.17'],
  ['0.18.0', 'nearest-below', '0.17'],
  ['0.19.1', 'nearest-below', '0.17'],
  ['0.20.2', 'exact', '0.20'],
  ['0.21.3', 'exact', '0.21'],
  ['0.22.1', 'exact', '0.22'],
  ['bpftrace v0.23.2', 'exact', '0.23'],
  ['0.24.2', 'exact', '0.24'],
  ['0.25.1', 'exact', '0.25'],
  ['0.26.1', 'exact', '0.26'],
  ['0.27.0', 'exact', '0.27'],
  ['0.27.9', 'exact', '0.27'],
  ['0.28.0', 'newer-than-known', '0.27'],
  ['1.0.0', 'newer-than-known', '0.27'],
];

t.test('nearestProfile picks the nearest profile at or below, and flags newer versions', async (t) => {
  for (const [version, kind, chosen] of NEAREST) {
    const c = nearestProfile(version);
    t.equal(c.kind, kind, `${version}: ${kind}`);
    if (c.kind !== 'unsupported') t.equal(c.dialect.version, chosen, `${version} -> ${chosen}`);
  }
  const newer = nearestProfile('0.30.1');
  t.match(newer, { kind: 'newer-than-known', newest: '0.27' });
  t.match(nearestProfile('0.16.0'), { kind: 'unsupported', reason: /older than 0\.17/ });
  t.match(nearestProfile('not a version'), { kind: 'unsupported' });
});

t.test('profiles are ordered, one per version, 0.17 the default', async (t) => {
  t.equal(DEFAULT_DIALECT.version, '0.17');
  t.same(PROFILES.map((p) => p.version), ['0.17', '0.20', '0.21', '0.22', '0.23', '0.24', '0.25', '0.26', '0.27']);
  t.same(PROFILES.filter((p) => p.checked === 'run-here').map((p) => p.version), ['0.17', '0.23', '0.27'], 'only the versions with a binary here are marked run here');
});

t.test('syntax features appear at their version and stay', async (t) => {
  const since: Record<string, string> = { configBlock: '0.20', forMap: '0.21', letDeclarations: '0.22', blockScoping: '0.22', forRange: '0.24', boolType: '0.24', pidTid32: '0.22' };
  for (const [feature, version] of Object.entries(since)) {
    for (const p of PROFILES) {
      const has = (p as unknown as Record<string, boolean>)[feature];
      t.equal(has, Number(p.version.split('.')[1]) >= Number(version.split('.')[1]), `${feature} in ${p.version}`);
    }
  }
});

t.test('strict variable typing from 0.22 to 0.24 only (0.23.2 refuses narrowing, 0.27.1 widens the variable)', async (t) => {
  t.same(PROFILES.filter((p) => p.strictVariableAssignment).map((p) => p.version), ['0.22', '0.23', '0.24']);
});

t.test('integer models by version', async (t) => {
  t.same(PROFILES.map((p) => [p.version, p.integerModel]), [
    ['0.17', 'widen-to-64'],
    ['0.20', 'widen-to-64'],
    ['0.21', 'widen-to-64'],
    ['0.22', 'wider-operand'],
    ['0.23', 'wider-operand'],
    ['0.24', 'wider-operand'],
    ['0.25', 'unmodelled-narrow'],
    ['0.26', 'unmodelled-narrow'],
    ['0.27', 'unmodelled-narrow'],
  ]);
  t.same(PROFILES.filter((p) => p.subtractionSigned).map((p) => p.version), ['0.26', '0.27']);
  t.same(PROFILES.filter((p) => p.smallLiterals).map((p) => p.version), ['0.26', '0.27']);
});

t.test('builtins and functions per version', async (t) => {
  const v = (x: string) => profile(x) as NonNullable<ReturnType<typeof profile>>;
  t.notOk(hasBuiltin(v('0.17'), 'jiffies'));
  t.ok(hasBuiltin(v('0.20'), 'jiffies'));
  t.notOk(hasBuiltin(v('0.23'), 'ncpus'));
  t.ok(hasBuiltin(v('0.24'), 'ncpus'));
  t.ok(hasBuiltin(v('0.24'), 'sarg0'));
  t.notOk(hasBuiltin(v('0.25'), 'sarg0'), 'sarg removed in 0.25');
  t.ok(hasBuiltin(v('0.17'), 'pid'));
  t.notOk(hasFunction(v('0.21'), 'has_key'));
  t.ok(hasFunction(v('0.22'), 'has_key'));
  t.notOk(hasFunction(v('0.17'), 'len'));
  t.ok(hasFunction(v('0.20'), 'len'));
  t.notOk(hasFunction(v('0.26'), 'str_concat'));
  t.ok(hasFunction(v('0.27'), 'str_concat'));
  t.ok(hasFunction(v('0.17'), 'printf'), 'functions every version has');
});
