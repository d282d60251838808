/**
 * Acceptance per dialect: each program of `cases.ts` is accepted or refused by each profile as the
 * table says (parse with the dialect, then `checkAcceptance`), and, for every real bpftrace found
 * on this host, the verifier under that binary's nearest profile decides as the binary does.
 */
import t from 'tap';
import { checkAcceptance } from '../../../../daemon/verifier/acceptance.js';
import { nearestProfile, PROFILES, type Dialect } from '../../../../daemon/verifier/dialect/index.js';
import { parse } from '../../../../daemon/verifier/frontend/index.js';
import { DIALECT_CASES, minor } from './cases.js';
import { realBinaries } from './real-bpftrace.js';

function verifierAccepts(src: string, d: Dialect): { ok: boolean; why: string } {
  const parsed = parse(src, undefined, { dialect: d });
  if (!parsed.program) return { ok: false, why: parsed.diagnostics[0]?.message ?? 'no program' };
  const refused = checkAcceptance(parsed.program, d);
  return { ok: refused.length === 0, why: refused[0]?.message ?? 'accepted' };
}

for (const c of DIALECT_CASES) {
  t.test(`profiles: ${c.name}`, async (t) => {
    for (const d of PROFILES) {
      const got = verifierAccepts(c.src, d);
      const want = c.accepts(minor(d.version));
      t.equal(got.ok, want, `${d.version} ${want ? 'accepts' : 'refuses'}: ${got.why}`);
    }
  });
}

t.test('a refusal names the version and quotes its compiler', async (t) => {
  const d = PROFILES.find((p) => p.version === '0.23') as Dialect;
  const r = parse('BEGIN { $x = (uint8)1; $x = (uint16)5; exit(); }', undefined, { dialect: d });
  const found = checkAcceptance(r.program as NonNullable<typeof r.program>, d);
  t.match(found, [{ code: 'parse.refused-by-bpftrace-0.23', severity: 'error', stage: 'parse', message: /bpftrace 0\.23 refuses.*Integer size mismatch/, span: { line: 1, column: 24 } }]);
});

const binaries = realBinaries();
if (binaries.length === 0) t.comment('no real bpftrace found here: parity with real binaries not checked');
for (const bin of binaries) {
  const choice = nearestProfile(bin.version);
  if (choice.kind === 'unsupported') {
    t.comment(`bpftrace ${bin.version} at ${bin.where}: no profile (${choice.reason})`);
    continue;
  }
  t.test(`parity with the real bpftrace ${bin.version} (${bin.where}), profile ${choice.dialect.version}`, async (t) => {
    for (const c of DIALECT_CASES) {
      const real = bin.run(c.src);
      if (real.kind === 'environment') {
        t.comment(`${c.name}: not checkable here (${c.note ?? real.error})`);
        continue;
      }
      const ours = verifierAccepts(c.src, choice.dialect);
      t.equal(ours.ok, real.kind === 'accepted', `${c.name}: bpftrace ${bin.version} ${real.kind}${real.kind === 'refused' ? ` (${real.error.split('\n')[0]})` : ''}; kgent: ${ours.why}`);
      // The table itself must agree with the binary (a fact encoded without checking would show here).
      t.equal(c.accepts(minor(choice.dialect.version)), real.kind === 'accepted', `${c.name}: the table agrees with bpftrace ${bin.version}`);
    }
  });
}
