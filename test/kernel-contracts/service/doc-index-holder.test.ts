/**
 * The service's doc index lifecycle (kernel-contracts/service/doc-index-holder.ts) over a real
 * LanceDB directory in a temp dir: opened by its first use, shared while open, closed after the
 * idle time unless a rebuild holds it or the service stops, opened again by the next use; an
 * index that cannot be opened is a ContractsError and is tried again next time.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DocIndexHolder, type DocIndexHolderOptions } from '../../../kernel-contracts/service/doc-index-holder.js';
import { ContractsError } from '../../../kernel-contracts/errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function holder(t: Tap.Test, over: Partial<DocIndexHolderOptions> = {}): { h: DocIndexHolder; logged: string[]; stateDir: string } {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-docs-holder-'));
  const logged: string[] = [];
  const log = { info: (_o: object, m?: string) => void logged.push(m ?? ''), warn: () => undefined, error: () => undefined };
  const h = new DocIndexHolder({ stateDir, generation: () => undefined, idleMs: 250, log, keepOpen: () => false, stopped: () => false, ...over });
  t.teardown(async () => {
    await h.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return { h, logged, stateDir };
}

t.test('opened by the first use, shared, closed when idle, opened again', async (t) => {
  const { h, logged } = holder(t);
  t.equal(h.isOpen, false, 'nothing is opened at construction');
  t.equal(h.opened, undefined);
  const a = await h.use(async (docs) => docs);
  const b = await h.use(async (docs) => docs);
  t.equal(a, b, 'one index while open');
  t.equal(h.opened, a);
  t.equal(a.ready, false, 'no generation yet: nothing to search');
  await sleep(500);
  t.equal(h.isOpen, false, 'closed after the idle time');
  t.ok(logged.includes('kernel contracts: search index closed (idle)'));
  const c = await h.use(async (docs) => docs);
  t.not(c, a, 'a new index for the next use');
});

t.test('not closed under a use that outlasts the idle time', async (t) => {
  const { h } = holder(t);
  await h.use(async () => {
    await sleep(500);
    t.equal(h.isOpen, true, 'open while in use');
  });
  t.equal(h.isOpen, true, 'the idle time starts after the use');
  await sleep(450);
  t.equal(h.isOpen, false);
});

t.test('a rebuild holds it open; once stopped no idle close is armed', async (t) => {
  let rebuilding = true;
  const { h } = holder(t, { keepOpen: () => rebuilding });
  await h.use(async () => undefined);
  await sleep(600);
  t.equal(h.isOpen, true, 'kept open while the rebuild runs');
  rebuilding = false;
  await sleep(450);
  t.equal(h.isOpen, false, 'closed once it ended');

  let stopped = false;
  const s = holder(t, { stopped: () => stopped });
  stopped = true;
  await s.h.use(async () => undefined);
  await sleep(450);
  t.equal(s.h.isOpen, true, 'no timer after stop: close() does it');
  await s.h.close();
  t.equal(s.h.isOpen, false);
  t.equal(await s.h.whenOpened(), undefined);
});

t.test('an index that cannot be opened is a ContractsError, tried again next time', async (t) => {
  const { h, stateDir } = holder(t);
  // contracts.lance as a regular file: LanceDB cannot make its directory there.
  fs.writeFileSync(path.join(stateDir, 'contracts.lance'), 'not a directory');
  const err = await h.open().catch((e: unknown) => e);
  t.ok(err instanceof ContractsError, String(err));
  t.equal((err as ContractsError).code, 'unavailable');
  t.match((err as Error).message, 'the kernel-contracts search index could not be opened');
  t.equal(h.isOpen, false, 'the failed opening is forgotten');
  fs.rmSync(path.join(stateDir, 'contracts.lance'));
  t.ok(await h.open(), 'opened on the next try');
});
