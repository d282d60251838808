/**
 * One request line of a connection: parsed, checked for JSON-RPC shape, routed to its method's
 * handler, answered with its result or its error (a KgentError's code mapped to a JSON-RPC code).
 * A bad line gets an error response; nothing here closes the connection.
 */
import { asKgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { ErrorCodes, isRequest, keepRawId, JSONRPC } from '../protocol/jsonrpc.js';
import { RPC_CODE_OF } from './error-codes.js';
import { errorResponse, type ConnectionContext, type Send } from './connection.js';

export type Handler = (params: unknown, ctx: ConnectionContext) => Promise<unknown>;

export async function dispatchLine(line: string, handlers: ReadonlyMap<string, Handler>, ctx: ConnectionContext, send: Send, logger: Logger): Promise<void> {
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
  const handler = handlers.get(msg.method);
  if (!handler) {
    send(errorResponse(msg.id, { code: ErrorCodes.MethodNotFound, message: `unknown method "${msg.method}"` }));
    return;
  }
  const started = performance.now();
  try {
    const result = await handler(msg.params, ctx);
    send({ jsonrpc: JSONRPC, id: msg.id, result: result ?? null });
    logger.debug({ method: msg.method, uid: ctx.peer.uid, ms: Math.round(performance.now() - started) }, 'request done');
  } catch (err) {
    const e = asKgentError(err);
    const who = { uid: ctx.peer.uid, user: ctx.peer.user, pid: ctx.peer.pid };
    if (e.code === 'internal') logger.error({ method: msg.method, ...who, err: e, cause: e.cause }, 'request failed');
    else logger.info({ method: msg.method, ...who, code: e.code, msg: e.message }, 'request refused');
    send(errorResponse(msg.id, { code: RPC_CODE_OF[e.code], message: e.message, data: { kgentCode: e.code, ...e.data } }));
  }
}
