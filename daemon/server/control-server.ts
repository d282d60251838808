/**
 * The control socket: a `node:net` Unix socket speaking newline-delimited JSON-RPC 2.0.
 * Born 0660 (umask set around listen, so there is no window with a wider mode), then chowned to
 * root:<group>. Each line is parsed and validated on its own: a malformed, unknown or oversized
 * message gets an error response and the connection (and every other one) keeps working.
 *
 * Each connection carries its peer as the kernel identifies it ({@link Peer}, SO_PEERCRED). Limits
 * keep one user from starving the others: open connections per non-root uid and of all non-root
 * users together, an idle timeout (re-armed by complete messages only, so a trickle of bytes or
 * blank lines does not keep a connection), and a time bound on each request line from its first
 * byte; root is never counted nor refused. A refused or closed connection is told why in an error
 * line first, never dropped silently.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, chownSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { encode, ErrorCodes } from '../protocol/jsonrpc.js';
import type { MethodSpec } from '../protocol/spec.js';
import { loadPeerCred, readPeerCredentials, UserDb, type Peer } from './peer-identity.js';
import { Connection, errorResponse, type ConnectionContext, type PeerCredentials } from './connection.js';
import { dispatchLine, type Handler } from './request-dispatch.js';

export type { ConnectionContext } from './connection.js';

/** Where typed methods are registered (the server; tests pass a stand-in). */
export interface MethodRegistry {
  register<P, R>(spec: MethodSpec<P, R>, fn: (params: P, ctx: ConnectionContext) => Promise<R>): void;
}

export interface ControlServerOptions {
  readonly socketPath: string;
  /** Group given the socket (root:<group>, mode 0660); skipped with a warning if it does not exist. */
  readonly group?: string;
  readonly maxMessageBytes: number;
  /** Open connections of all non-root peers together (default 256). */
  readonly maxConnections?: number;
  /** Open connections of one non-root uid (default 16). */
  readonly maxConnectionsPerUid?: number;
  /** Close a connection idle this long (no request in flight, nothing followed); default 10 min. */
  readonly idleTimeoutMs?: number;
  /** A request line must end (newline) this long after its first byte, or the connection is closed; default 10 s. */
  readonly lineTimeoutMs?: number;
  /**
   * Decides whether a peer may use the socket at all (e.g. members of the socket's group and
   * admins); throws a KgentError saying why not. All peers are admitted without it.
   */
  readonly admit?: (peer: Peer) => void | Promise<void>;
  readonly userDb?: UserDb;
  readonly logger: Logger;
}

/** A slow reader of a followed log must not make the daemon buffer without bound. */
const MAX_PENDING_WRITE_BYTES = 16 * 1024 * 1024;

export class ControlServer implements MethodRegistry {
  private readonly handlers = new Map<string, Handler>();
  private readonly sockets = new Set<net.Socket>();
  private readonly contexts = new Set<ConnectionContext>();
  private server: net.Server | undefined;
  private nextConnectionId = 1;
  private readonly perUid = new Map<number, number>();
  private nonRoot = 0;
  private readonly users: UserDb;

  constructor(private readonly o: ControlServerOptions) {
    this.users = o.userDb ?? new UserDb();
  }

  /** Open connections: all, and those of non-root peers (for status and tests). */
  connectionCounts(): { total: number; nonRoot: number } {
    return { total: this.sockets.size, nonRoot: this.nonRoot };
  }

  /** The open connections (the revocation sweep re-checks their peers). */
  connections(): ConnectionContext[] {
    return [...this.contexts];
  }

  /** Registers a typed method: params are validated against the method's schema before `fn` runs. */
  register<P, R>(spec: MethodSpec<P, R>, fn: (params: P, ctx: ConnectionContext) => Promise<R>): void {
    if (this.handlers.has(spec.method)) throw new Error(`method ${spec.method} registered twice`);
    this.handlers.set(spec.method, (params, ctx) => fn(spec.params.parse(params ?? {}), ctx));
  }

  /** Names of the registered methods. */
  methods(): string[] {
    return [...this.handlers.keys()];
  }

  async listen(): Promise<void> {
    loadPeerCred(); // without it nobody can be told apart: refuse to start rather than serve blind
    const socketPath = this.o.socketPath;
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
    await removeStaleSocket(socketPath);
    // No server.maxConnections: Node drops connections beyond it without a word, root's included.
    // Limits are per uid in accept(), with an error line to whoever is refused.
    const server = net.createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server = server;
    const oldUmask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldUmask);
    }
    this.applyGroup(socketPath);
    this.o.logger.info({ socket: socketPath }, 'control socket listening');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
    try {
      unlinkSync(this.o.socketPath);
    } catch {
      // already gone
    }
  }

  private applyGroup(socketPath: string): void {
    const group = this.o.group;
    if (!group || process.getuid?.() !== 0) return;
    const gid = lookupGroupId(group);
    if (gid === undefined) {
      this.o.logger.warn({ group }, `group "${group}" does not exist: socket stays root-only (0660 root:root)`);
      return;
    }
    chownSync(socketPath, 0, gid);
  }

  private accept(socket: net.Socket): void {
    const connectionId = this.nextConnectionId++;
    socket.on('error', (err) => this.o.logger.debug({ connectionId, err: err.message }, 'client socket error'));
    let cred;
    try {
      cred = readPeerCredentials(socket);
    } catch (err) {
      this.o.logger.warn({ connectionId, err: (err as Error).message }, 'cannot read the peer credentials of a connection; refused');
      this.refuse(socket, 'kgentd cannot tell who you are (peer credentials unreadable); see the kgentd log');
      return;
    }
    const uid = cred.uid;
    if (uid !== 0) {
      const mine = this.perUid.get(uid) ?? 0;
      const perUid = this.o.maxConnectionsPerUid ?? 16;
      const total = this.o.maxConnections ?? 256;
      const why =
        mine >= perUid
          ? `uid ${uid} already has ${mine} connections open, the limit per user (policy.maxConnectionsPerUid); close some and retry`
          : this.nonRoot >= total
            ? `kgentd has ${this.nonRoot} connections of non-root users open, its limit (policy.maxConnections); retry later`
            : undefined;
      if (why) {
        this.o.logger.warn({ connectionId, uid, pid: cred.pid, open: mine }, `connection refused: ${why}`);
        this.refuse(socket, why);
        return;
      }
      this.perUid.set(uid, mine + 1);
      this.nonRoot++;
    }
    this.sockets.add(socket);
    const conn = new Connection(socket, {
      connectionId,
      cred,
      maxMessageBytes: this.o.maxMessageBytes,
      idleMs: this.o.idleTimeoutMs ?? 10 * 60_000,
      lineMs: this.o.lineTimeoutMs ?? 10_000,
      maxPendingWriteBytes: MAX_PENDING_WRITE_BYTES,
      logger: this.o.logger,
      identify: (c) => this.identify(c),
      admit: this.o.admit,
      dispatch: (line, ctx, send) => dispatchLine(line, this.handlers, ctx, send, this.o.logger),
      refuse: (s, message, code) => this.refuse(s, message, code),
      onEnd: () => this.forget(socket, conn, uid),
    });
    this.contexts.add(conn);
    conn.start();
  }

  /** A connection ended: it no longer counts against its uid's share. */
  private forget(socket: net.Socket, conn: ConnectionContext, uid: number): void {
    this.sockets.delete(socket);
    this.contexts.delete(conn);
    if (uid !== 0) {
      const n = (this.perUid.get(uid) ?? 1) - 1;
      if (n > 0) this.perUid.set(uid, n);
      else this.perUid.delete(uid);
      this.nonRoot--;
    }
  }

  private async identify(cred: PeerCredentials): Promise<Peer> {
    const user = await this.users.userName(cred.uid);
    const groups = cred.groups ? [...new Set([cred.gid, ...cred.groups])] : this.users.groupsOf(user, cred.gid);
    return { pid: cred.pid, uid: cred.uid, gid: cred.gid, groups, user };
  }

  /** Answers a connection with one error line, then closes it. */
  private refuse(socket: net.Socket, message: string, code: number = ErrorCodes.Refused): void {
    if (socket.destroyed) return;
    socket.end(encode(errorResponse(null, { code, message })));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

/** A socket file left by a killed daemon is removed; one a live daemon answers on is not. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new KgentError('conflict', `another kgentd is already serving ${socketPath}; stop it first (systemctl stop kgentd)`, {
      socketPath,
    });
  }
  unlinkSync(socketPath);
}

function lookupGroupId(name: string): number | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [gname, , gid] = line.split(':');
      if (gname === name && gid !== undefined) return Number(gid);
    }
  } catch {
    // no /etc/group: treat as missing
  }
  return undefined;
}
