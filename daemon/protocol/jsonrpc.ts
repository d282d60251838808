/**
 * JSON-RPC 2.0 message shapes over newline-delimited JSON, and a line decoder that enforces a
 * maximum message size. Free of daemon internals: the CLI uses this module too.
 */

export const JSONRPC = '2.0';

/** JSON-RPC reserved codes, then kgent's own in the implementation-defined server range. */
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  MessageTooLarge: -32001,
  NotFound: -32002,
  Conflict: -32003,
  Refused: -32004,
  Unavailable: -32005,
  KernelUnsupported: -32006,
  Timeout: -32007,
  Io: -32008,
  Config: -32009,
} as const;

export type Id = number | string;

export interface RequestMessage {
  readonly jsonrpc: '2.0';
  readonly id: Id;
  readonly method: string;
  readonly params?: unknown;
}

export interface NotificationMessage {
  readonly jsonrpc: '2.0';
  readonly method: string;
  readonly params?: unknown;
}

export interface ErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export interface ResponseMessage {
  readonly jsonrpc: '2.0';
  readonly id: Id | null;
  readonly result?: unknown;
  readonly error?: ErrorObject;
}

export type Message = RequestMessage | NotificationMessage | ResponseMessage;

export function encode(msg: Message): string {
  return `${JSON.stringify(msg)}\n`;
}

export type DecodedLine = { readonly ok: true; readonly line: string } | { readonly ok: false; readonly tooLarge: number };

/**
 * Splits a byte stream into lines of at most `maxBytes`. An oversized line is reported once and
 * its remainder discarded up to the next newline, so one bad client message does not poison the
 * rest of the stream.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private discarded = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): DecodedLine[] {
    const out: DecodedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.discarding) {
        this.discarded += piece.length;
      } else if (this.size + piece.length > this.maxBytes) {
        this.discarding = true;
        this.discarded = this.size + piece.length;
        this.parts = [];
        this.size = 0;
      } else {
        this.parts.push(piece);
        this.size += piece.length;
      }
      if (nl === -1) break;
      if (this.discarding) {
        out.push({ ok: false, tooLarge: this.discarded });
        this.discarding = false;
        this.discarded = 0;
      } else {
        const line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
        this.parts = [];
        this.size = 0;
        if (line.trim() !== '') out.push({ ok: true, line });
      }
      start = nl + 1;
    }
    return out;
  }
}

export function isRequest(m: unknown): m is RequestMessage {
  const r = m as Record<string, unknown>;
  return (
    typeof m === 'object' && m !== null && r.jsonrpc === JSONRPC && typeof r.method === 'string' &&
    (typeof r.id === 'number' || typeof r.id === 'string')
  );
}

export function isResponse(m: unknown): m is ResponseMessage {
  const r = m as Record<string, unknown>;
  return typeof m === 'object' && m !== null && r.jsonrpc === JSONRPC && 'id' in r && ('result' in r || 'error' in r);
}

export function isNotification(m: unknown): m is NotificationMessage {
  const r = m as Record<string, unknown>;
  return typeof m === 'object' && m !== null && r.jsonrpc === JSONRPC && typeof r.method === 'string' && !('id' in r);
}
