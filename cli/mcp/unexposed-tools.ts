/**
 * A call of a tool this server does not offer (approve, run) gets a tool result with the reason
 * and what to do, rather than the SDK's "Tool approve not found": an agent reads the first and can
 * act on it (ask a person), while the second reads like a bug. The tools stay unlisted.
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

/**
 * A transport that answers `tools/call` of a name in `refused` itself (`isError`, the reason)
 * and passes everything else through. It wraps the transport before the server connects, so no
 * message can arrive unguarded.
 */
export class RefusingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(
    private readonly inner: Transport,
    private readonly refused: ReadonlyMap<string, string>,
  ) {
    inner.onmessage = (message, extra) => {
      const m = message as { method?: string; id?: string | number; params?: { name?: unknown } };
      const reason = m.method === 'tools/call' && m.id !== undefined && typeof m.params?.name === 'string' ? refused.get(m.params.name) : undefined;
      if (reason === undefined) this.onmessage?.(message, extra);
      else void inner.send({ jsonrpc: '2.0', id: m.id!, result: { content: [{ type: 'text', text: reason }], isError: true } });
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
