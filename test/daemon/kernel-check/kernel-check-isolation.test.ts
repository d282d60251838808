/**
 * The kernel check runs nothing of the program in user space and is bounded
 * (concurrency, memory, time, #include). Against the real bpftrace: a FIFO that must never get a
 * reader, a file whose access time must not move, and files a system() would create.
 */
import t from 'tap';
import { execa } from 'execa';
import { constants, existsSync, openSync, closeSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kernelCheck } from '../../../daemon/kernel-check/kernel-check.js';
import { loadedCopy } from '../../../daemon/kernel-check/check-copy.js';
import { CheckSlots, configureKernelChecks, kernelCheckSlots, removeStaleCheckDirs } from '../../../daemon/kernel-check/check-limits.js';
import { detectBpftrace, type BpftraceCli } from '../../../daemon/runner/bpftrace-cli.js';

t.test('the loaded copy renames system() and cat() to printf() and nothing else', async (t) => {
  const src = 'BEGIN { cat("/etc/passwd"); @cat = 1; $system = 2; system("id %d", pid); printf("cat(x)\\n"); }\n';
  const copy = loadedCopy(src, 'M', src.indexOf('{') + 1);
  t.ok(copy.ok);
  if (!copy.ok) return;
  t.equal(copy.renamed, 2);
  t.equal(
    copy.text,
    'BEGIN { printf("M\\n");  printf("/etc/passwd"); @cat = 1; $system = 2; printf("id %d", pid); printf("cat(x)\\n"); }\n',
  );
  const noBegin = loadedCopy('tracepoint:sched:sched_switch { system("x"); }', 'M');
  t.ok(noBegin.ok && noBegin.text.endsWith('{ printf("x"); }\nBEGIN { printf("M\\n"); }\n'));
  // A rename before BEGIN's body moves where the marker goes.
  const before = 'tracepoint:sched:sched_switch { cat("a"); }\nBEGIN { @a = 1; }\n';
  const moved = loadedCopy(before, 'M', before.lastIndexOf('{') + 1);
  t.ok(moved.ok && moved.text.includes('BEGIN { printf("M\\n");  @a = 1; }'));
});

t.test('#include of anything outside the include path is refused before loading', async (t) => {
  const cases: [string, boolean][] = [
    ['#include "/dev/zero"', false],
    ['#include </dev/zero>', false],
    ['#include "../../../../dev/zero"', false],
    ['#include <linux/../../../etc/shadow>', false],
    ['#include "/etc/shadow"', false],
    ['#import "x.h"', false],
    ['#include <linux/sched.h>', true],
    ['#include <net/sock.h>', true],
  ];
  for (const [line, allowed] of cases) {
    const copy = loadedCopy(`${line}\nBEGIN { exit(); }\n`, 'M');
    t.equal(copy.ok, allowed, line);
    if (!copy.ok) t.equal(copy.diagnostics[0]?.code, allowed ? undefined : 'kernel.include-refused', line);
  }
});

t.test('check slots: at most N at once, a bounded queue per uid and in all', async (t) => {
  const slots = new CheckSlots({ maxConcurrent: 2, maxQueued: 3, maxRunningPerUid: 2, maxQueuedPerUid: 3, adminSlots: 0 });
  const m = (uid: number) => ({ uid, admin: false });
  const order: number[] = [];
  const r1 = await slots.acquire(m(1));
  const r2 = await slots.acquire(m(2));
  const waiters = [3, 4, 5].map((n) => slots.acquire(m(n)).then((rel) => (order.push(n), rel)));
  t.same(slots.stats(), { running: 2, queued: 3 });
  t.throws(() => slots.acquire(m(6)), { code: 'unavailable', message: /3 kernel checks of 3 user\(s\) are waiting, the limit \(maxQueuedKernelChecks 3\)/ });
  r1();
  r2();
  const rels = await Promise.all(waiters.slice(0, 2));
  t.same(order, [3, 4]);
  t.same(slots.stats(), { running: 2, queued: 1 });
  rels.forEach((r) => r());
  (await waiters[2]!)();
  t.same(slots.stats(), { running: 0, queued: 0 });
});

t.test('check slots: one uid cannot take every slot; others are served round-robin by uid', async (t) => {
  const slots = new CheckSlots({ maxConcurrent: 2, maxQueued: 64, maxRunningPerUid: 1, maxQueuedPerUid: 4, adminSlots: 1 });
  const m = (uid: number) => ({ uid, admin: false });
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const ask = (uid: number, tag: string) =>
    slots.acquire(m(uid)).then((rel) => {
      started.push(tag);
      releases.set(tag, rel);
    });
  // uid 100 floods: 1 runs, 4 wait, the 6th is refused at once with the per-user limit.
  const flood = ['a1', 'a2', 'a3', 'a4', 'a5'].map((tag) => ask(100, tag));
  t.throws(() => slots.acquire(m(100)), { code: 'unavailable', message: /uid 100 already has 1 kernel check\(s\) running and 4 waiting, the limit per user/ });
  await Promise.resolve();
  t.same(started, ['a1'], 'one of uid 100 runs, though a second slot is free');
  t.same(slots.statsOf(100), { running: 1, queued: 4 });
  // uid 200 and 300 arrive after the flood: each runs before uid 100's second check.
  const b = [ask(200, 'b1'), ask(200, 'b2')];
  const c = ask(300, 'c1');
  await new Promise((r) => setImmediate(r));
  t.same(started, ['a1', 'b1']);
  releases.get('a1')!();
  await new Promise((r) => setImmediate(r));
  t.same(started, ['a1', 'b1', 'c1'], 'uid 300 before uid 100 again');
  releases.get('b1')!();
  await new Promise((r) => setImmediate(r));
  t.same(started, ['a1', 'b1', 'c1', 'a2'], 'then uid 100, then uid 200 ...');
  releases.get('c1')!();
  await new Promise((r) => setImmediate(r));
  t.same(started, ['a1', 'b1', 'c1', 'a2', 'b2']);
  // An admin gets the reserved slot at once, with both member slots taken and members waiting.
  const admin = await slots.acquire({ uid: 0, admin: true });
  t.same(slots.stats().running, 3, 'the reserved slot');
  // And a freed slot goes to a waiting admin before any member.
  const admin2 = slots.acquire({ uid: 5000, admin: true }).then((rel) => (started.push('admin2'), rel));
  releases.get('a2')!();
  await new Promise((r) => setImmediate(r));
  t.equal(started.at(-1), 'admin2');
  admin();
  (await admin2)();
  releases.get('b2')!();
  for (const tag of ['a3', 'a4', 'a5']) {
    await new Promise((r) => setImmediate(r));
    releases.get(tag)!();
  }
  await Promise.all([...flood, ...b, c]);
  t.same(started, ['a1', 'b1', 'c1', 'a2', 'b2', 'admin2', 'a3', 'a4', 'a5']);
  t.same(slots.stats(), { running: 0, queued: 0 });
});

t.test('check slots: a waiter whose caller is gone leaves the queue; a wait is bounded', async (t) => {
  const slots = new CheckSlots({ maxConcurrent: 1, maxQueued: 64, maxRunningPerUid: 1, maxQueuedPerUid: 4, adminSlots: 0, maxWaitMs: 300 });
  const hold = await slots.acquire({ uid: 1, admin: false });
  const gone = new AbortController();
  const waiting = slots.acquire({ uid: 2, admin: false }, gone.signal);
  t.same(slots.stats(), { running: 1, queued: 1 });
  gone.abort();
  await t.rejects(waiting, { code: 'unavailable', message: /cancelled: the client disconnected/ });
  t.same(slots.stats(), { running: 1, queued: 0 }, 'the queue is freed at once');
  const started = Date.now();
  await t.rejects(slots.acquire({ uid: 3, admin: false }), { message: /waited 300 ms for a slot \(kernelCheckMaxWaitMs\)/ });
  t.ok(Date.now() - started < 2000);
  hold();
  t.same(slots.stats(), { running: 0, queued: 0 });
  const aborted = new AbortController();
  aborted.abort();
  await t.rejects(slots.acquire({ uid: 4, admin: false }, aborted.signal), { message: /cancelled/ });
});

async function bpftraceOrSkip(t: Tap.Test): Promise<BpftraceCli | undefined> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to load eBPF programs');
    return undefined;
  }
  try {
    return await detectBpftrace('bpftrace');
  } catch (err) {
    t.skip(`bpftrace not usable here: ${(err as Error).message}`);
    return undefined;
  }
}

t.test('against the real bpftrace', async (t) => {
  const cli = await bpftraceOrSkip(t);
  if (!cli) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-isolation-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const workDir = path.join(dir, 'work');
  configureKernelChecks({ workDir, maxConcurrent: 2, maxQueued: 64, adminSlots: 0, memoryBytes: 1024 * 1024 * 1024 });
  const fifo = path.join(dir, 'fifo');
  await execa('mkfifo', [fifo]);
  const secret = path.join(dir, 'secret');
  writeFileSync(secret, 'do not read\n');
  const old = new Date('2001-01-01T00:00:00Z');
  const resetAtime = (): void => utimesSync(secret, old, old);
  /** True when someone has the FIFO open for reading (an O_NONBLOCK writer open then succeeds). */
  const fifoHasReader = (): boolean => {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch {
      return false; // ENXIO: no reader
    }
  };

  await t.test('control: bpftrace itself runs these actions (so the probes below can see them)', async (t) => {
    resetAtime();
    const made = path.join(dir, 'control-ran');
    await execa(cli.path, ['--unsafe', '-e', `BEGIN { cat("${secret}"); system("touch ${made}"); exit(); }`], { reject: false, timeout: 60_000 });
    t.ok(statSync(secret).atimeMs > old.getTime(), 'cat() moved the access time');
    t.ok(existsSync(made), 'system() ran');
  });

  await t.test('a check runs no cat, system or file open of the program (5 times)', async (t) => {
    const program = [
      'BEGIN {',
      `  cat("${fifo}");`,
      `  cat("${secret}");`,
      `  system("touch ${dir}/made-%d", nsecs);`,
      '  printf("hello\\n");',
      '}',
      'tracepoint:sched:sched_switch {',
      `  system("touch ${dir}/switch-made");`,
      `  cat("${secret}");`,
      '}',
      `END { system("touch ${dir}/end-made"); }`,
      '',
    ].join('\n');
    for (let i = 0; i < 5; i++) {
      resetAtime();
      let sawReader = false;
      const poll = setInterval(() => {
        if (fifoHasReader()) sawReader = true;
      }, 2);
      const res = await kernelCheck(cli, { source: program, fileName: 'p.bt', beginBodyOffset: 'BEGIN {'.length, unsafe: true }, { timeoutMs: 60_000 });
      clearInterval(poll);
      await new Promise((r) => setTimeout(r, 300)); // a system() child would need a moment
      t.equal(res.ok, true, `check ${i} loads: ${JSON.stringify(res.diagnostics)}`);
      t.match(res.method, /6 system\(\)\/cat\(\) call\(s\) loaded as printf/);
      t.notOk(sawReader || fifoHasReader(), `check ${i}: nobody opened the FIFO`);
      t.equal(statSync(secret).atimeMs, old.getTime(), `check ${i}: the secret file was not read`);
      const made = (await execa('sh', ['-c', `ls ${dir} | grep made || true`])).stdout.trim();
      t.equal(made, '', `check ${i}: no system() ran`);
    }
  });

  await t.test('#include "/dev/zero" is refused without starting bpftrace', async (t) => {
    const started = Date.now();
    const res = await kernelCheck(cli, { source: '#include "/dev/zero"\nBEGIN { exit(); }\n', fileName: 'z.bt', unsafe: false }, { timeoutMs: 60_000 });
    t.equal(res.ok, false);
    t.equal(res.diagnostics[0]?.code, 'kernel.include-refused');
    t.ok(Date.now() - started < 1000);
  });

  await t.test('three nested unroll(100) stop at the memory bound', async (t) => {
    configureKernelChecks({ memoryBytes: 768 * 1024 * 1024 });
    t.teardown(() => void configureKernelChecks({ memoryBytes: 1024 * 1024 * 1024 }));
    const res = await kernelCheck(
      cli,
      { source: 'BEGIN { unroll(100) { unroll(100) { unroll(100) { @x = 1; } } } }\n', fileName: 'u.bt', beginBodyOffset: 'BEGIN {'.length, unsafe: false },
      { timeoutMs: 60_000 },
    );
    t.equal(res.ok, false);
    t.match(res.diagnostics[0], { code: /kernel\.check-(memory|timeout)/ }, JSON.stringify(res.diagnostics).slice(0, 600));
  });

  await t.test('20 concurrent checks run at most 2 bpftrace at a time, and leave no files', async (t) => {
    let maxSeen = 0;
    let maxSlots = 0;
    const poll = setInterval(() => {
      maxSlots = Math.max(maxSlots, kernelCheckSlots().stats().running);
      void execa('pgrep', ['-f', `${workDir}/kgent-check-`], { reject: false }).then((r) => {
        maxSeen = Math.max(maxSeen, r.stdout.split('\n').filter(Boolean).length);
      });
    }, 20);
    const src = 'tracepoint:sched:sched_switch { @n = count(); }\n';
    const results = await Promise.all(
      Array.from({ length: 20 }, () => kernelCheck(cli, { source: src, fileName: 'c.bt', unsafe: false }, { timeoutMs: 120_000 })),
    );
    clearInterval(poll);
    t.ok(results.every((r) => r.ok), 'all pass');
    t.ok(maxSlots >= 1 && maxSlots <= 2, `at most 2 slots taken at once (saw ${maxSlots})`);
    // pgrep's scan of /proc is not atomic: one check dying while the next starts can both show.
    t.ok(maxSeen >= 1 && maxSeen <= 3, `bpftrace processes seen at once: ${maxSeen}`);
    t.equal(await removeStaleCheckDirs(workDir), 0, 'no check directory left behind');
  });
});
