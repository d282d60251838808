/**
 * The verifier's home (daemon/verification/verifier-home.ts): Z3 runs in a child process that starts
 * with a verification, is let go after the idle time and comes back with the next one; a child that
 * dies mid-verification fails that request with a typed error and the next one gets a fresh child;
 * close() (and a stopping kgentd) leaves no child behind. Real child processes, real Z3.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { VerifierHome } from '../../../daemon/verification/verifier-home.js';
import { KgentError } from '../../../daemon/errors.js';
import { createLogger } from '../../../daemon/log.js';
import type { FieldContract, ProbeContractProvider } from '../../../daemon/verifier/contract-seam.js';
import { ALL_PROBES_AVAILABLE } from '../../../daemon/verifier/lints/index.js';
import { builtOrReason, createDaemon, eventually, REPO_ROOT } from '../../support/daemon-harness.js';

const CHILD = path.join(REPO_ROOT, 'dist', 'daemon', 'verification', 'verifier-child.js');
const skip = builtOrReason();

/** A tracepoint whose `state` field the kernel types as an enum: only 1 or 2 (bigints cross the channel). */
const STATE: FieldContract = {
  name: 'state',
  kind: 'int',
  cType: 'enum s',
  size: 4,
  signed: false,
  byteOrder: 'host',
  enumDomain: [
    { value: 1n, name: 'A' },
    { value: 2n, name: 'B' },
  ],
};
const PROGRAM = 'tracepoint:t:e { printf("%d\\n", args->state); assert(printed(0) == 1 || printed(0) == 2); }\n';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Contracts whose tracepoint answer waits for `gate` (to hold a verification in flight). */
function provider(gate?: Promise<void>): ProbeContractProvider & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async tracepointFields(category, event) {
      asked.push(`${category}:${event}`);
      await gate;
      return category === 't' && event === 'e' ? [STATE] : undefined;
    },
    kernelField: () => undefined,
  };
}

function home(contracts: ProbeContractProvider, idleMs = 60_000): VerifierHome {
  return new VerifierHome({ contracts, probes: ALL_PROBES_AVAILABLE, allowUnsafe: false, idleMs, logger: createLogger('silent'), childScript: CHILD });
}

t.test('verifies in a child, answering its contract questions', { skip }, async (t) => {
  const c = provider();
  const h = home(c);
  t.teardown(() => h.close());
  const r = await h.verify(PROGRAM, { fileName: 'p.bt' });
  t.equal(r.verdict, 'proved', JSON.stringify(r.diagnostics));
  t.ok(c.asked.includes('t:e'), 'the child asked for the tracepoint fields');
  t.ok(h.pid !== undefined && h.pid !== process.pid && alive(h.pid), 'a child process holds the solver');
});

t.test('the child is let go after the idle time and started again by the next verification', { skip }, async (t) => {
  const h = home(provider(), 300);
  t.teardown(() => h.close());
  t.equal(h.pid, undefined, 'no child before the first verification');
  await h.verify(PROGRAM);
  const first = h.pid!;
  await eventually(async () => !alive(first) && h.pid === undefined, 20_000, 'the idle child to exit');
  const r = await h.verify(PROGRAM);
  t.equal(r.verdict, 'proved');
  t.equal(h.started, 2, 'a second child');
  t.not(h.pid, first);
});

t.test('a child that dies mid-verification fails that request with a typed error; the next verification works', { skip }, async (t) => {
  let open!: () => void;
  const c = provider(new Promise<void>((r) => (open = r)));
  const h = home(c);
  t.teardown(() => h.close());
  const inFlight = h.verify(PROGRAM);
  await eventually(async () => c.asked.length > 0, 20_000, 'the child to ask for contracts');
  const pid = h.pid!;
  process.kill(pid, 'SIGKILL');
  const err = await inFlight.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof KgentError, 'a KgentError');
  t.equal((err as KgentError).code, 'internal');
  t.match((err as KgentError).message, /verifier process killed by SIGKILL.*nothing was verified/);
  open();
  const r = await h.verify(PROGRAM);
  t.equal(r.verdict, 'proved', 'a fresh child verifies');
  t.not(h.pid, pid);
});

t.test('a cancelled verification fails at once; close() ends the child and refuses later ones', { skip }, async (t) => {
  let open!: () => void;
  const c = provider(new Promise<void>((r) => (open = r)));
  const h = home(c);
  const ac = new AbortController();
  const inFlight = h.verify(PROGRAM, {}, ac.signal);
  await eventually(async () => c.asked.length > 0, 20_000, 'the child to ask for contracts');
  ac.abort(new Error('request cancelled'));
  await t.rejects(inFlight, { message: 'request cancelled' });
  open();
  const pid = h.pid!;
  t.ok(alive(pid));
  await h.close();
  t.notOk(alive(pid), 'the child is gone after close()');
  await t.rejects(h.verify(PROGRAM), { code: 'unavailable' });
});

t.test('kgentd verifies in a child and leaves none behind when it stops', { skip }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'p.bt');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'BEGIN { $x = 3; printf("%d\\n", $x); assert($x == 3); exit(); }\n');
  const r = await d.ctl(['verify', file]);
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /proved/);
  const children = (): number[] =>
    readFileSync(`/proc/${d.proc.pid}/task/${d.proc.pid}/children`, 'utf8')
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('verifier-child.js');
        } catch {
          return false;
        }
      });
  const kids = children();
  t.equal(kids.length, 1, 'one verifier child');
  await d.kill('SIGTERM');
  t.notOk(alive(kids[0]!), 'the verifier child is gone with kgentd');
});
