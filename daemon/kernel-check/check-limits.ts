/**
 * Bounds on kernel checks, which each start a bpftrace (LLVM, clang, BTF: ~100 MB resident, and
 * without a bound one program can grow past 4 GiB): how many run at once, how many wait, how each
 * user's checks share the slots, how long a check may wait and how much address space each may use.
 *
 * Members of the socket group are untrusted local users, so one of them must not be able to hold
 * every slot (or fill the queue) and so block everyone else's checks, root's included:
 * - each member uid may have at most `maxRunningPerUid` checks running and `maxQueuedPerUid`
 *   waiting; beyond that its next check is refused at once with one line;
 * - waiting checks are served round-robin by uid (the uid served last goes to the back), never
 *   first-come-first-served, so a uid with four queued checks delays another uid by one at most;
 * - `adminSlots` slots are only ever used by admins (root, the admin group, kgentd itself), and a
 *   freed slot goes to a waiting admin first: members' checks can neither refuse nor starve an
 *   admin's;
 * - a waiting check whose caller is gone (its AbortSignal fires: the connection closed) leaves the
 *   queue at once, and a check waits at most `maxWaitMs`.
 *
 * The memory bound is `prlimit --as` (RLIMIT_AS) on the bpftrace process. A cgroup v2 `memory.max`
 * would also count page cache, but it needs a delegated cgroup v2 subtree, which a cgroup v1 host
 * like this one (and many containers) does not offer; RLIMIT_AS works everywhere and is inherited
 * by clang's in-process preprocessor. BPF maps are kernel memory and not counted, which is right:
 * the kernel bounds those by the map sizes the verifier accepted.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KgentError } from '../errors.js';

export interface KernelCheckLimits {
  /** Kernel checks that run at once for members (admins may use these and `adminSlots` more). */
  readonly maxConcurrent: number;
  /** Members' checks that may wait, all members together; beyond this a check is refused. */
  readonly maxQueued: number;
  /** Checks one member uid may have running at once. */
  readonly maxRunningPerUid: number;
  /** Checks one member uid may have waiting; beyond this its check is refused. */
  readonly maxQueuedPerUid: number;
  /** Slots only admins' checks use, besides `maxConcurrent`. */
  readonly adminSlots: number;
  /** Longest a check waits for a slot before it is refused, in ms. */
  readonly maxWaitMs: number;
  /** RLIMIT_AS of each check's bpftrace, in bytes (0: no bound). */
  readonly memoryBytes: number;
  /** Where each check writes its program copy (a restart cleans what a killed daemon left). */
  readonly workDir: string;
}

/** Who a kernel check is for: its uid (the fair share is per uid) and whether they are an admin. */
export interface CheckRequester {
  readonly uid: number;
  readonly admin: boolean;
}

/** kgentd's own checks (tests, tools without a caller) count as an admin's. */
export const DAEMON_REQUESTER: CheckRequester = { uid: 0, admin: true };

export const CHECK_DIR_PREFIX = 'kgent-check-';

const DEFAULT_LIMITS: KernelCheckLimits = {
  maxConcurrent: 2,
  maxQueued: 64,
  maxRunningPerUid: 1,
  maxQueuedPerUid: 4,
  adminSlots: 1,
  maxWaitMs: 5 * 60_000,
  memoryBytes: 1024 * 1024 * 1024,
  workDir: tmpdir(),
};

interface Waiter {
  readonly who: CheckRequester;
  resolve(release: () => void): void;
  reject(err: Error): void;
  /** Undoes the abort listener and the wait timer. */
  detach(): void;
}

/**
 * Waiters of one class (admins or members): a FIFO per uid, and the uid served next is the
 * eligible one served least recently (never served first, then in order of arrival).
 */
class RoundRobin {
  private readonly byUid = new Map<number, Waiter[]>();
  /** Uids with waiters, in order of arrival. */
  private rotation: number[] = [];
  /** When each uid was last served (a counter); forgotten in bulk when it grows large. */
  private readonly served = new Map<number, number>();
  private turn = 0;
  size = 0;

  push(w: Waiter): void {
    const q = this.byUid.get(w.who.uid);
    if (q) q.push(w);
    else {
      this.byUid.set(w.who.uid, [w]);
      this.rotation.push(w.who.uid);
    }
    this.size++;
  }

  queuedOf(uid: number): number {
    return this.byUid.get(uid)?.length ?? 0;
  }

  /** Takes the head waiter of the first uid in rotation that `eligible` accepts. */
  take(eligible: (uid: number) => boolean): Waiter | undefined {
    let uid: number | undefined;
    for (const u of this.rotation) {
      if (!eligible(u)) continue;
      if (uid === undefined || (this.served.get(u) ?? -1) < (this.served.get(uid) ?? -1)) uid = u;
    }
    if (uid === undefined) return undefined;
    if (this.served.size > 10_000) this.served.clear();
    this.served.set(uid, this.turn++);
    const q = this.byUid.get(uid)!;
    const w = q.shift()!;
    this.size--;
    this.rotation = this.rotation.filter((u) => u !== uid);
    if (q.length > 0) this.rotation.push(uid);
    else this.byUid.delete(uid);
    return w;
  }

  remove(w: Waiter): boolean {
    const q = this.byUid.get(w.who.uid);
    const i = q?.indexOf(w) ?? -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    this.size--;
    if (q.length === 0) {
      this.byUid.delete(w.who.uid);
      this.rotation = this.rotation.filter((u) => u !== w.who.uid);
    }
    return true;
  }

  uids(): number {
    return this.byUid.size;
  }
}

/** The kernel-check slots: per-uid shares, round-robin by uid, slots reserved for admins. */
export class CheckSlots {
  private running = 0;
  private readonly runningByUid = new Map<number, number>();
  private readonly admins = new RoundRobin();
  private readonly members = new RoundRobin();
  private readonly limits: Omit<KernelCheckLimits, 'memoryBytes' | 'workDir'>;

  constructor(limits: Partial<Omit<KernelCheckLimits, 'memoryBytes' | 'workDir'>> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * Resolves with a release function once `who` may run a check. Rejects with `unavailable` when
   * `who` (a member) is over their share or the members' queue is full, when the wait exceeds
   * `maxWaitMs`, or when `signal` fires (the caller is gone) while waiting.
   */
  acquire(who: CheckRequester, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    const l = this.limits;
    if (!who.admin) {
      const mine = this.runningByUid.get(who.uid) ?? 0;
      const queued = this.members.queuedOf(who.uid);
      const mustWait = mine >= l.maxRunningPerUid || this.running >= l.maxConcurrent || this.members.size > 0;
      if (mustWait && queued >= l.maxQueuedPerUid) {
        throw new KgentError(
          'unavailable',
          `uid ${who.uid} already has ${mine} kernel check(s) running and ${queued} waiting, the limit per user (maxRunningKernelChecksPerUid ${l.maxRunningPerUid}, maxQueuedKernelChecksPerUid ${l.maxQueuedPerUid}); wait for them to finish`,
          { running: mine, queued, uid: who.uid },
        );
      }
      if (mustWait && this.members.size >= l.maxQueued) {
        throw new KgentError(
          'unavailable',
          `${this.members.size} kernel checks of ${this.members.uids()} user(s) are waiting, the limit (maxQueuedKernelChecks ${l.maxQueued}); try again shortly`,
          { running: this.running, queued: this.members.size },
        );
      }
    }
    return new Promise<() => void>((resolve, reject) => {
      const queue = who.admin ? this.admins : this.members;
      const onAbort = (): void => {
        if (queue.remove(waiter)) {
          waiter.detach();
          reject(cancelled());
        }
      };
      const timer = setTimeout(() => {
        if (queue.remove(waiter)) {
          waiter.detach();
          reject(
            new KgentError(
              'unavailable',
              `kernel check waited ${l.maxWaitMs} ms for a slot (kernelCheckMaxWaitMs) while ${this.running} ran; try again later`,
              { running: this.running, queued: this.admins.size + this.members.size },
            ),
          );
        }
      }, l.maxWaitMs);
      const waiter: Waiter = {
        who,
        resolve,
        reject,
        detach: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      this.dispatch();
    });
  }

  /** Starts waiting checks while slots allow: admins first, then members round-robin by uid. */
  private dispatch(): void {
    const l = this.limits;
    for (;;) {
      let w: Waiter | undefined;
      if (this.running < l.maxConcurrent + l.adminSlots) w = this.admins.take(() => true);
      if (!w && this.running < l.maxConcurrent) {
        w = this.members.take((uid) => (this.runningByUid.get(uid) ?? 0) < l.maxRunningPerUid);
      }
      if (!w) return;
      w.detach();
      w.resolve(this.start(w.who));
    }
  }

  private start(who: CheckRequester): () => void {
    this.running++;
    this.runningByUid.set(who.uid, (this.runningByUid.get(who.uid) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const n = (this.runningByUid.get(who.uid) ?? 1) - 1;
      if (n > 0) this.runningByUid.set(who.uid, n);
      else this.runningByUid.delete(who.uid);
      this.dispatch();
    };
  }

  stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.admins.size + this.members.size };
  }

  /** Checks running and waiting of one uid (for status and tests). */
  statsOf(uid: number): { running: number; queued: number } {
    return { running: this.runningByUid.get(uid) ?? 0, queued: this.admins.queuedOf(uid) + this.members.queuedOf(uid) };
  }
}

function cancelled(): KgentError {
  return new KgentError('unavailable', 'kernel check cancelled: the client disconnected', { cancelled: true });
}

let limits: KernelCheckLimits = DEFAULT_LIMITS;
let slots = new CheckSlots(DEFAULT_LIMITS);

/**
 * Sets the bounds every kernel check of this process obeys (the daemon calls it once at start).
 * Process-wide on purpose: whichever service asks for a check, they share one machine.
 */
export function configureKernelChecks(next: Partial<KernelCheckLimits>): KernelCheckLimits {
  limits = { ...limits, ...next };
  slots = new CheckSlots(limits);
  return limits;
}

export function kernelCheckLimits(): KernelCheckLimits {
  return limits;
}

export function kernelCheckSlots(): CheckSlots {
  return slots;
}

/** `prlimit --as=N --` when prlimit exists and a bound is set. */
export function memoryLimitWrapper(memoryBytes: number): readonly string[] {
  if (memoryBytes <= 0) return [];
  for (const dir of ['/usr/bin', '/bin']) {
    const p = path.join(dir, 'prlimit');
    if (existsSync(p)) return [p, `--as=${memoryBytes}`, '--'];
  }
  return [];
}

/** Removes check directories a killed daemon left in `workDir`; returns how many. */
export async function removeStaleCheckDirs(workDir: string): Promise<number> {
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  let removed = 0;
  for (const name of await readdir(workDir)) {
    if (!name.startsWith(CHECK_DIR_PREFIX)) continue;
    await rm(path.join(workDir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
