/**
 * Who is on the other end of a control-socket connection, as the kernel says: the uid, gid and
 * pid recorded when the client called connect() (SO_PEERCRED) and its supplementary groups
 * (SO_PEERGROUPS), never anything the client sends. Names come from the user database.
 *
 * Why a native addon: Node exposes no socket option of a Unix socket. The alternatives are
 * unsound or slow: matching the peer's socket inode through `ss`/`/proc/net/unix` and
 * `/proc/PID/fd` is racy (the pid may be gone, the fd passed on); a helper process that is handed
 * the fd (python3's `socket.SO_PEERCRED`) is sound but costs a process start per connection. A
 * 90-line C file against N-API (daemon/server/peercred/peercred.c, stable ABI, no npm dependency)
 * asks the kernel directly in microseconds. `npm run build` compiles it with `cc` against the
 * headers the Node package ships (daemon/server/peercred/build.sh says where it looks).
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { KgentError } from '../errors.js';
import { repoRoot } from '../util/repo-root.js';

/** The peer's credentials as the kernel recorded them at connect(). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Primary and supplementary group ids. */
  readonly groups: readonly number[];
}

/** A connection's peer: its kernel credentials and its user name. */
export interface Peer extends PeerCredentials {
  /** From the user database; `uid N` when the uid has no entry. */
  readonly user: string;
}

/** `alice (uid 1001)`: how a peer appears in messages and logs. */
export function peerLabel(p: { readonly user: string; readonly uid: number }): string {
  return p.user === `uid ${p.uid}` ? p.user : `${p.user} (uid ${p.uid})`;
}

interface RawCred {
  pid: number;
  uid: number;
  gid: number;
  groups: number[] | null;
}

type PeerCredFn = (fd: number) => RawCred;

/** The addon's path, from sources (tap) and from dist alike. */
export const PEERCRED_ADDON = path.join(repoRoot(), 'dist', 'native', 'peercred.node');

let peerCredFn: PeerCredFn | undefined;

/** Loads the addon once; a missing or broken build is a `config` error saying what to do. */
export function loadPeerCred(): PeerCredFn {
  if (peerCredFn) return peerCredFn;
  try {
    const mod = createRequire(import.meta.url)(PEERCRED_ADDON) as { peerCred?: PeerCredFn };
    if (typeof mod.peerCred !== 'function') throw new Error('it exports no peerCred()');
    peerCredFn = mod.peerCred;
    return peerCredFn;
  } catch (err) {
    throw new KgentError(
      'config',
      `cannot load ${PEERCRED_ADDON}, which reads who is connected to the socket (${(err as Error).message.split('\n')[0]}); rebuild kgent (npm run build, which needs cc and Node's headers)`,
      { addon: PEERCRED_ADDON },
    );
  }
}

/**
 * The kernel's credentials of a connected Unix socket's peer. `groups` is null on kernels without
 * SO_PEERGROUPS (before 4.13); {@link UserDb.groupsOf} then gives them from the group database.
 */
export function readPeerCredentials(socket: net.Socket): RawCred {
  // Node keeps the descriptor on the libuv handle (a Pipe); there is no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor');
  return loadPeerCred()(fd);
}

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Names of uids and ids of groups: /etc/passwd and /etc/group (re-read when they change), then
 * `getent` for users of other NSS sources (LDAP ...), asked asynchronously so a slow directory
 * never blocks the daemon, and remembered for a minute.
 */
export class UserDb {
  private files = new Map<string, { key: string; rows: string[][] }>();
  private readonly getentCache = new Map<string, Cached<string[] | undefined>>();

  constructor(private readonly etc = '/etc') {}

  async userName(uid: number): Promise<string> {
    const row = this.find('passwd', (r) => r[2] === String(uid)) ?? (await this.getent('passwd', String(uid)));
    return row?.[0] || `uid ${uid}`;
  }

  async groupId(name: string): Promise<number | undefined> {
    const row = this.find('group', (r) => r[0] === name) ?? (await this.getent('group', name));
    const gid = row?.[2];
    return gid !== undefined && /^\d+$/.test(gid) ? Number(gid) : undefined;
  }

  /**
   * What the group database says now (getgrouplist's answer, for the groups that matter): the user
   * name of `uid`, and which of `groupNames` it belongs to, as primary group or listed member.
   * Files first (one stat per file per call while they do not change), then NSS via `getent`.
   * A uid without a passwd entry (userdel) belongs to none.
   */
  async membershipNow(uid: number, groupNames: readonly string[]): Promise<{ user: string | undefined; gids: number[] }> {
    const pw = this.find('passwd', (r) => r[2] === String(uid)) ?? (await this.getent('passwd', String(uid)));
    const user = pw?.[0];
    if (!pw || !user) return { user: undefined, gids: [] };
    const primary = pw[3];
    const gids: number[] = [];
    for (const name of groupNames) {
      const g = this.find('group', (r) => r[0] === name) ?? (await this.getent('group', name));
      const gid = g?.[2];
      if (!g || gid === undefined || !/^\d+$/.test(gid)) continue;
      if (gid === primary || (g[3] ?? '').split(',').includes(user)) gids.push(Number(gid));
    }
    return { user, gids };
  }

  /** The primary group and every group listing `user` as a member (for kernels without SO_PEERGROUPS). */
  groupsOf(user: string, primaryGid: number): number[] {
    const out = new Set([primaryGid]);
    for (const r of this.rows('group')) {
      if ((r[3] ?? '').split(',').includes(user) && r[2] && /^\d+$/.test(r[2])) out.add(Number(r[2]));
    }
    return [...out];
  }

  private find(db: 'passwd' | 'group', pred: (r: string[]) => boolean): string[] | undefined {
    return this.rows(db).find(pred);
  }

  private rows(db: 'passwd' | 'group'): string[][] {
    const file = path.join(this.etc, db);
    try {
      const s = statSync(file);
      const key = `${s.mtimeMs}:${s.size}:${s.ino}`;
      const cached = this.files.get(db);
      if (cached?.key === key) return cached.rows;
      const rows = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(':'));
      this.files.set(db, { key, rows });
      return rows;
    } catch {
      return [];
    }
  }

  private async getent(db: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
    const k = `${db}:${key}`;
    const hit = this.getentCache.get(k);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const value = await new Promise<string[] | undefined>((resolve) => {
      execFile('getent', [db, key], { timeout: 2000 }, (err, stdout) => {
        resolve(err ? undefined : stdout.split('\n')[0]?.split(':'));
      });
    });
    this.getentCache.set(k, { value, at: Date.now() });
    return value;
  }
}
