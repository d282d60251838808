/**
 * One client connection of the control socket, once admitted: its peer (named from the user
 * database, then admitted or refused), the lines it sends (each bounded in time from its first
 * byte, each dispatched in order once the peer is known), what is sent back (bounded by a slow
 * reader), busy/idle (the idle timeout), notifications, and its end (close hooks, the abort
 * signal that cancels work done only for it).
 */
import type net from 'node:net';
import { asKgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { encode, ErrorCodes, JSONRPC, LineDecoder, type ErrorObject, type Id } from '../protocol/jsonrpc.js';
import type { NotificationSpec } from '../protocol/spec.js';
import { RPC_CODE_OF } from './error-codes.js';
import type { Peer } from './peer-identity.js';

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

/** Writes one message to the client; false once it is gone (or was cut off as a slow reader). */
export type Send = (m: Parameters<typeof encode>[0]) => boolean;

export function errorResponse(id: Id | null, error: ErrorObject) {
  return { jsonrpc: JSONRPC, id, error } as const;
}

/** The peer's credentials as SO_PEERCRED gives them. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly groups: number[] | null;
}

export interface ConnectionOptions {
  readonly connectionId: number;
  readonly cred: PeerCredentials;
  readonly maxMessageBytes: number;
  /** Close the connection idle this long (no request in flight, nothing held). */
  readonly idleMs: number;
  /** A request line must end this long after its first byte. */
  readonly lineMs: number;
  /** A slow reader must not make the daemon buffer without bound. */
  readonly maxPendingWriteBytes: number;
  readonly logger: Logger;
  /** The peer with its name and groups from the user database. */
  readonly identify: (cred: PeerCredentials) => Promise<Peer>;
  /** Throws a KgentError saying why the peer may not use the socket. */
  readonly admit?: ((peer: Peer) => void | Promise<void>) | undefined;
  /** Answers one request line. */
  readonly dispatch: (line: string, ctx: ConnectionContext, send: Send) => Promise<void>;
  /** Answers with one error line, then closes. */
  readonly refuse: (socket: net.Socket, message: string, code?: number) => void;
  /** The connection ended (once). */
  readonly onEnd: (conn: Connection) => void;
}

export class Connection implements ConnectionContext {
  readonly connectionId: number;
  private peerNow: Peer;
  private readonly decoder: LineDecoder;
  private readonly closers: (() => void)[] = [];
  private readonly gone = new AbortController();
  private ended = false;
  /** Requests in flight and holds: the connection is idle when none. */
  private held = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private lineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly o: ConnectionOptions,
  ) {
    this.connectionId = o.connectionId;
    const cred = o.cred;
    this.peerNow = { ...cred, groups: cred.groups ?? [cred.gid], user: `uid ${cred.uid}` };
    this.decoder = new LineDecoder(o.maxMessageBytes);
    // Handlers may pass these on as plain functions.
    this.busy = this.busy.bind(this);
    this.notify = this.notify.bind(this);
    this.onClose = this.onClose.bind(this);
    this.close = this.close.bind(this);
  }

  get peer(): Peer {
    return this.peerNow;
  }

  get signal(): AbortSignal {
    return this.gone.signal;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Starts serving: identifies and admits the peer, then dispatches its lines in order. */
  start(): void {
    this.socket.on('close', () => this.finish());
    // Names and groups come from the user database (asynchronously); lines wait for them, in order.
    const ready = this.admitPeer();
    this.armIdle();
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk, ready));
  }

  busy(): () => void {
    this.held++;
    this.armIdle();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      this.armIdle();
    };
  }

  notify<P>(spec: NotificationSpec<P>, params: P): boolean {
    return this.send({ jsonrpc: JSONRPC, method: spec.method, params });
  }

  onClose(fn: () => void): void {
    if (this.ended) fn();
    else this.closers.push(fn);
  }

  close(message: string): void {
    this.closeWith(ErrorCodes.Refused, message);
  }

  private readonly send: Send = (msg) => {
    if (this.ended || this.socket.destroyed) return false;
    if (this.socket.writableLength > this.o.maxPendingWriteBytes) {
      this.o.logger.warn({ connectionId: this.connectionId }, 'client reads too slowly; closing its connection');
      this.socket.destroy();
      return false;
    }
    this.socket.write(encode(msg));
    return true;
  };

  private async admitPeer(): Promise<boolean> {
    const { cred, logger } = this.o;
    try {
      const p = await this.o.identify(cred);
      this.peerNow = p;
      await this.o.admit?.(p);
      logger.debug({ connectionId: this.connectionId, uid: p.uid, user: p.user, pid: p.pid }, 'connection');
      return true;
    } catch (err) {
      const e = asKgentError(err);
      logger.warn({ connectionId: this.connectionId, uid: cred.uid, pid: cred.pid, err: e.message }, 'connection refused');
      this.o.refuse(this.socket, e.message, RPC_CODE_OF[e.code]);
      return false;
    }
  }

  private onData(chunk: Buffer, ready: Promise<boolean>): void {
    const items = this.decoder.push(chunk);
    // Only a complete message counts as activity; bytes without one do not hold the connection.
    if (items.length > 0) {
      this.armIdle();
      // The line that started the timer has ended; a line still pending began in this chunk.
      if (this.lineTimer) clearTimeout(this.lineTimer);
      this.lineTimer = undefined;
    }
    this.watchLine();
    for (const item of items) {
      if (!item.ok) {
        this.send(errorResponse(null, {
          code: ErrorCodes.MessageTooLarge,
          message: `message of ${item.tooLarge} bytes exceeds the limit of ${this.o.maxMessageBytes} bytes`,
        }));
        continue;
      }
      void ready.then(async (ok) => {
        if (!ok) return;
        const release = this.busy();
        try {
          await this.o.dispatch(item.line, this, this.send);
        } finally {
          release();
        }
      });
    }
  }

  /** Idle: nothing in flight and nothing held; any line from the client re-arms the timer. */
  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.ended || this.held > 0) return;
    this.idleTimer = setTimeout(() => {
      this.o.logger.info({ connectionId: this.connectionId, uid: this.o.cred.uid, user: this.peerNow.user }, 'idle connection closed');
      this.closeWith(ErrorCodes.Timeout, `connection idle for ${this.o.idleMs} ms, closed by kgentd (policy.idleTimeoutMs); reconnect`);
    }, this.o.idleMs);
  }

  /**
   * A request line must end within lineMs of its first byte: one byte a second would otherwise
   * keep a connection (and its share of the per-uid cap) for ever.
   */
  private watchLine(): void {
    if (!this.decoder.pending) {
      if (this.lineTimer) clearTimeout(this.lineTimer);
      this.lineTimer = undefined;
      return;
    }
    if (this.lineTimer || this.ended) return;
    this.lineTimer = setTimeout(() => {
      this.o.logger.info({ connectionId: this.connectionId, uid: this.o.cred.uid, user: this.peerNow.user }, 'request line not completed in time; connection closed');
      this.closeWith(ErrorCodes.Timeout, `request line not completed within ${this.o.lineMs} ms of its first byte, closed by kgentd (policy.requestLineTimeoutMs); send each message as one line`);
      this.socket.pause();
    }, this.o.lineMs);
  }

  private closeWith(code: number, message: string): void {
    this.send(errorResponse(null, { code, message }));
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.o.onEnd(this);
    this.gone.abort();
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'connection close hook failed');
      }
    }
  }
}
