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
import { KgentError, asKgentError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  encode,
  ErrorCodes,
  isRequest,
  keepRawId,
  JSONRPC,
  LineDecoder,
  type ErrorObject,
  type Id,
} from '../protocol/jsonrpc.js';
import type { MethodSpec, NotificationSpec } from '../protocol/spec.js';
import { RPC_CODE_OF } from './error-codes.js';
import { loadPeerCred, readPeerCredentials, UserDb, type Peer } from './identity.js';

export interface ConnectionContext {
  readonly connectionId: number;
  /** Who is connected, from the kernel (never from what the client says). */
  readonly peer: Peer;
  /**
   * Marks the connection busy (a followed log, a watched rebuild): the idle timeout does not close
   * it until the returned release is called. Requests in flight count as busy by themselves.
   */
  busy(): () => void;
  /** Sends a notification to this client; false once the client is gone. */
  notify<P>(spec: NotificationSpec<P>, params: P): boolean;
  /** Runs when the client disconnects (to end log follows and the like). */
  onClose(fn: () => void): void;
  /** Aborted when the client disconnects: work done only for this client stops (kernel checks). */
  readonly signal: AbortSignal;
  /** Tells the client why in an error line, then closes the connection. */
  close(message: string): void;
  readonly closed: boolean;
}

type Handler = (params: unknown, ctx: ConnectionContext) => Promise<unknown>;

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
    const decoder = new LineDecoder(this.o.maxMessageBytes);
    const closers: (() => void)[] = [];
    const gone = new AbortController();
    let closed = false;
    let peer: Peer = { ...cred, groups: cred.groups ?? [cred.gid], user: `uid ${uid}` };
    this.sockets.add(socket);
    const send = (msg: Parameters<typeof encode>[0]): boolean => {
      if (closed || socket.destroyed) return false;
      if (socket.writableLength > MAX_PENDING_WRITE_BYTES) {
        this.o.logger.warn({ connectionId }, 'client reads too slowly; closing its connection');
        socket.destroy();
        return false;
      }
      socket.write(encode(msg));
      return true;
    };
    // Idle: nothing in flight and nothing held; any line from the client re-arms the timer.
    let busy = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const idleMs = this.o.idleTimeoutMs ?? 10 * 60_000;
    const armIdle = (): void => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = undefined;
      if (closed || busy > 0) return;
      idleTimer = setTimeout(() => {
        this.o.logger.info({ connectionId, uid, user: peer.user }, 'idle connection closed');
        closeWith(ErrorCodes.Timeout, `connection idle for ${idleMs} ms, closed by kgentd (policy.idleTimeoutMs); reconnect`);
      }, idleMs);
    };
    // A request line must end within lineMs of its first byte: one byte a second would otherwise
    // keep a connection (and its share of the per-uid cap) for ever.
    let lineTimer: NodeJS.Timeout | undefined;
    const lineMs = this.o.lineTimeoutMs ?? 10_000;
    const watchLine = (): void => {
      if (!decoder.pending) {
        if (lineTimer) clearTimeout(lineTimer);
        lineTimer = undefined;
        return;
      }
      if (lineTimer || closed) return;
      lineTimer = setTimeout(() => {
        this.o.logger.info({ connectionId, uid, user: peer.user }, 'request line not completed in time; connection closed');
        closeWith(ErrorCodes.Timeout, `request line not completed within ${lineMs} ms of its first byte, closed by kgentd (policy.requestLineTimeoutMs); send each message as one line`);
        socket.pause();
      }, lineMs);
    };
    const hold = (): (() => void) => {
      busy++;
      armIdle();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        busy--;
        armIdle();
      };
    };
    const closeWith = (code: number, message: string): void => {
      send(errorResponse(null, { code, message }));
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const ctx: ConnectionContext = {
      connectionId,
      get peer() {
        return peer;
      },
      busy: hold,
      notify: (spec, params) => send({ jsonrpc: JSONRPC, method: spec.method, params }),
      onClose: (fn) => {
        if (closed) fn();
        else closers.push(fn);
      },
      signal: gone.signal,
      close: (message) => closeWith(ErrorCodes.Refused, message),
      get closed() {
        return closed;
      },
    };
    const finish = (): void => {
      if (closed) return;
      closed = true;
      if (idleTimer) clearTimeout(idleTimer);
      if (lineTimer) clearTimeout(lineTimer);
      this.sockets.delete(socket);
      this.contexts.delete(ctx);
      gone.abort();
      if (uid !== 0) {
        const n = (this.perUid.get(uid) ?? 1) - 1;
        if (n > 0) this.perUid.set(uid, n);
        else this.perUid.delete(uid);
        this.nonRoot--;
      }
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch (err) {
          this.o.logger.warn({ err: (err as Error).message }, 'connection close hook failed');
        }
      }
    };
    socket.on('close', finish);
    this.contexts.add(ctx);
    // Names and groups come from the user database (asynchronously); lines wait for them, in order.
    const ready = (async (): Promise<boolean> => {
      try {
        const p = await this.identify(cred);
        peer = p;
        await this.o.admit?.(p);
        this.o.logger.debug({ connectionId, uid: p.uid, user: p.user, pid: p.pid }, 'connection');
        return true;
      } catch (err) {
        const e = asKgentError(err);
        this.o.logger.warn({ connectionId, uid, pid: cred.pid, err: e.message }, 'connection refused');
        this.refuse(socket, e.message, RPC_CODE_OF[e.code]);
        return false;
      }
    })();
    armIdle();
    socket.on('data', (chunk: Buffer) => {
      const items = decoder.push(chunk);
      // Only a complete message counts as activity; bytes without one do not hold the connection.
      if (items.length > 0) {
        armIdle();
        // The line that started the timer has ended; a line still pending began in this chunk.
        if (lineTimer) clearTimeout(lineTimer);
        lineTimer = undefined;
      }
      watchLine();
      for (const item of items) {
        if (!item.ok) {
          send(errorResponse(null, {
            code: ErrorCodes.MessageTooLarge,
            message: `message of ${item.tooLarge} bytes exceeds the limit of ${this.o.maxMessageBytes} bytes`,
          }));
          continue;
        }
        void ready.then(async (ok) => {
          if (!ok) return;
          const release = hold();
          try {
            await this.handleLine(item.line, ctx, send);
          } finally {
            release();
          }
        });
      }
    });
  }

  private async identify(cred: { pid: number; uid: number; gid: number; groups: number[] | null }): Promise<Peer> {
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

  private async handleLine(line: string, ctx: ConnectionContext, send: (m: Parameters<typeof encode>[0]) => boolean): Promise<void> {
    let msg: unknown;
    try {
      msg = keepRawId(JSON.parse(line), line);
    } catch (err) {
      send(errorResponse(null, { code: ErrorCodes.ParseError, message: `parse error: ${(err as Error).message}` }));
      return;
    }
    if (!isRequest(msg)) {
      const rec = msg as Record<string, unknown> | null;
      const isClientNotification = rec && typeof rec === 'object' && rec.jsonrpc === JSONRPC && typeof rec.method === 'string' && !('id' in rec);
      if (isClientNotification) return; // JSON-RPC: notifications get no response
      const id = rec && typeof rec === 'object' && (typeof rec.id === 'number' || typeof rec.id === 'string') ? rec.id : null;
      send(errorResponse(id, {
        code: ErrorCodes.InvalidRequest,
        message: 'invalid request: expected {"jsonrpc":"2.0","id":<number|string>,"method":<string>,"params":{...}}',
      }));
      return;
    }
    const handler = this.handlers.get(msg.method);
    if (!handler) {
      send(errorResponse(msg.id, { code: ErrorCodes.MethodNotFound, message: `unknown method "${msg.method}"` }));
      return;
    }
    const started = performance.now();
    try {
      const result = await handler(msg.params, ctx);
      send({ jsonrpc: JSONRPC, id: msg.id, result: result ?? null });
      this.o.logger.debug({ method: msg.method, uid: ctx.peer.uid, ms: Math.round(performance.now() - started) }, 'request done');
    } catch (err) {
      const e = asKgentError(err);
      const who = { uid: ctx.peer.uid, user: ctx.peer.user, pid: ctx.peer.pid };
      if (e.code === 'internal') this.o.logger.error({ method: msg.method, ...who, err: e, cause: e.cause }, 'request failed');
      else this.o.logger.info({ method: msg.method, ...who, code: e.code, msg: e.message }, 'request refused');
      send(errorResponse(msg.id, { code: RPC_CODE_OF[e.code], message: e.message, data: { kgentCode: e.code, ...e.data } }));
    }
  }
}

function errorResponse(id: Id | null, error: ErrorObject) {
  return { jsonrpc: JSONRPC, id, error } as const;
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
