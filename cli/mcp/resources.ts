/**
 * Resources a client can read (and attach to an agent's context): a program's recent output, and
 * which probe types this kernel can attach. Read through kgentd like the tools, as the same user.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ContractsStatus, ProgramsList, ProgramsLogs } from '../../daemon/protocol/index.js';
import type { KgentClient } from '../client.js';
import { formatEntry } from '../text-format.js';
import { oneLine } from './refusal.js';
import type { ToolContext } from './tool-context.js';

/** Entries a read of a program's output resource returns (the logs tool pages further). */
export const OUTPUT_RESOURCE_ENTRIES = 200;

export const PROBES_URI = 'kgent://kernel/probes';

async function withClient<T>(ctx: ToolContext, fn: (c: KgentClient) => Promise<T>): Promise<T> {
  const c = await ctx.connect();
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'program-output',
    new ResourceTemplate('kgent://programs/{id}/output', {
      list: async () => {
        try {
          const { programs } = await withClient(ctx, (c) => c.call(ProgramsList, { all: false }));
          return { resources: programs.map((p) => ({ uri: `kgent://programs/${p.id}/output`, name: `program ${p.id} output`, description: `${p.name} (${p.status})`, mimeType: 'text/plain' })) };
        } catch {
          // kgentd not answering: nothing to list; a read says why.
          return { resources: [] };
        }
      },
    }),
    {
      title: "A program's output",
      description: `The last ${OUTPUT_RESOURCE_ENTRIES} entries of a program's output, one per line (time, then printf text or a map as JSON). The logs tool reads more, or only what is new.`,
      mimeType: 'text/plain',
    },
    async (uri, variables) => {
      const id = Number(variables['id']);
      if (!Number.isSafeInteger(id) || id < 1) throw new Error(`${uri.href}: "${String(variables['id'])}" is not a program id`);
      try {
        const r = await withClient(ctx, (c) => c.call(ProgramsLogs, { id, tail: OUTPUT_RESOURCE_ENTRIES }));
        return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: r.entries.map(formatEntry).join('\n') + (r.entries.length ? '\n' : '') }] };
      } catch (err) {
        throw new Error(`${uri.href}: ${oneLine((err as Error).message)}`);
      }
    },
  );

  server.registerResource(
    'kernel-probes',
    PROBES_URI,
    {
      title: 'Probe types this kernel can attach',
      description: 'Each bpftrace probe type (tracepoint, kprobe, uprobe, profile ...) and whether this kernel can attach it, with the reason when not. Write programs only with available ones.',
      mimeType: 'application/json',
    },
    async (uri) => {
      try {
        const s = await withClient(ctx, (c) => c.call(ContractsStatus, {}));
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ kernel: s.running.release, probeTypes: s.probeTypes }, null, 1) }] };
      } catch (err) {
        throw new Error(`${uri.href}: ${oneLine((err as Error).message)}`);
      }
    },
  );
}
