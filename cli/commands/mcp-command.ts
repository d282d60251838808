/**
 * `kgentctl mcp`: serves MCP over stdin/stdout until the client closes stdin. stdout carries the
 * protocol only; the one line at start (who the server acts for, which tools it offers) goes to
 * stderr, which MCP clients keep as the server's log. Closing stdin closes every kgentd
 * connection, which cancels a request still running.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { KgentClient } from '../client.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { startMcpServer } from '../mcp/server.js';

export const MCP_HELP = `Usage: kgentctl mcp [--socket PATH]

An MCP (Model Context Protocol) server over stdio, for AI agents: an MCP client starts it as the
user who runs it. Every tool call goes through kgentd's socket as that user, with that user's
rights, policy and audit trail.

Tools: request, hint, verify, check, contracts_search, contracts_show, list, show, logs, stop.
approve and run are offered only to admins, and only when kgentd's config sets
mcp.adminsMayApprove (default off): an agent proposes, a person approves (kgentctl approve).
Resources: kgent://programs/ID/output (a program's output), kgent://kernel/probes.

Client configuration (Claude Desktop, VS Code ...): command "kgentctl", args ["mcp"]; see README.`;

export async function mcpCommand(io: CliIO, socketPath: string, stdin: NodeJS.ReadableStream = process.stdin, stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const open = new Set<KgentClient>();
  const connect = async (): Promise<KgentClient> => {
    const c = await KgentClient.connect(socketPath);
    open.add(c);
    void c.whenClosed().then(() => open.delete(c));
    return c;
  };
  const transport = new StdioServerTransport(stdin as NodeJS.ReadStream, stdout as NodeJS.WriteStream);
  const ended = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
  });
  const { server, session } = await startMcpServer(transport, { connect });
  io.stderr.write(
    session.unreachable
      ? `kgentctl mcp: serving on stdio; kgentd is not reachable yet (${session.unreachable}); tools will say so until it is\n`
      : `kgentctl mcp: serving on stdio for ${session.user} (uid ${session.uid}, ${session.role}); approve/run ${session.mayApprove ? 'offered' : 'not offered'}\n`,
  );
  await ended;
  for (const c of open) c.close();
  await server.close().catch(() => undefined);
  return ExitCode.Ok;
}
