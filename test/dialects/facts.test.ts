/**
 * The dialect facts are well formed. They are replayed in every bpftrace binary of this host by
 * facts-host.test.ts, facts-trixie.test.ts and facts-sid.test.ts (replay.ts), one file per binary.
 */
import t from 'tap';
import { FACTS, FACT_VERSIONS } from './facts.js';

t.test('the facts are well formed', async (t) => {
  const ids = new Set<string>();
  for (const f of FACTS) {
    t.notOk(ids.has(f.id), `${f.id} is unique`);
    ids.add(f.id);
    t.match(f.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${f.id} is kebab-case`);
    t.ok(f.program !== undefined || (f.args?.length ?? 0) > 0, `${f.id} runs a program or flags`);
    t.same(Object.keys(f.outcomes).sort(), [...FACT_VERSIONS].sort(), `${f.id} has an outcome per version`);
    if (f.stop === 'sigint') t.ok(f.sigintAfter, `${f.id} says when to send SIGINT`);
    t.ok(f.finding.length > 0 && !f.finding.includes('\n'), `${f.id} has a one-line finding`);
  }
});
