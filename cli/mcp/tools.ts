/**
 * The tools `kgentctl mcp` offers, each one kgentd method (or two) over the control socket, with
 * descriptions written for an agent. Every call opens its own connection, so kgentd sees the user
 * who started this server (SO_PEERCRED) and applies that user's rights, policy and audit trail.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  ContractsSearch,
  ContractsShow,
  ProgramsApprove,
  ProgramsCheck,
  ProgramsList,
  ProgramsLogs,
  ProgramsRun,
  ProgramsShow,
  ProgramsStop,
  RequestShow,
  VerifyProgram,
  formatDiagnostic,
} from '../../daemon/protocol/index.js';
import { LONG_CALL_TIMEOUT_MS } from '../client.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatEntry } from '../text-format.js';
import { dataText, programLine, verdictLines } from './agent-text.js';
import { refusal } from './refusal.js';
import { registerRequestTools } from './request-tools.js';
import { onConnection, type ToolContext } from './tool-context.js';

const programId = z.number().int().min(1).describe('a program id (a number, from list or from a request result), not a request id');
const source = z.string().min(1).max(256 * 1024);

/** `R3` / `r3` / `3` as a request id; used by show and hint. */
export function parseRequestRef(v: string | number): number | undefined {
  const m = /^[Rr]?(\d+)$/.exec(String(v).trim());
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

const LOG_LIMIT = 500;

export function registerTools(server: McpServer, ctx: ToolContext): void {
  registerRequestTools(server, ctx);

  server.registerTool(
    'verify',
    {
      title: 'Verify an annotated bpftrace program',
      description:
        'Symbolically verify an annotated bpftrace program against the running kernel\'s contracts (kgentd\'s verifier, Z3). ' +
        'Annotations are statements inside probe bodies: assume(EXPR); restricts inputs, assert(EXPR); must hold on every path, ' +
        'and top-level cover(HOOK[, COND]); says the program must observe that event. EXPR may use printed(I) (argument I of the last printf), ' +
        'mapkey(@m, I) and mapval(@m) (the last update of @m). Returns the verdict (proved, proved-under-hints, refuted, unknown, unannotated, invalid), ' +
        'each assertion and cover with its line, a counterexample for each refuted one, and the hints a proof rests on. Attaches nothing.',
      inputSchema: { program: source.describe('the annotated bpftrace program text'), timeout_ms: z.number().int().min(1).max(600_000).optional().describe('solver time limit per assertion') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ program, timeout_ms }) =>
      onConnection(ctx, 'verify', async (c) => {
        const r = await c.call(VerifyProgram, { source: program, fileName: 'program.bt', ...(timeout_ms !== undefined ? { timeoutMs: timeout_ms } : {}) }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
        const text = [...verdictLines(r.report, program), `contracts: ${r.contracts.description}`].join('\n');
        return { content: [{ type: 'text', text }], structuredContent: { verdict: r.report.verdict, assertions: r.report.assertions, coverage: r.report.coverage, hints: r.report.hints ?? [], diagnostics: r.report.diagnostics, contracts: r.contracts } };
      }),
  );

  server.registerTool(
    'check',
    {
      title: "Kernel-check a bpftrace program (the kernel's eBPF verifier)",
      description:
        "Load a bpftrace program through the kernel's eBPF verifier under this user's policy, then detach it at once: nothing stays attached and nothing is stored. " +
        'Answers accepted or rejected with bpftrace\'s and the kernel\'s diagnostics. Takes seconds (queued behind other checks).',
      inputSchema: { program: source.describe('the bpftrace program text (annotations are not needed)') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ program }) =>
      onConnection(ctx, 'check', async (c) => {
        const r = await c.call(ProgramsCheck, { source: program }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
        const lead = r.ok ? `accepted by the kernel's eBPF verifier (${Math.round(r.durationMs)} ms; ${r.method}); nothing left attached` : `rejected (${r.method})`;
        const text = [lead, ...r.diagnostics.map((d) => formatDiagnostic(d, 'program.bt', program))].join('\n');
        return { content: [{ type: 'text', text }], structuredContent: { ok: r.ok, diagnostics: r.diagnostics, method: r.method, durationMs: r.durationMs } };
      }),
  );

  server.registerTool(
    'contracts_search',
    {
      title: 'Find kernel hooks',
      description:
        'Search the running kernel\'s hooks (tracepoints and kernel functions) by what they do, in English or by name. ' +
        'Each hit gives the hook id, the bpftrace probes that attach to it on this host, the ones that do not and why (e.g. kprobes unavailable), and a summary. ' +
        'Use contracts_show on a hit to see its fields and what they mean before writing a program.',
      inputSchema: {
        text: z.string().min(1).max(2000).describe('what the hook should observe, e.g. "tcp connect" or "sys_enter_openat"'),
        k: z.number().int().min(1).max(50).optional().describe('hits to return (default 10)'),
        kind: z.enum(['function', 'tracepoint']).optional(),
        attachable: z.boolean().optional().describe('only hooks some probe type can attach to on this host'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ text, k, kind, attachable }) =>
      onConnection(ctx, 'contracts_search', async (c) => {
        const r = await c.call(ContractsSearch, { text, k: k ?? 10, ...(kind ? { kind } : {}), ...(attachable !== undefined ? { attachable } : {}) });
        const lines = r.hits.map((h) => `${h.id} [${h.probes.join(', ') || 'no attachable probe'}]${h.unavailable.length ? ` (unavailable: ${h.unavailable.map((u) => `${u.probe}: ${u.reason}`).join('; ')})` : ''}: ${h.summary}`);
        return { content: [{ type: 'text', text: lines.length ? lines.join('\n') : `no hook matches "${text}"` }], structuredContent: { mode: r.mode, hits: r.hits } };
      }),
  );

  server.registerTool(
    'contracts_show',
    {
      title: 'Show a kernel hook and its fields',
      description:
        'The contract of one hook on this kernel: for a tracepoint its fields (C type, width, signedness, byte order, enum values, documentation), ' +
        'for a kernel function its prototype and arguments; which bpftrace probes attach to it here; and known conditions. ' +
        'Names: tracepoint:CAT:EVENT, kprobe:FN (or a bare function name), struct:NAME[:MEMBER.PATH].',
      inputSchema: { hook: z.string().min(1).max(512).describe('e.g. tracepoint:sock:inet_sock_set_state, tcp_v4_connect, struct:sock:__sk_common.skc_dport') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ hook }) =>
      onConnection(ctx, 'contracts_show', async (c) => {
        const r = await c.call(ContractsShow, { hook });
        return dataText(`${r.hook} on kernel ${r.kernel}:`, r as unknown as Record<string, unknown>);
      }),
  );

  server.registerTool(
    'list',
    {
      title: 'List programs',
      description: "Programs and their status (pending-approval, running, stopped ...). A member sees their own programs; all=true also lists finished ones.",
      inputSchema: { all: z.boolean().optional().describe('include stopped, exited and rejected programs') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ all }) =>
      onConnection(ctx, 'list', async (c) => {
        const { programs } = await c.call(ProgramsList, { all: all ?? false });
        return { content: [{ type: 'text', text: programs.length ? programs.map(programLine).join('\n') : 'no programs; propose one with the request tool' }], structuredContent: { programs } };
      }),
  );

  server.registerTool(
    'show',
    {
      title: 'Show a program or a request',
      description:
        'A program (id as a number: its source, status, how it was verified, runs and audit trail) or a request ("R<n>": every attempt with its candidate, annotated program, verdict and feedback).',
      inputSchema: { id: z.union([z.number().int().min(1), z.string().min(1).max(32)]).describe('7 for program 7, "R3" for request 3') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ id }) =>
      onConnection(ctx, 'show', async (c) => {
        const text = String(id).trim();
        const requestId = /^[Rr]\d+$/.test(text) ? parseRequestRef(text) : undefined;
        if (requestId !== undefined) {
          const d = await c.call(RequestShow, { id: requestId });
          const attempts = d.attempts.map(({ synthesisPrompt: _s, comprehensionPrompt: _c, synthesisAnswer: _sa, comprehensionAnswer: _ca, ...a }) => a);
          return dataText(`request R${d.request.id}: ${d.request.status}${d.request.programId !== undefined ? `; program ${d.request.programId}` : ''}`, { request: d.request, attempts, ...(d.program ? { program: d.program } : {}) });
        }
        const n = Number(text);
        if (!Number.isSafeInteger(n) || n < 1) return refusal('show', new CliError(ExitCode.Usage, `"${text}" is neither a program id (a number, e.g. 7) nor a request id ("R3")`));
        const r = await c.call(ProgramsShow, { id: n });
        return dataText(programLine(r.program), r as unknown as Record<string, unknown>);
      }),
  );

  server.registerTool(
    'logs',
    {
      title: "Read a program's output",
      description:
        `A program's output, bounded: the last \`tail\` entries (default 50, at most ${LOG_LIMIT}); or, with \`after\` (the cursor of an earlier answer), ` +
        'only what it wrote since, oldest first, at most `tail` entries, with more=true when more remain. Each answer carries the cursor to pass next time. ' +
        'Entries are bpftrace\'s JSON output lines (printf text, maps) with a time.',
      inputSchema: {
        id: programId,
        tail: z.number().int().min(0).max(LOG_LIMIT).optional(),
        after: z.string().regex(/^\d+:\d+$/).optional().describe('cursor from an earlier logs answer'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ id, tail, after }) =>
      onConnection(ctx, 'logs', async (c) => {
        const r = await c.call(ProgramsLogs, { id, tail: tail ?? 50, ...(after ? { after } : {}) });
        const lead = `${r.entries.length} entries${r.more ? ' (more follow: call again with this cursor)' : ''}${r.gap ? ' (the log was rotated past your cursor: some entries are gone)' : ''}; cursor ${r.cursor ?? '-'}`;
        return { content: [{ type: 'text', text: [lead, ...r.entries.map(formatEntry)].join('\n') }], structuredContent: { entries: r.entries, cursor: r.cursor, more: r.more ?? false, gap: r.gap ?? false } };
      }),
  );

  server.registerTool(
    'stop',
    {
      title: 'Stop a program',
      description: 'Stop a running program of this user (it stays stopped across daemon restarts). Admins may stop any program.',
      inputSchema: { id: programId },
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ id }) =>
      onConnection(ctx, 'stop', async (c) => {
        const { program } = await c.call(ProgramsStop, { id });
        return { content: [{ type: 'text', text: `program ${program.id} ${program.status}` }], structuredContent: { program } };
      }),
  );

  if (!ctx.session.mayApprove) return;

  server.registerTool(
    'approve',
    {
      title: 'Approve a program (admins, when the host allows it)',
      description:
        'Approve a program waiting for approval and attach it to the kernel. Only when the user explicitly asked you to: approval is a person\'s decision. ' +
        'Read it first with show (its proof, and the hints the proof rests on, which the approver accepts).',
      inputSchema: { id: programId },
      annotations: { destructiveHint: true, openWorldHint: false },
    },
    async ({ id }) =>
      onConnection(ctx, 'approve', async (c) => {
        const { program } = await c.call(ProgramsApprove, { id });
        return { content: [{ type: 'text', text: `program ${program.id} approved and ${program.status}` }], structuredContent: { program } };
      }),
  );

  server.registerTool(
    'run',
    {
      title: 'Kernel-check and attach a program (admins, when the host allows it)',
      description: 'Kernel-check a bpftrace program you wrote and attach it at once (no symbolic proof). Only when the user explicitly asked you to.',
      inputSchema: { program: source, name: z.string().min(1).max(128).optional() },
      annotations: { destructiveHint: true, openWorldHint: false },
    },
    async ({ program, name }) =>
      onConnection(ctx, 'run', async (c) => {
        const r = await c.call(ProgramsRun, { source: program, name: name ?? 'mcp.bt', approve: true }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
        const text = [`program ${r.program.id} ${r.program.status}${r.check.ok ? '' : ' (rejected by the kernel check)'}`, ...r.check.diagnostics.map((d) => formatDiagnostic(d, 'program.bt', program))].join('\n');
        return { content: [{ type: 'text', text }], structuredContent: { program: r.program, check: r.check }, ...(r.check.ok ? {} : { isError: true }) };
      }),
  );
}
