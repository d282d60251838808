/**
 * `request` and `hint`: the Kgent loop for an agent. They stream kgentd's `request.progress`
 * (the same events `kgentctl request` draws) as MCP progress notifications, and an MCP
 * cancellation cancels the request in kgentd. Neither ever attaches: a verified program waits for
 * a person's approval.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { RequestCancel, RequestHint, RequestProgressNotification, RequestSubmit, type RequestResult } from '../../daemon/protocol/index.js';
import type { KgentClient } from '../client.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { requestText } from './agent-text.js';
import { ProgressCounter } from './progress.js';
import { refusal, type ToolText } from './refusal.js';
import type { ToolContext } from './tool-context.js';

/** What the SDK hands a tool handler that these tools use. */
interface CallExtra {
  readonly signal: AbortSignal;
  readonly _meta?: { readonly progressToken?: string | number };
  sendNotification(n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }): Promise<void>;
}

/**
 * One streamed call: progress while it runs; on cancellation, `request.cancel` for the request
 * the events named (and the connection closes after, which cancels it in kgentd as well).
 */
async function streamed(ctx: ToolContext, tool: string, extra: CallExtra, call: (c: KgentClient) => Promise<RequestResult>): Promise<ToolText> {
  let client: KgentClient | undefined;
  let requestId: number | undefined;
  const token = extra._meta?.progressToken;
  const counter = new ProgressCounter();
  const onAbort = (): void => {
    if (client && requestId !== undefined) void client.call(RequestCancel, { id: requestId }).catch(() => undefined).finally(() => client?.close());
    else client?.close();
  };
  try {
    client = await ctx.connect();
    client.onNotification(RequestProgressNotification, (p) => {
      requestId = p.requestId;
      if (token === undefined || extra.signal.aborted) return;
      const { progress, total, message } = counter.next(p);
      void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } }).catch(() => undefined);
    });
    extra.signal.addEventListener('abort', onAbort, { once: true });
    if (extra.signal.aborted) onAbort();
    const r = await call(client);
    return requestText(r, ctx.session.mayApprove);
  } catch (err) {
    if (extra.signal.aborted) return refusal(tool, new CliError(ExitCode.Cancelled, `cancelled${requestId !== undefined ? `; R${requestId} was cancelled in kgentd` : ''}`));
    return refusal(tool, err);
  } finally {
    extra.signal.removeEventListener('abort', onAbort);
    client?.close();
  }
}

export function registerRequestTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'request',
    {
      title: 'English to a verified bpftrace program',
      description:
        'Ask kgent for an eBPF (bpftrace) program in English. kgentd writes it with its local model, annotates it with what it must compute, ' +
        "proves the annotations with its symbolic verifier against this kernel's contracts, and loads it through the kernel's eBPF verifier; " +
        'failures are fed back and retried. Takes tens of seconds to minutes (progress is reported per stage; cancelling cancels the request). ' +
        'Returns the request id (R<n>), its status, the program, the verdict with each assertion and cover, any counterexample, and the next step. ' +
        "It never attaches anything: a verified program waits for a person's approval (kgentctl approve). " +
        'Describe what to observe and how to show it, e.g. "count openat calls per process name, printed every 5 seconds".',
      inputSchema: {
        text: z.string().min(1).max(8192).describe('what the program should observe and show, in English'),
        hint: z.string().min(1).max(4096).optional().describe('a hint up front: a hook to use, a field, a filter'),
        trials: z.number().int().min(1).max(10).optional().describe('attempts before asking for a hint (default: the host\'s setting)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async ({ text, hint, trials }, extra) =>
      streamed(ctx, 'request', extra as unknown as CallExtra, (c) =>
        c.call(RequestSubmit, { text, ...(hint !== undefined ? { hint } : {}), ...(trials !== undefined ? { trials } : {}) }, { timeoutMs: null }),
      ),
  );

  server.registerTool(
    'hint',
    {
      title: 'Continue a request with a hint',
      description:
        'A request whose trials ran out (status needs-hint) continues with a hint: new trials, all earlier feedback kept. ' +
        'Say what the program should do differently (use tracepoint:syscalls:sys_enter_openat, read args->filename, filter on comm). Same result and progress as request.',
      inputSchema: {
        request_id: z.union([z.string().regex(/^[Rr]?\d+$/), z.number().int().min(1)]).describe('the request id, e.g. "R3"'),
        hint: z.string().min(1).max(4096),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async ({ request_id, hint }, extra) => {
      const id = Number(String(request_id).replace(/^[Rr]/, ''));
      if (!Number.isSafeInteger(id) || id < 1) return refusal('hint', new CliError(ExitCode.Usage, `"${request_id}" is not a request id ("R3")`));
      return streamed(ctx, 'hint', extra as unknown as CallExtra, (c) => c.call(RequestHint, { id, hint }, { timeoutMs: null }));
    },
  );
}
