/**
 * Runs the real, compiled kgentd as a child process on a temp socket and state dir, and the real
 * kgentctl against it. Tests need `npm run build` first (test/run-all.sh does it).
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../daemon/util/repo-root.js';

export const REPO_ROOT = repoRoot();

export const DAEMON_JS = path.join(REPO_ROOT, 'dist', 'daemon', 'main.js');
export const CLI_JS = path.join(REPO_ROOT, 'dist', 'cli', 'bin.js');

export function builtOrReason(): string | undefined {
  if (!existsSync(DAEMON_JS) || !existsSync(CLI_JS)) return `dist/ is not built (run npm run build): ${DAEMON_JS}`;
  return undefined;
}

export interface DaemonHandle {
  readonly dir: string;
  readonly socket: string;
  readonly stateDir: string;
  proc: ResultPromise;
  output(): string;
  /** Runs kgentctl against this daemon. */
  ctl(args: string[], opts?: { timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** JSON output of `kgentctl --json ...`. */
  ctlJson<T>(args: string[]): Promise<T>;
  start(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createDaemon(opts: { env?: Record<string, string>; config?: Record<string, unknown> } = {}): Promise<DaemonHandle> {
  const env = opts.env ?? {};
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-test-'));
  const socket = path.join(dir, 'run', 'kgentd.sock');
  const stateDir = path.join(dir, 'state');
  const configFile = path.join(dir, 'config.json');
  // Kernel contracts rebuild (seconds of CPU) only where a test asks for it.
  const config = { contracts: { rebuildOnStart: false, watchPaths: [] }, ...opts.config };
  await writeFile(configFile, `${JSON.stringify(config)}\n`);
  let out = '';
  const handle: DaemonHandle = {
    dir,
    socket,
    stateDir,
    proc: undefined as unknown as ResultPromise,
    output: () => out,
    async ctl(args, opts = {}) {
      const r = await execa(process.execPath, [CLI_JS, '--socket', socket, ...args], {
        reject: false,
        timeout: opts.timeoutMs ?? 120_000,
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async ctlJson<T>(args: string[]) {
      const r = await handle.ctl(['--json', ...args]);
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        throw new Error(`kgentctl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr || r.stdout}`);
      }
    },
    async start() {
      handle.proc = execa(process.execPath, ['--max-semi-space-size=8', DAEMON_JS, '--socket', socket, '--state-dir', stateDir, '--log-level', 'debug'], {
        reject: false,
        all: true,
        buffer: false,
        // MALLOC_ARENA_MAX as systemd/kgentd.service runs it (the daemon's memory figures are the unit's).
        env: { KGENT_CONFIG: configFile, OLLAMA_HOST: 'http://127.0.0.1:9', MALLOC_ARENA_MAX: '2', ...env },
      });
      handle.proc.all?.on('data', (c: Buffer) => (out += c.toString()));
      await waitForSocket(socket, 30_000, () => handle.proc.exitCode !== undefined && handle.proc.exitCode !== null, () => out);
    },
    async kill(signal) {
      handle.proc.kill(signal);
      await handle.proc.catch(() => undefined);
    },
    async cleanup() {
      if (handle.proc && handle.proc.exitCode === null) await handle.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function waitForSocket(socket: string, timeoutMs: number, exited: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`kgentd exited during start:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(socket);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kgentd did not listen on ${socket} within ${timeoutMs} ms:\n${output()}`);
}

/** Sends raw bytes on a fresh connection and collects response lines until `count` arrive. */
export function rawExchange(socket: string, payload: Buffer | string, count: number, timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    const out: unknown[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`only ${out.length}/${count} responses within ${timeoutMs} ms: ${buf}`));
    }, timeoutMs);
    c.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (out.length >= count) {
        clearTimeout(timer);
        c.destroy();
        resolve(out);
      }
    });
    c.on('error', reject);
    c.write(payload);
  });
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** PIDs of processes whose command line contains `needle`. */
export async function pidsWith(needle: string): Promise<number[]> {
  const r = await execa('pgrep', ['-f', needle], { reject: false });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((p) => p !== process.pid);
}
