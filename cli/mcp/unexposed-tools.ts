/**
 * A call of a tool this server does not offer (approve, run) gets a tool result with the reason
 * and what to do, rather than the SDK's "Tool approve not found": an agent reads the first and can
 * act on it (ask a person), while the second reads like a bug. The tools stay unlisted.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/**
 * Wraps `transport.onmessage` (set by the server's connect) so that `tools/call` of a name in
 * `refused` is answered here with `isError` and the reason; everything else passes through.
 */
export function answerUnexposedTools(transport: Transport, refused: ReadonlyMap<string, string>): void {
  const inner = transport.onmessage;
  if (!inner) throw new Error('answerUnexposedTools: connect the server to the transport first');
  transport.onmessage = (message, extra) => {
    const m = message as { method?: string; id?: string | number; params?: { name?: unknown } };
    const reason = m.method === 'tools/call' && m.id !== undefined && typeof m.params?.name === 'string' ? refused.get(m.params.name) : undefined;
    if (reason === undefined) return inner(message, extra);
    void transport.send({ jsonrpc: '2.0', id: m.id!, result: { content: [{ type: 'text', text: reason }], isError: true } });
  };
}
