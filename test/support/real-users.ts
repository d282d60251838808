/**
 * Real users and groups for end-to-end tests of who may do what: created with tagged names (other
 * test files run at the same time) and removed after, and a way to run node as one of them.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { repoRoot } from '../../daemon/util/repo-root.js';

/** A short random tag for this test file's users and groups (names stay under 32 characters). */
export function userTag(): string {
  return randomBytes(3).toString('hex');
}

/**
 * `runuser` arguments running node as `user` with a clean environment: tap hooks the spawns of
 * its tests (NODE_OPTIONS), and a test user's node may not write tap's files.
 */
export function asUser(user: string, nodeArgs: string[]): string[] {
  return ['-u', user, '--', 'env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, ...nodeArgs];
}

export async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

export async function uidOf(user: string): Promise<number> {
  return Number((await execa('id', ['-u', user])).stdout.trim());
}

/**
 * Creates `groups`, then `users` (name -> groups they are in), without home directories or a
 * login shell; returns the function that removes them all.
 */
export async function createUsers(groups: string[], users: Record<string, string[]>): Promise<() => Promise<void>> {
  for (const g of groups) await sh('groupadd', [g]);
  for (const [u, gs] of Object.entries(users)) {
    await sh('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', ...(gs.length > 0 ? ['-G', gs.join(',')] : []), u]);
  }
  return async () => {
    for (const u of Object.keys(users)) await execa('userdel', ['-f', u], { reject: false });
    for (const g of groups) await execa('groupdel', [g], { reject: false });
  };
}

/**
 * A node script (for `node -e SCRIPT SOCKET LINES...`) that sends each argument after the socket as
 * one line on one connection, prints every answer line as `{"ms":..,"line":..}` (and
 * `{"closed":true}` when the daemon closes), forwards each line of its stdin that starts with `{`,
 * and exits on any other stdin line or when stdin closes (so the test decides when it goes away).
 */
export const PIPELINE_CLIENT = `
  const c = require('net').connect(process.argv[1]);
  const t0 = Date.now();
  let buf = '';
  c.on('connect', () => { for (const l of process.argv.slice(2)) c.write(l + '\\n'); });
  c.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\\n')) >= 0) {
      console.log(JSON.stringify({ ms: Date.now() - t0, line: buf.slice(0, nl) }));
      buf = buf.slice(nl + 1);
    }
  });
  c.on('close', () => { console.log(JSON.stringify({ ms: Date.now() - t0, closed: true })); });
  c.on('error', () => undefined);
  let input = '';
  process.stdin.on('data', (d) => {
    input += d;
    let nl;
    while ((nl = input.indexOf('\\n')) >= 0) {
      const l = input.slice(0, nl);
      input = input.slice(nl + 1);
      if (l.startsWith('{')) c.write(l + '\\n');
      else process.exit(0);
    }
  });
  process.stdin.on('end', () => process.exit(0));`;

/** Answer lines of a {@link PIPELINE_CLIENT} as they arrive. */
export interface ClientLine {
  readonly ms: number;
  readonly line?: string;
  readonly closed?: boolean;
}

/** A {@link PIPELINE_CLIENT} running as `user`: its answers as they come, and what to tell it. */
export interface UserClient {
  readonly answers: ClientLine[];
  /** Sends one more JSON-RPC message on the same connection. */
  send(message: unknown): void;
  /** The client goes away (its connection closes). */
  bye(): Promise<void>;
  /** The answer to request `id`, once it came. */
  answer(id: number | string, timeoutMs?: number): Promise<{ result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> } }>;
}

export function startUserClient(user: string, socket: string, lines: string[] = []): UserClient {
  const proc = execa('runuser', asUser(user, ['-e', PIPELINE_CLIENT, socket, ...lines]), { reject: false, stdin: 'pipe' });
  const answers: ClientLine[] = [];
  let buf = '';
  proc.stdout?.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      answers.push(JSON.parse(buf.slice(0, nl)) as ClientLine);
      buf = buf.slice(nl + 1);
    }
  });
  const parsedAnswers = () => answers.filter((a) => a.line).map((a) => JSON.parse(a.line!) as { id?: unknown; result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> } });
  return {
    answers,
    send: (m) => proc.stdin?.write(`${JSON.stringify(m)}\n`),
    bye: async () => {
      proc.stdin?.end('bye\n');
      await proc;
    },
    answer: async (id, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const a = parsedAnswers().find((x) => x.id === id);
        if (a) return a;
        if (Date.now() > deadline) throw new Error(`no answer to ${String(id)} within ${timeoutMs} ms: ${JSON.stringify(answers)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** node arguments of kgentctl from the build (after `asUser`). */
export const CLI_JS_ARGS: string[] = [path.join(repoRoot(), 'dist', 'cli', 'bin.js')];
