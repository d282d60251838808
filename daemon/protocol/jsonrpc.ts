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

/**
 * A numeric id that a JavaScript number cannot hold exactly (`1e309`, `9007199254740993`, `1.0`):
 * kept as the client wrote it, so the response echoes it exactly as JSON-RPC requires.
 */
export class RawJsonNumber {
  constructor(readonly text: string) {}
}

export type Id = number | string | RawJsonNumber;

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
  const id = (msg as { id?: unknown }).id;
  if (!(id instanceof RawJsonNumber)) return `${JSON.stringify(msg)}\n`;
  // The raw id replaces a placeholder string that cannot occur in JSON text we produce otherwise.
  const placeholder = '\u0000kgent-raw-id\u0000';
  const text = JSON.stringify({ ...msg, id: placeholder });
  return `${text.replace(JSON.stringify(placeholder), id.text)}\n`;
}

/**
 * After `JSON.parse(line)`: a top-level numeric `id` that did not survive as a JavaScript number
 * (out of range, beyond 2^53, written with a fraction or exponent) becomes a {@link RawJsonNumber}
 * holding the text the client sent. Linear scan of the line's top level; other ids are unchanged.
 */
export function keepRawId(msg: unknown, line: string): unknown {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return msg;
  const rec = msg as Record<string, unknown>;
  if (typeof rec.id !== 'number') return msg;
  const raw = topLevelRaw(line, 'id');
  if (raw === undefined || (Number.isSafeInteger(rec.id) && raw === String(rec.id))) return msg;
  return { ...rec, id: new RawJsonNumber(raw) };
}

/** The raw text of the last top-level member `key` of a JSON object text (as JSON.parse keeps the last). */
function topLevelRaw(text: string, key: string): string | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const skipString = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipValue = (): void => {
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      let depth = 0;
      while (i < text.length) {
        const d = text[i];
        if (d === '"') {
          skipString();
          continue;
        }
        if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') depth--;
        i++;
        if (depth === 0) return;
      }
      return;
    }
    while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
  };
  let found: string | undefined;
  ws();
  if (text[i] !== '{') return undefined;
  i++;
  for (;;) {
    ws();
    if (text[i] !== '"') return found;
    const keyStart = i;
    skipString();
    let name: unknown;
    try {
      name = JSON.parse(text.slice(keyStart, i));
    } catch {
      return found;
    }
    ws();
    if (text[i] !== ':') return found;
    i++;
    ws();
    const valueStart = i;
    skipValue();
    if (name === key) found = text.slice(valueStart, i);
    ws();
    if (text[i] !== ',') return found;
    i++;
  }
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

  /** Whether part of a line has arrived and its newline has not. */
  get pending(): boolean {
    return this.size > 0 || this.discarding;
  }

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
    (typeof r.id === 'number' || typeof r.id === 'string' || r.id instanceof RawJsonNumber)
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
