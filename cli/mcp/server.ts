/**
 * `kgentctl mcp`: an MCP server over stdio for AI agents, built on the official SDK. It holds no
 * rights of its own: each tool call is a kgentd call over the control socket as the user who
 * started it. Composition only; the tools, resources and texts live in their own modules.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { KgentClient } from '../client.js';
import { registerResources } from './resources.js';
import { readSession, type McpSession } from './session.js';
import { registerTools } from './tools.js';
import { RefusingTransport } from './unexposed-tools.js';

export const MCP_SERVER_NAME = 'kgent';

const INSTRUCTIONS = `kgent turns an English request into a bpftrace (eBPF) program that is proved by a symbolic verifier and accepted by the kernel's eBPF verifier before anything runs.
Typical session: read kgent://kernel/probes or call contracts_search/contracts_show to learn which hooks exist here; call request with what to observe;
if it needs a hint, call hint; a verified program then waits for a person's approval (kgentctl approve ID at a terminal) — tell the user which id and why it is safe (the verdict and hints).
Once it runs, read its output with logs (pass the cursor to get only new lines) or the resource kgent://programs/ID/output. verify and check test programs you write; they attach nothing.`;

export interface McpServerOptions {
  readonly connect: () => Promise<KgentClient>;
  /** The session; read from kgentd when absent. */
  readonly session?: McpSession;
}

/** Builds the server, connects it to `transport`, and returns it with the session it serves. */
export async function startMcpServer(transport: Transport, o: McpServerOptions): Promise<{ server: McpServer; session: McpSession }> {
  const session = o.session ?? (await readSession(o.connect));
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: session.version ?? 'unknown', title: 'kgent: verified eBPF programs' },
    { capabilities: { tools: {}, resources: {} }, instructions: INSTRUCTIONS },
  );
  const ctx = { connect: o.connect, session };
  registerTools(server, ctx);
  registerResources(server, ctx);
  const refused = session.mayApprove ? new Map<string, string>() : new Map([['approve', session.approveRefusal], ['run', session.approveRefusal]]);
  await server.connect(new RefusingTransport(transport, refused));
  return { server, session };
}
