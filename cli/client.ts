/**
 * kgentctl's connection to kgentd: JSON-RPC 2.0 over the Unix socket, newline-delimited.
 * Imports only the daemon's protocol.
 *
 * Every call has a time limit (default {@link DEFAULT_CALL_TIMEOUT_MS}; long calls pass their own,
 * or `null` for none). A line from the daemon that is not a JSON-RPC response or notification is
 * never skipped: it fails the pending calls (and ends a follow) with one clear line, since
 * whatever answered can no longer be trusted to pair answers with questions.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  encode,
  isNotification,
  isResponse,
  JSONRPC,
  LineDecoder,
  type MethodSpec,
  type NotificationSpec,
  type ResponseMessage,
} from '../daemon/protocol/index.js';
import { CliError, ExitCode } from './exit-codes.js';

/** An error the daemon answered with: its JSON-RPC code, message and data. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  get kgentCode(): string | undefined {
    return (this.data as { kgentCode?: string } | undefined)?.kgentCode;
  }
}

/** Time limit of a call unless it names its own: ample for every short method. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * Calls that wait for the kernel check (`check`, `run`) or the Kgent loop (`request`): above the
 * daemon's own kernel-check limit (60 s by default) plus queueing behind other checks.
 */
export const LONG_CALL_TIMEOUT_MS = 10 * 60_000;

const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface CallOptions {
  /** Milliseconds to wait for the answer; `null`: no limit (a follow, a rebuild the user watches). */
  readonly timeoutMs?: number | null;
}

interface Pending {
  readonly method: string;
  resolve(r: ResponseMessage): void;
  reject(e: Error): void;
}

export class KgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Calls given up on (timed out): their late answers are dropped, knowingly. */
  private readonly abandoned = new Set<number>();
  private readonly listeners = new Set<(method: string, params: unknown) => void>();
  private closedError: Error | undefined;
  private closedWaiters: ((e: Error) => void)[] = [];

  private constructor(
    private readonly socket: net.Socket,
    private readonly socketPath: string,
  ) {
    const decoder = new LineDecoder(MAX_RESPONSE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) {
        if (!item.ok) {
          this.fail(this.badReply(`a reply of ${item.tooLarge} bytes, over the ${MAX_RESPONSE_BYTES}-byte limit`));
          return;
        }
        let msg: unknown;
        try {
          msg = JSON.parse(item.line);
        } catch {
          this.fail(this.badReply(`a line that is not JSON: ${preview(item.line)}`));
          return;
        }
        if (isResponse(msg) && typeof msg.id === 'number' && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id)!;
          this.pending.delete(msg.id);
          p.resolve(msg);
        } else if (isResponse(msg) && typeof msg.id === 'number' && this.abandoned.delete(msg.id)) {
          // the answer to a call that timed out
        } else if (isNotification(msg)) {
          for (const l of this.listeners) l(msg.method, msg.params);
        } else if (isResponse(msg) && msg.id === null && msg.error) {
          // The daemon could not tell which request this answers (e.g. a message it could not parse).
          this.fail(new RpcError(msg.error.code, msg.error.message, msg.error.data));
          return;
        } else {
          this.fail(this.badReply(`a message that answers no request of this connection: ${preview(item.line)}`));
          return;
        }
      }
    });
    socket.on('error', (err) => this.fail(new CliError(ExitCode.Unreachable, `connection to kgentd failed: ${err.message}`)));
    socket.on('close', () => this.fail(new CliError(ExitCode.Unreachable, 'kgentd closed the connection; check `journalctl -u kgentd`')));
  }

  static connect(socketPath: string, timeoutMs = 5000): Promise<KgentClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CliError(ExitCode.Unreachable, `kgentd at ${socketPath} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new KgentClient(socket, socketPath));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(socketPath, err));
      });
    });
  }

  /** Calls `fn` with each notification of this kind; returns a function that stops it. */
  onNotification<P>(spec: NotificationSpec<P>, fn: (params: P) => void): () => void {
    const l = (method: string, params: unknown): void => {
      if (method === spec.method) fn(params as P);
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Settles with the reason once the connection is unusable (closed, failed, or a bad reply). */
  whenClosed(): Promise<Error> {
    if (this.closedError) return Promise.resolve(this.closedError);
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  async call<P, R>(spec: MethodSpec<P, R>, params: P, opts: CallOptions = {}): Promise<R> {
    if (this.closedError) throw this.closedError;
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs === undefined ? DEFAULT_CALL_TIMEOUT_MS : opts.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const response = await new Promise<ResponseMessage>((resolve, reject) => {
      this.pending.set(id, { method: spec.method, resolve, reject });
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          this.pending.delete(id);
          this.abandoned.add(id);
          reject(
            new CliError(
              ExitCode.DaemonError,
              `kgentd did not answer ${spec.method} within ${formatMs(timeoutMs)}; it may be overloaded or stuck (journalctl -u kgentd shows why); retry later`,
            ),
          );
        }, timeoutMs);
      }
      this.socket.write(encode({ jsonrpc: JSONRPC, id, method: spec.method, params }));
    }).finally(() => clearTimeout(timer));
    if (response.error) throw new RpcError(response.error.code, response.error.message, response.error.data);
    return response.result as R;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private badReply(what: string): CliError {
    return new CliError(ExitCode.DaemonError, `kgentd at ${this.socketPath} sent ${what}; is it a kgentd of the same version? (kgentctl status; journalctl -u kgentd)`);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of this.closedWaiters.splice(0)) w(err);
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

function preview(line: string): string {
  const one = line.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 80)}…` : one);
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Where kgentd listens unless told otherwise (systemd/kgentd.service, daemon/config.ts). */
export const DEFAULT_SOCKET = '/run/kgent/kgentd.sock';

/** How to start the kgentd that serves `socketPath`: systemd's unit serves only the default one. */
function howToStart(socketPath: string): string {
  return path.resolve(socketPath) === DEFAULT_SOCKET
    ? 'start it: sudo systemctl start kgentd (first time: sudo systemd/install.sh); kgentctl doctor checks the host'
    : `start a kgentd on it (kgentd --socket ${socketPath}), or drop --socket / KGENT_SOCKET to use the system's kgentd at ${DEFAULT_SOCKET}`;
}

/**
 * One line that says what is at `socketPath` and what to do. A refused connection has three
 * causes the user fixes differently: the path names a file that is not a socket (a wrong
 * --socket), a socket no process listens on (kgentd was killed or stopped without removing it),
 * or a path that does not exist.
 */
export function connectError(socketPath: string, err: NodeJS.ErrnoException): CliError {
  switch (err.code) {
    case 'ENOENT':
      return new CliError(ExitCode.Unreachable, `kgentd is not running (no socket at ${socketPath}); ${howToStart(socketPath)}`);
    case 'ENOTDIR':
      return new CliError(ExitCode.Unreachable, `${socketPath} is not a socket path (a part of it is a file, not a directory); check --socket or KGENT_SOCKET`);
    case 'ECONNREFUSED': {
      const kind = fileKind(socketPath);
      if (kind !== 'socket') {
        return new CliError(
          ExitCode.Unreachable,
          `${socketPath} is ${kind}, not kgentd's socket; check --socket or KGENT_SOCKET (the system's kgentd listens on ${DEFAULT_SOCKET})`,
        );
      }
      return new CliError(
        ExitCode.Unreachable,
        `kgentd is not running: nothing listens on the socket ${socketPath} (left by a kgentd that stopped or was killed); ${howToStart(socketPath)}`,
      );
    }
    case 'EACCES':
    case 'EPERM':
      return new CliError(
        ExitCode.Unreachable,
        `permission denied on ${socketPath}; run as root or add yourself to the kgent group (usermod -aG kgent $USER)`,
      );
    default:
      return new CliError(ExitCode.Unreachable, `cannot connect to kgentd at ${socketPath}: ${err.message}`);
  }
}

function fileKind(p: string): string {
  try {
    const st = statSync(p);
    if (st.isSocket()) return 'socket';
    if (st.isDirectory()) return 'a directory';
    if (st.isFile()) return 'a regular file';
    return 'not a socket';
  } catch {
    // Removed between the connect and now: the daemon is going away or coming up.
    return 'socket';
  }
}
