/**
 * kgentctl request / hint / requests / cancel, and `show R<id>`: the Kgent loop from the shell.
 * Progress is shown as it happens (stage, attempt N of M, time); the end shows the program, the
 * verdicts with counterexamples, and the next command to type. `--json` streams the events as JSON
 * lines, the last one carrying the request id, its status and the program id. Ctrl-C cancels the
 * request in the daemon. When no LLM answers, the closest verified programs of the library are
 * shown instead (exit 5).
 */
import { createInterface } from 'node:readline/promises';
import {
  ErrorCodes,
  RequestAccept,
  RequestCancel,
  RequestDelete,
  RequestHint,
  RequestProgressNotification,
  RequestShow,
  RequestsList,
  RequestsPrune,
  RequestSubmit,
  type LibraryExample,
  type RequestsDeleteResult,
  type StorageUsageInfo,
  type RequestDetail,
  type RequestInfo,
  type RequestProgress,
  type RequestResult,
} from '../../daemon/protocol/index.js';
import { LONG_CALL_TIMEOUT_MS, RpcError, type KgentClient } from '../client.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { clip, printJson, table, type CliIO } from '../io.js';
import { formatMs as ms, ProgressView } from '../progress-view.js';
import { numberLines } from '../text-format.js';
import type { CommandContext } from './programs-command.js';

export interface RequestOptions {
  readonly attach: boolean;
  readonly hint?: string;
  readonly trials?: number;
  /** Accept the unverified program of request R<id> instead of submitting. */
  readonly acceptUnverified?: number;
  /** Ask for a hint on the terminal when the request needs one (default: when stdin is a TTY). */
  readonly interactive: boolean;
}

/** `R12` or `12` -> 12. */
export function parseRequestId(value: string | undefined, command: string): number {
  if (value === undefined) throw new CliError(ExitCode.Usage, `kgentctl ${command}: missing request ID (R<n>, see kgentctl requests)`);
  const m = /^[Rr]?(\d+)$/.exec(value);
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new CliError(ExitCode.Usage, `kgentctl ${command}: "${value}" is not a request ID (R<n>)`);
  return id;
}

function printResult(io: CliIO, r: RequestResult): void {
  const q = r.request;
  io.stdout.write(`\nrequest R${q.id}: ${q.status}${q.reason ? ` (${q.reason})` : ''}\n`);
  if (r.program) {
    const label = q.status === 'needs-hint' ? 'last candidate (NOT verified)' : `program${r.programInfo ? ` ${r.programInfo.id} (${r.programInfo.status})` : ''}`;
    io.stdout.write(`\n${label}:\n${r.program.trimEnd()}\n`);
  }
  if (r.report) {
    // The verdicts' line numbers are those of the annotated program (the program with the
    // assume/assert/cover the verifier proves): it is shown, numbered, right above them.
    const numbered = r.annotated !== undefined && (r.report.assertions.length > 0 || (r.report.coverage ?? []).length > 0);
    io.stdout.write(`\nverification: ${r.report.verdict}${r.report.dialect ? ` under bpftrace ${r.report.dialect}'s rules` : ''}${numbered ? ', of the annotated program (line numbers below are its own):' : ''}\n`);
    if (numbered) io.stdout.write(`${numberLines(r.annotated!)}\n`);
    for (const h of r.report.hints ?? []) io.stdout.write(`  hint (assume at line ${h.usedBy}): ${h.hint}; source: ${h.source}\n`);
    for (const a of r.report.assertions) {
      const ce = a.counterexample ? `; counterexample: ${a.counterexample.summary}` : a.reason ? `; ${a.reason}` : '';
      io.stdout.write(`  line ${a.line}: ${a.verdict}: assert(${a.text})${ce}\n`);
    }
    for (const c of r.report.coverage ?? []) io.stdout.write(`  line ${c.line}: ${c.verdict}: ${c.text}${c.reason ? `; ${c.reason}` : ''}\n`);
  }
  io.stdout.write(`\nnext: ${r.next}\n`);
}

function printLibrary(io: CliIO, examples: readonly LibraryExample[]): void {
  if (examples.length === 0) return;
  io.stdout.write('Closest verified programs in the library (save one to a file and run it with: kgentctl run FILE.bt):\n');
  for (const e of examples) io.stdout.write(`\n# ${e.id}: ${e.prompt}\n${e.program.trimEnd()}\n`);
}

function exitFor(r: RequestResult): number {
  switch (r.request.status) {
    case 'verified':
    case 'attached':
    case 'accepted-unverified':
      return ExitCode.Ok;
    case 'cancelled':
      return ExitCode.Cancelled;
    case 'needs-hint':
      return ExitCode.Refused;
    default:
      return ExitCode.Failed;
  }
}

/** What the user answered at `hint>`: a hint, nothing (empty line or end of input), or Ctrl-C. */
type HintAnswer = { readonly hint: string } | 'none' | 'cancelled';

async function askHint(id: number): Promise<HintAnswer> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ac = new AbortController();
  // Ctrl-C at the prompt reaches readline (the terminal is in raw mode), not the process.
  rl.on('SIGINT', () => ac.abort());
  rl.on('close', () => ac.abort('closed'));
  try {
    const a = (await rl.question(`R${id} needs a hint (what should the program do differently? empty line to stop)\nhint> `, { signal: ac.signal })).trim();
    return a === '' ? 'none' : { hint: a };
  } catch (err) {
    if (ac.signal.aborted) return ac.signal.reason === 'closed' ? 'none' : 'cancelled';
    throw err;
  } finally {
    rl.close();
  }
}

/** Runs one call that streams progress, with Ctrl-C cancelling the request in the daemon. */
async function streamed(ctx: CommandContext, client: KgentClient, call: () => Promise<RequestResult>): Promise<RequestResult> {
  let requestId: number | undefined;
  const view = new ProgressView(ctx.io.stderr);
  const stop = client.onNotification(RequestProgressNotification, (p) => {
    requestId = p.requestId;
    if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ event: 'progress', ...p })}\n`);
    else view.show(p);
  });
  const onSigint = (): void => {
    if (requestId === undefined) process.exit(ExitCode.Cancelled);
    if (view.cancelling) return;
    view.cancelling = true;
    view.close();
    ctx.io.stderr.write(`cancelling R${requestId} ...\n`);
    void client.call(RequestCancel, { id: requestId }).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    return await call();
  } finally {
    process.off('SIGINT', onSigint);
    stop();
    view.close();
  }
}

function finish(ctx: CommandContext, r: RequestResult): number {
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify({ event: 'result', ...r })}\n`);
    ctx.io.stdout.write(`${JSON.stringify({ event: 'end', requestId: r.request.id, status: r.request.status, ...(r.programInfo ? { programId: r.programInfo.id } : {}) })}\n`);
  } else printResult(ctx.io, r);
  return exitFor(r);
}

/** Maps "no LLM answers" to its one line, the library programs, and exit 5. */
function unavailable(ctx: CommandContext, err: unknown): number | undefined {
  if (!(err instanceof RpcError) || err.code !== ErrorCodes.Unavailable) return undefined;
  const library = ((err.data as { library?: LibraryExample[] } | undefined)?.library ?? []) as LibraryExample[];
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ event: 'end', status: 'unavailable', error: err.message, library })}\n`);
  else {
    ctx.io.stderr.write(`kgentctl request: ${err.message}\n`);
    printLibrary(ctx.io, library);
  }
  return ExitCode.Refused;
}

export async function requestCommand(ctx: CommandContext, text: string | undefined, o: RequestOptions): Promise<number> {
  const client = await ctx.connect();
  try {
    let result: RequestResult;
    try {
      if (o.acceptUnverified !== undefined) {
        result = await client.call(RequestAccept, { id: o.acceptUnverified, ...(o.attach ? { attach: true } : {}) }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
        return finish(ctx, result);
      }
      if (!text) throw new CliError(ExitCode.Usage, 'kgentctl request: missing the request text, e.g. kgentctl request "trace tcp connects with ports in host byte order"');
      result = await streamed(ctx, client, () =>
        client.call(
          RequestSubmit,
          { text, ...(o.attach ? { attach: true } : {}), ...(o.trials !== undefined ? { trials: o.trials } : {}), ...(o.hint !== undefined ? { hint: o.hint } : {}) },
          { timeoutMs: null },
        ),
      );
      while (result.request.status === 'needs-hint' && o.interactive && !ctx.json) {
        printResult(ctx.io, result);
        const answer = await askHint(result.request.id);
        if (answer === 'cancelled') {
          ctx.io.stderr.write(`\ncancelled; R${result.request.id} still needs a hint: kgentctl hint R${result.request.id} "TEXT"\n`);
          return ExitCode.Cancelled;
        }
        if (answer === 'none') break;
        const hint = answer.hint;
        const id = result.request.id;
        result = await streamed(ctx, client, () => client.call(RequestHint, { id, hint }, { timeoutMs: null }));
      }
    } catch (err) {
      const code = unavailable(ctx, err);
      if (code !== undefined) return code;
      throw err;
    }
    return finish(ctx, result);
  } finally {
    client.close();
  }
}

export async function hintCommand(ctx: CommandContext, idText: string | undefined, hint: string | undefined): Promise<number> {
  const id = parseRequestId(idText, 'hint');
  if (!hint) throw new CliError(ExitCode.Usage, 'kgentctl hint: missing the hint text, e.g. kgentctl hint R3 "use the tracepoint, not the kprobe"');
  const client = await ctx.connect();
  try {
    try {
      return finish(ctx, await streamed(ctx, client, () => client.call(RequestHint, { id, hint }, { timeoutMs: null })));
    } catch (err) {
      const code = unavailable(ctx, err);
      if (code !== undefined) return code;
      throw err;
    }
  } finally {
    client.close();
  }
}

export async function cancelCommand(ctx: CommandContext, idText: string | undefined): Promise<number> {
  const id = parseRequestId(idText, 'cancel');
  const client = await ctx.connect();
  try {
    const r = await client.call(RequestCancel, { id });
    if (ctx.json) printJson(ctx.io, r);
    else ctx.io.stdout.write(`request R${id}: cancelling (was ${r.request.status})\n`);
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

export async function requestsCommand(ctx: CommandContext, all: boolean): Promise<number> {
  const client = await ctx.connect();
  try {
    const r = await client.call(RequestsList, { all });
    if (ctx.json) printJson(ctx.io, r);
    else {
      if (r.requests.length === 0) ctx.io.stdout.write('no requests yet (kgentctl request "TEXT")\n');
      else ctx.io.stdout.write(`${table([['REQUEST', 'STATUS', 'ATTEMPTS', 'PROGRAM', 'BY', 'TEXT'], ...r.requests.map(requestRow)])}\n`);
      if (r.usage) ctx.io.stdout.write(`\n${usageLine(r.usage)}\n`);
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

/** `kgentctl requests prune [--keep N] [--all]` and `kgentctl requests delete R<n>...`. */
export async function requestsDeleteCommand(ctx: CommandContext, how: { prune: { keep: number; all: boolean } } | { ids: number[] }): Promise<number> {
  const client = await ctx.connect();
  try {
    const r: RequestsDeleteResult = 'ids' in how ? await client.call(RequestDelete, { ids: how.ids }) : await client.call(RequestsPrune, { keep: how.prune.keep, all: how.prune.all });
    if (ctx.json) printJson(ctx.io, r);
    else {
      ctx.io.stdout.write(
        r.deleted.length === 0
          ? 'no request deleted (running requests and the newest --keep N stay)\n'
          : `deleted ${r.deleted.length} request${r.deleted.length === 1 ? '' : 's'} (${r.deleted.map((id) => `R${id}`).join(', ')}), ${bytesText(r.freedBytes)} freed\n`,
      );
      ctx.io.stdout.write(`${usageLine(r.usage)}\n`);
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

function bytesText(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** `your stored requests (uid 1001): 12 requests, 3.2 MB (quota 1000 requests, 50.0 MB)`. */
function usageLine(u: StorageUsageInfo): string {
  const quota = [u.quotaRequests ? `${u.quotaRequests} requests` : '', u.quotaBytes ? bytesText(u.quotaBytes) : ''].filter(Boolean).join(', ');
  return `your stored requests (uid ${u.uid}): ${u.requests} request${u.requests === 1 ? '' : 's'}, ${bytesText(u.bytes)} (${quota ? `quota ${quota}` : 'no quota'}); kgentctl requests prune [--keep N] deletes finished ones`;
}

/** One row of `kgentctl requests`. */
export function requestRow(q: RequestInfo): string[] {
  return [`R${q.id}`, q.status, String(q.attempts), q.programId !== undefined ? String(q.programId) : '-', q.submittedUid !== undefined ? `${q.submittedBy} (uid ${q.submittedUid})` : q.submittedBy, clip(q.text, 60)];
}

/** `kgentctl show R<id>`: a request with every attempt, its prompts' sizes, verdicts and feedback. */
export async function showRequestCommand(ctx: CommandContext, id: number, verbose: boolean): Promise<number> {
  const client = await ctx.connect();
  try {
    const d: RequestDetail = await client.call(RequestShow, { id });
    if (ctx.json) {
      printJson(ctx.io, d);
      return ExitCode.Ok;
    }
    const q = d.request;
    const out: string[] = [
      `request R${q.id} (a request; its program is ${q.programId !== undefined ? `program ${q.programId}: kgentctl show ${q.programId}` : 'not created'})`,
      `  text:      ${q.text}`,
      `  status:    ${q.status}${q.reason ? ` (${q.reason})` : ''}`,
      `  by:        ${q.submittedBy}${q.submittedUid !== undefined ? ` (uid ${q.submittedUid})` : ''} at ${q.submittedAt}`,
      `  trials:    ${q.trials} per round, ${q.attempts} attempt(s)${q.attach ? ', attach when verified' : ''}`,
      ...(q.hints.length ? [`  hints:     ${q.hints.join(' | ')}`] : []),
    ];
    for (const a of d.attempts) {
      out.push('', `attempt ${a.n}: ${a.outcome}${a.verdict ? ` (verifier: ${a.verdict}${a.report?.dialect ? `, bpftrace ${a.report.dialect} rules` : ''})` : ''}  [${a.timings.map((t) => `${t.stage} ${ms(t.ms)}`).join(', ')}]`);
      const trims = [a.trimmed?.synthesis, a.trimmed?.comprehension].filter((t) => t && (t.droppedExamples.length || t.shortenedFeedback));
      for (const t of trims) out.push(`  prompt trimmed to ${t!.tokens}/${t!.budget} tokens: dropped ${t!.droppedExamples.join(', ') || 'no example'}, shortened ${t!.shortenedFeedback} feedback`);
      if (a.candidate) out.push('  candidate:', ...a.candidate.trimEnd().split('\n').map((l) => `    ${l}`));
      for (const h of a.report?.hints ?? []) out.push(`  hint (assume at line ${h.usedBy}): ${h.hint}; source: ${h.source}`);
      // Feedback and verdicts count lines in the annotated program: shown numbered, always.
      if (a.annotated) out.push('  annotated (the line numbers of the feedback below are its own):', ...numberLines(a.annotated).split('\n').map((l) => `  ${l}`));
      // A message of several lines (a diagnostic with its source line and HINT) stays under its head.
      for (const f of a.feedback) {
        const head = `  feedback (${f.stage}): `;
        out.push(head + f.message.trimEnd().split('\n').join(`\n${' '.repeat(head.length)}`));
      }
      const block = (title: string, text: string | undefined): void => {
        if (verbose && text) out.push(`  ${title}:`, ...text.trimEnd().split('\n').map((l) => `    ${l}`));
      };
      block('synthesis prompt', a.synthesisPrompt);
      block('synthesis answer', a.synthesisAnswer);
      block('annotation prompt', a.comprehensionPrompt);
      block('annotation answer', a.comprehensionAnswer);
    }
    ctx.io.stdout.write(`${out.join('\n')}\n`);
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}
