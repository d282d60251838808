/**
 * The one door to the running kernel's files (/sys, /proc, /boot, tracefs). Everything else in
 * kgent that wants to know about the kernel goes through a {@link KernelHost}, so tests can fake the
 * kernel with a directory of recorded files ({@link fixtureHost}).
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Result of a read that must tell "absent" apart from "present but refused". */
export type ReadOutcome =
  | { readonly ok: true; readonly data: Buffer }
  | {
      readonly ok: false;
      /** errno name: `ENOENT` when absent, `EPERM`/`EACCES` when refused, `ENODEV` when disabled, ... */
      readonly code: string;
      readonly message: string;
    };

/** Read access to a kernel's files. Paths are absolute host paths (`/proc/config.gz`). */
export interface KernelHost {
  /** Human description for logs and reports (`live system`, `fixture /path`). */
  readonly description: string;
  /** File as UTF-8 text, or undefined when it is absent or unreadable. */
  readText(path: string): Promise<string | undefined>;
  /** File as bytes, or undefined when it is absent or unreadable. */
  readBytes(path: string): Promise<Buffer | undefined>;
  /** Like {@link readBytes} but says why a read failed. */
  tryRead(path: string): Promise<ReadOutcome>;
  /** Entry names of a directory, sorted; [] when the directory is absent. */
  list(dir: string): Promise<string[]>;
  /** True when something exists at the path (even if it cannot be read). */
  exists(path: string): Promise<boolean>;
  /** True when the path is a directory. */
  isDirectory(path: string): Promise<boolean>;
  /**
   * Mount point of tracefs (`/sys/kernel/tracing`, falling back to `/sys/kernel/debug/tracing`),
   * or undefined when neither holds an `events` directory.
   */
  tracefsRoot(): Promise<string | undefined>;
}

/** Standard tracefs mount points, in the order they are tried. */
export const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

function errnoOf(err: unknown): { code: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { code: typeof e?.code === 'string' ? e.code : 'EIO', message: e instanceof Error ? e.message : String(err) };
}

/** Shared implementation: a host whose absolute paths map through `map`. */
class FsHost implements KernelHost {
  readonly description: string;
  private readonly map: (p: string) => string;
  private readonly denied: ReadonlyMap<string, string>;
  private tracefs: Promise<string | undefined> | undefined;

  constructor(description: string, map: (p: string) => string, denied: ReadonlyMap<string, string>) {
    this.description = description;
    this.map = map;
    this.denied = denied;
  }

  async tryRead(p: string): Promise<ReadOutcome> {
    const code = this.denied.get(path.posix.normalize(p));
    if (code !== undefined) return { ok: false, code, message: `${code}: recorded as refused: ${p}` };
    try {
      return { ok: true, data: await readFile(this.map(p)) };
    } catch (err) {
      return { ok: false, ...errnoOf(err) };
    }
  }

  async readBytes(p: string): Promise<Buffer | undefined> {
    const r = await this.tryRead(p);
    return r.ok ? r.data : undefined;
  }

  async readText(p: string): Promise<string | undefined> {
    const b = await this.readBytes(p);
    return b === undefined ? undefined : b.toString('utf8');
  }

  async list(dir: string): Promise<string[]> {
    try {
      const names = await readdir(this.map(dir));
      return names.sort();
    } catch {
      return [];
    }
  }

  async exists(p: string): Promise<boolean> {
    try {
      await access(this.map(p), fsConstants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async isDirectory(p: string): Promise<boolean> {
    try {
      return (await stat(this.map(p))).isDirectory();
    } catch {
      return false;
    }
  }

  tracefsRoot(): Promise<string | undefined> {
    this.tracefs ??= (async () => {
      for (const c of TRACEFS_CANDIDATES) {
        if (await this.isDirectory(`${c}/events`)) return c;
      }
      return undefined;
    })();
    return this.tracefs;
  }
}

/** The live system: paths are read as they are. */
export function realHost(): KernelHost {
  return new FsHost('live system', (p) => p, new Map());
}

/** Options for {@link fixtureHost}. */
export interface FixtureHostOptions {
  /**
   * Paths (absolute, as on the host) that behave as present but refused, with the errno to report
   * (default `EPERM`) — e.g. `/sys/kernel/tracing/available_filter_functions` on a locked-down kernel.
   */
  readonly denied?: readonly string[] | Readonly<Record<string, string>>;
}

/**
 * A recorded kernel: the absolute path `/proc/version` is read from `<rootDir>/proc/version`.
 * A file `<rootDir>/.denied` (one absolute path per line, optionally followed by an errno name)
 * lists paths that behave as refused, like {@link FixtureHostOptions.denied}.
 */
export function fixtureHost(rootDir: string, opts: FixtureHostOptions = {}): KernelHost {
  const root = path.resolve(rootDir);
  const denied = new Map<string, string>();
  const addDenied = (p: string, code = 'EPERM'): void => {
    denied.set(path.posix.normalize(p), code);
  };
  if (Array.isArray(opts.denied)) for (const p of opts.denied as readonly string[]) addDenied(p);
  else if (opts.denied) for (const [p, c] of Object.entries(opts.denied)) addDenied(p, c);
  const map = (p: string): string => {
    if (!p.startsWith('/')) throw new Error(`fixtureHost needs absolute paths, got ${p}`);
    return path.join(root, path.posix.normalize(p));
  };
  const host = new FsHost(`fixture ${root}`, map, denied);
  return new LazyDeniedHost(host, root, denied);
}

// Reads `.denied` once, before the first access, so fixtureHost() itself stays synchronous.
class LazyDeniedHost implements KernelHost {
  readonly description: string;
  private ready: Promise<void> | undefined;
  constructor(
    private readonly inner: FsHost,
    private readonly root: string,
    private readonly denied: Map<string, string>,
  ) {
    this.description = inner.description;
  }
  private init(): Promise<void> {
    this.ready ??= readFile(path.join(this.root, '.denied'), 'utf8').then(
      (text) => {
        for (const line of text.split('\n')) {
          const [p, code] = line.trim().split(/\s+/);
          if (p && p.startsWith('/') && !this.denied.has(p)) this.denied.set(path.posix.normalize(p), code ?? 'EPERM');
        }
      },
      () => undefined,
    );
    return this.ready;
  }
  async readText(p: string): Promise<string | undefined> {
    await this.init();
    return this.inner.readText(p);
  }
  async readBytes(p: string): Promise<Buffer | undefined> {
    await this.init();
    return this.inner.readBytes(p);
  }
  async tryRead(p: string): Promise<ReadOutcome> {
    await this.init();
    return this.inner.tryRead(p);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  exists(p: string): Promise<boolean> {
    return this.inner.exists(p);
  }
  isDirectory(p: string): Promise<boolean> {
    return this.inner.isDirectory(p);
  }
  tracefsRoot(): Promise<string | undefined> {
    return this.inner.tracefsRoot();
  }
}

/** `uname -r` of the host, from /proc/sys/kernel/osrelease; undefined when unreadable. */
export async function readRelease(host: KernelHost): Promise<string | undefined> {
  const t = await host.readText('/proc/sys/kernel/osrelease');
  return t?.trim() || undefined;
}
