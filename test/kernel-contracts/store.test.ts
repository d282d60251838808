import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openContractDb, ContractStore } from '../../kernel-contracts/store/contract-db.js';
import { deriveFunctionContract, deriveTracepointContract } from '../../kernel-contracts/contracts/derive.js';
import { parseTracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';
import type { KernelIdentity } from '../../kernel-contracts/kernel-reader/identity.js';
import { RECORDED_FORMATS } from './helpers/fake-kernel.js';

const ident = (release: string): KernelIdentity => ({ release, version: '#1', procVersion: '', buildId: 'ab', btfChecksum: 'cd', key: `${release}:0000` });
const tp = deriveTracepointContract(parseTracepointFormat('sock', 'inet_sock_set_state', RECORDED_FORMATS['sock:inet_sock_set_state']!), [{ probe: 'tracepoint', available: true }]);
const fn = deriveFunctionContract(
  {
    name: 'f',
    module: 'vmlinux',
    linkage: 'global',
    variadic: false,
    params: [{ name: 'port', type: { type: '__be16', kind: 'int', bits: 16, signed: false, byteOrder: 'big', size: 2 } }],
    ret: { type: 'long', kind: 'int', bits: 64, signed: true, byteOrder: 'host', size: 8 },
  },
  [{ probe: 'kprobe', available: false }],
);

t.test('round trip: stored form drops derivable parts and lookups restore them exactly', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = openContractDb(dir);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('user_version', { simple: true }), 1);
  const store = new ContractStore(db);
  const g = store.beginGeneration(ident('6.1.0'), 1);
  store.putContracts(g, [tp, fn]);
  const raw = db.prepare<[], { data: string }>("SELECT data FROM contracts WHERE id = 'tracepoint:sock:inet_sock_set_state'").get()!.data;
  t.notMatch(raw, /"access"/, 'access names not stored');
  t.notMatch(raw, /"op":"range"/, 'structural conditions not stored');
  t.equal(store.currentGeneration(), undefined, 'not current before commit');
  store.commitGeneration(g, { counts: { functions: 1, tracepoints: 1, structs: 0, documented: 0 }, modules: ['vmlinux'], buildMs: 1 });
  t.same(store.contract(g, tp.id), tp, 'tracepoint contract identical after the round trip');
  t.same(store.contract(g, fn.id), fn, 'function contract identical after the round trip');
  t.equal(store.currentGeneration()?.identity.release, '6.1.0');
  t.equal(store.count(g, 'tracepoint'), 1);

  const g2 = store.beginGeneration(ident('6.2.0'), 1);
  store.putContracts(g2, [fn]);
  t.equal(store.currentGeneration()?.id, g, 'building generation is invisible');
  store.commitGeneration(g2, { counts: { functions: 1, tracepoints: 0, structs: 0, documented: 0 }, modules: ['vmlinux'], buildMs: 1 });
  t.equal(store.currentGeneration()?.id, g2);
  t.equal(store.contract(g, tp.id), undefined, 'old generation rows deleted after the switch');
  t.equal(store.generation(g)?.status, 'retired');

  const g3 = store.beginGeneration(ident('6.3.0'), 1);
  store.putContracts(g3, [tp]);
  store.close();
  const reopened = new ContractStore(openContractDb(dir));
  reopened.abandonUnfinished();
  t.equal(reopened.generation(g3)?.status, 'failed', 'a build interrupted by a stop is abandoned at the next start');
  t.equal(reopened.contract(g3, tp.id), undefined);
  t.equal(reopened.currentGeneration()?.id, g2);

  reopened.putEnrichment('6.2.0:0000', fn.id, { model: 'm', at: 'now', attempts: 1, answer: { pre: [], post: [] } });
  t.same(reopened.enrichment('6.2.0:0000', fn.id, 'm')?.attempts, 1);
  t.equal(reopened.enrichment('6.3.0:0000', fn.id, 'm'), undefined, 'cached per kernel identity');
  reopened.close();
});
