/**
 * kgentctl's connection to kgentd: JSON-RPC 2.0 over the Unix socket, newline-delimited.
 * Imports only the protocol modules of the daemon.
 */
import net from 'node:net';
import {
  encode,
  isNotification,
  isResponse,
  JSONRPC,
  LineDecoder,
  type NotificationMessage,
  type ResponseMessage,
} from '../daemon/protocol/jsonrpc.js';
import type { MethodSpec } from '../daemon/protocol/methods.js';
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

const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class KgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ResponseMessage) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(n: NotificationMessage) => void>();
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    const decoder = new LineDecoder(MAX_RESPONSE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) {
        if (!item.ok) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(item.line);
        } catch {
          continue;
        }
        if (isResponse(msg) && typeof msg.id === 'number') {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.resolve(msg);
        } else if (isNotification(msg)) {
          for (const l of this.listeners) l(msg);
        }
      }
    });
    const fail = (err: Error): void => {
      this.closedError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', (err) => fail(new CliError(ExitCode.Unreachable, `connection to kgentd failed: ${err.message}`)));
    socket.on('close', () => fail(new CliError(ExitCode.Unreachable, 'kgentd closed the connection; check `journalctl -u kgentd`')));
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
        resolve(new KgentClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(socketPath, err));
      });
    });
  }

  onNotification(fn: (n: NotificationMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  call<P, R>(spec: MethodSpec<P, R>, params: P): Promise<R> {
    return this.callRaw(spec.method, params) as Promise<R>;
  }

  async callRaw(method: string, params: unknown): Promise<unknown> {
    if (this.closedError) throw this.closedError;
    const id = this.nextId++;
    const response = await new Promise<ResponseMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(encode({ jsonrpc: JSONRPC, id, method, params }));
    });
    if (response.error) throw new RpcError(response.error.code, response.error.message, response.error.data);
    return response.result;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

function connectError(socketPath: string, err: NodeJS.ErrnoException): CliError {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new CliError(
        ExitCode.Unreachable,
        `kgentd is not running (no socket at ${socketPath}); start it: systemctl start kgentd (or sudo systemd/install.sh)`,
      );
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
