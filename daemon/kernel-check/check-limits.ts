/**
 * Bounds on kernel checks, which each start a bpftrace (LLVM, clang, BTF: ~100 MB resident, and
 * without a bound one program can grow past 4 GiB): how many run at once (the rest wait in a
 * bounded queue), how much address space each may use, and where their temp files live.
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
  /** Kernel checks that run at once; further ones wait. */
  readonly maxConcurrent: number;
  /** Checks that may wait; beyond this a check is refused as `unavailable`. */
  readonly maxQueued: number;
  /** RLIMIT_AS of each check's bpftrace, in bytes (0: no bound). */
  readonly memoryBytes: number;
  /** Where each check writes its program copy (a restart cleans what a killed daemon left). */
  readonly workDir: string;
}

export const CHECK_DIR_PREFIX = 'kgent-check-';

const DEFAULT_LIMITS: KernelCheckLimits = {
  maxConcurrent: 2,
  maxQueued: 64,
  memoryBytes: 1024 * 1024 * 1024,
  workDir: tmpdir(),
};

/** A counting semaphore with a bounded FIFO queue. */
export class CheckSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
  ) {}

  /** Resolves with a release function once a slot is free. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxQueued) {
        throw new KgentError(
          'unavailable',
          `${this.active} kernel checks are running and ${this.waiting.length} are waiting; try again shortly`,
          { running: this.active, queued: this.waiting.length },
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next();
      else this.active--;
    };
  }

  stats(): { running: number; queued: number } {
    return { running: this.active, queued: this.waiting.length };
  }
}

let limits: KernelCheckLimits = DEFAULT_LIMITS;
let slots = new CheckSlots(DEFAULT_LIMITS.maxConcurrent, DEFAULT_LIMITS.maxQueued);

/**
 * Sets the bounds every kernel check of this process obeys (the daemon calls it once at start).
 * Process-wide on purpose: whichever service asks for a check, they share one machine.
 */
export function configureKernelChecks(next: Partial<KernelCheckLimits>): KernelCheckLimits {
  limits = { ...limits, ...next };
  slots = new CheckSlots(limits.maxConcurrent, limits.maxQueued);
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
