/**
 * Real users and groups for end-to-end tests of who may do what: created with tagged names (other
 * test files run at the same time) and removed after, and a way to run node as one of them.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';

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
 * one line on one connection, prints every answer line as `{"ms":..,"line":..}`, and exits when
 * its stdin gets a line or closes (so the test decides when the client goes away).
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
  c.on('close', () => { console.log(JSON.stringify({ ms: Date.now() - t0, closed: true })); process.exit(0); });
  process.stdin.on('data', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0));`;
