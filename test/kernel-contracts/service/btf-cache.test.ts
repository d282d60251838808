/**
 * The service's BTF cache (kernel-contracts/service/btf-cache.ts) on a fake kernel carrying this
 * machine's real vmlinux BTF: one parse while in use, dropped after the idle time or on demand,
 * a failed load not kept, a missing module answered with undefined.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { BtfCache } from '../../../kernel-contracts/service/btf-cache.js';
import { fixtureHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { makeFakeKernel, HAVE_REAL_BTF } from '../helpers/fake-kernel.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('kept while used, dropped when idle or asked', { skip: HAVE_REAL_BTF ? false : 'no /sys/kernel/btf/vmlinux here' }, async (t) => {
  const k = makeFakeKernel({ btf: true });
  t.teardown(() => k.remove());
  const cache = new BtfCache(fixtureHost(k.root), 300);
  t.teardown(() => cache.close());
  const first = cache.vmlinux();
  const btf = await first;
  t.ok(btf.findByName('task_struct', 'STRUCT').length > 0, 'the real BTF, parsed');
  t.equal(cache.vmlinux(), first, 'the same parse while in use');
  await sleep(150);
  t.equal(cache.vmlinux(), first, 'each use restarts the idle time');
  await sleep(150);
  t.equal(cache.vmlinux(), first, 'still within the idle time of the last use');
  await sleep(450);
  const second = cache.vmlinux();
  t.not(second, first, 'parsed again after the idle time');
  await second;
  cache.drop();
  t.not(cache.vmlinux(), second, 'parsed again after drop()');
  t.equal(await cache.module('no_such_module_kgent'), undefined, 'a module without BTF: undefined');
});

t.test('a failed load is not kept', async (t) => {
  const k = makeFakeKernel({ btf: false });
  t.teardown(() => k.remove());
  const cache = new BtfCache(fixtureHost(k.root), 60_000);
  t.teardown(() => cache.close());
  const failed = cache.vmlinux();
  await t.rejects(failed);
  if (HAVE_REAL_BTF) {
    const file = path.join(k.root, 'sys/kernel/btf/vmlinux');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync('/sys/kernel/btf/vmlinux', file);
    const again = cache.vmlinux();
    t.not(again, failed, 'tried again');
    t.ok((await again).findByName('task_struct', 'STRUCT').length > 0, 'and loaded once the BTF is there');
  }
});
