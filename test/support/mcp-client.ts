/**
 * The official MCP SDK client over stdio against a real `kgentctl mcp` (a child process, as an MCP
 * client starts it), with every JSON-RPC message both ways recorded in order, so a test can check
 * the wire (progress before the result) and a session can be kept as JSON lines.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Stream } from 'node:stream';
import { CLI_JS } from './daemon-harness.js';

export interface WireLine {
  readonly dir: 'client->server' | 'server->client';
  readonly message: JSONRPCMessage;
}

/** Delegates to a transport and records what passes, in order. */
class RecordingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(
    private readonly inner: Transport,
    readonly wire: WireLine[],
  ) {
    inner.onmessage = (m) => {
      wire.push({ dir: 'server->client', message: m });
      this.onmessage?.(m);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.wire.push({ dir: 'client->server', message });
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface McpSessionHandle {
  readonly client: Client;
  readonly wire: WireLine[];
  /** What the server wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

/**
 * Starts `kgentctl --socket SOCKET mcp` (as root, or through `runuser` as `user`) and connects
 * the SDK client to it (initialize).
 */
export async function startMcpClient(socket: string, opts: { runAs?: (nodeArgs: string[]) => { command: string; args: string[] } } = {}): Promise<McpSessionHandle> {
  const nodeArgs = [CLI_JS, '--socket', socket, 'mcp'];
  const cmd = opts.runAs ? opts.runAs(nodeArgs) : { command: process.execPath, args: nodeArgs };
  const stdio = new StdioClientTransport({ command: cmd.command, args: cmd.args, stderr: 'pipe', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  let err = '';
  (stdio.stderr as Stream | null)?.on('data', (c: Buffer) => (err += c.toString()));
  const wire: WireLine[] = [];
  const client = new Client({ name: 'kgent-test-client', version: '1.0.0' });
  await client.connect(new RecordingTransport(stdio, wire));
  return { client, wire, stderr: () => err, close: () => client.close() };
}

/** The text of a tool result's first content block. */
export function textOf(r: { content?: unknown }): string {
  const c = (r.content as { type: string; text?: string }[] | undefined)?.[0];
  return c?.type === 'text' ? (c.text ?? '') : '';
}
