/**
 * What the tools answer, written for an agent: a short text that leads with the outcome and ends
 * with the next step the agent may take, plus the same facts as `structuredContent` for clients
 * that read JSON. Line numbers of verdicts are those of the annotated program, which is included.
 */
import { formatDiagnostic, isVerified, type ProgramInfo, type RequestResult, type VerifyReport } from '../../daemon/protocol/index.js';
import { numberLines } from '../text-format.js';
import type { ToolText } from './refusal.js';

/** The next step for an agent, which may propose but not approve (unless `mayApprove`). */
export function agentNext(r: RequestResult, mayApprove: boolean): string {
  const q = r.request;
  const p = r.programInfo;
  switch (q.status) {
    case 'verified':
      if (p && p.status === 'pending-approval') {
        return mayApprove
          ? `program ${p.id} waits for approval; approve it with the approve tool only if the user asked you to, else ask a person to run: kgentctl approve ${p.id}`
          : `program ${p.id} waits for a person's approval: ask the user to review it (kgentctl show ${p.id}) and run: kgentctl approve ${p.id}; you cannot approve it. Then read its output with the logs tool or the resource kgent://programs/${p.id}/output`;
      }
      return `program ${p?.id ?? '?'} is ${p?.status ?? 'created'}; see it with the show tool`;
    case 'attached':
      return `program ${p?.id ?? '?'} is attached; read its output with the logs tool (id ${p?.id ?? '?'})`;
    case 'needs-hint':
      return `the trials ran out without a proved program: call the hint tool with request_id "R${q.id}" and what the program should do differently (a hook to use, a field to read, a filter); the show tool with id "R${q.id}" gives each attempt's feedback`;
    case 'accepted-unverified':
      return `a person accepted this unverified program; see it with the show tool (id "R${q.id}")`;
    case 'cancelled':
      return `R${q.id} was cancelled; call request again to start over`;
    default:
      return `R${q.id} failed${q.reason ? ` (${q.reason})` : ''}; fix the cause or call request again`;
  }
}

/** The verdict, each assertion and cover with its line, counterexamples and the hints a proof rests on. */
export function verdictLines(report: VerifyReport, source?: string): string[] {
  const out = [`verdict: ${report.verdict}${isVerified(report.verdict) ? '' : ' (NOT verified)'}`];
  for (const h of report.hints ?? []) out.push(`  hint (assume at line ${h.usedBy}): ${h.hint}; source: ${h.source}`);
  for (const a of report.assertions) {
    const why = a.counterexample ? `; counterexample: ${a.counterexample.summary}` : a.reason ? `; ${a.reason}` : '';
    out.push(`  line ${a.line}: assert(${a.text}): ${a.verdict}${why}`);
  }
  for (const c of report.coverage ?? []) out.push(`  line ${c.line}: ${c.text}: ${c.verdict}${c.reason ? `; ${c.reason}` : ''}`);
  // A refuted or unknown assertion is also a diagnostic at its line: said once, above.
  const said = new Set([...report.assertions, ...(report.coverage ?? [])].filter((a) => a.verdict !== 'proved').map((a) => a.line));
  for (const d of report.diagnostics) if (!(d.span && said.has(d.span.line))) out.push(formatDiagnostic(d, 'program.bt', source));
  return out;
}

/** A request's outcome, as the request and hint tools answer it. */
export function requestText(r: RequestResult, mayApprove: boolean): ToolText {
  const q = r.request;
  const p = r.programInfo;
  const next = agentNext(r, mayApprove);
  const lines = [`request R${q.id}: ${q.status}${q.reason ? ` (${q.reason})` : ''}${p ? `; program ${p.id} is ${p.status}` : ''}`];
  if (r.program) lines.push('', q.status === 'needs-hint' ? 'last candidate (NOT verified):' : 'program:', r.program.trimEnd());
  if (r.report) {
    if (r.annotated) lines.push('', 'annotated program (the verdict line numbers are its own):', numberLines(r.annotated));
    lines.push('', ...verdictLines(r.report, r.annotated));
  }
  // `verified` and `attached` are reached only through the kernel check (RequestStatus).
  const kernelChecked = q.status === 'verified' || q.status === 'attached';
  if (kernelChecked) lines.push('', `kernel check: accepted by the kernel's eBPF verifier${q.status === 'verified' ? '; nothing is attached until a person approves it' : ''}`);
  lines.push('', `next: ${next}`);
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    structuredContent: {
      requestId: `R${q.id}`,
      status: q.status,
      ...(q.reason ? { reason: q.reason } : {}),
      ...(r.program ? { program: r.program } : {}),
      ...(r.annotated ? { annotated: r.annotated } : {}),
      ...(r.report ? { verdict: r.report.verdict, assertions: r.report.assertions, coverage: r.report.coverage, hints: r.report.hints ?? [] } : {}),
      ...(p ? { programId: p.id, programStatus: p.status } : {}),
      ...(kernelChecked ? { kernelCheck: 'accepted' } : {}),
      next,
    },
  };
}

/** One program as a line of the list tool. */
export function programLine(p: ProgramInfo): string {
  const verified = p.verification ? `, ${p.verification.verdict} (R${p.verification.requestId})` : '';
  return `${p.id} ${p.status}${p.ownerRevoked ? ' (owner revoked)' : ''}${verified}: ${p.name} by ${p.submittedBy}; probes ${p.probes.join(', ')}`;
}

/** A JSON answer with a one-line lead, for the tools whose result is data. */
export function dataText(lead: string, data: Record<string, unknown>): ToolText {
  return { content: [{ type: 'text', text: `${lead}\n${JSON.stringify(data, null, 1)}` }], structuredContent: data };
}
