/**
 * The symbolic verification stage: the verifier runs the annotated program (with the running
 * kernel's contracts) against the candidate. `proved` and `proved-under-hints` pass; any other
 * verdict is feedback — counterexamples in bpftrace terms, guard failures, reasons — and an
 * `unknown` or `unannotated` candidate is kept as the round's best unproved program. `unknown` is
 * never "verified".
 */
import type { FeedbackMessage } from '../protocol/requests-api.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import { diagText, type Attempt, type AttemptFailed } from './attempt.js';
import type { Checker } from './stages.js';

/** The proof's report, or the failure that ends the attempt. */
export async function verifySymbolically(checker: Pick<Checker, 'verify'>, attempt: Attempt, annotated: string, candidate: string): Promise<VerifyReport | AttemptFailed> {
  const report = await attempt.stage('verifying', () => checker.verify(annotated, candidate));
  attempt.record.report = report;
  // `proved-under-hints` is verified too; its label and hints stay in the report (store, show, approve).
  if (report.verdict === 'proved' || report.verdict === 'proved-under-hints') return report;
  const outcome = report.verdict === 'invalid' ? (report.diagnostics.some((d) => d.stage === 'guard') ? 'guard-failed' : 'invalid') : report.verdict;
  const keep = report.verdict === 'unknown' || report.verdict === 'unannotated';
  return attempt.fail(outcome, verdictFeedback(report, attempt.n), candidate, keep ? { attempt: attempt.n, candidate, annotated, report } : undefined);
}

/** Feedback from a verdict that is not `proved`: counterexamples in bpftrace terms, guard failures, reasons. */
function verdictFeedback(report: VerifyReport, n: number): FeedbackMessage[] {
  const out: FeedbackMessage[] = [];
  for (const d of report.diagnostics) {
    if (d.severity !== 'error' && d.code !== 'symbolic.unknown' && d.code !== 'symbolic.unannotated' && d.code !== 'symbolic.trivial') continue;
    if (d.code === 'symbolic.refuted') continue; // said below with the counterexample
    out.push({ attempt: n, stage: d.stage === 'guard' ? 'guard' : d.stage === 'parse' ? 'comprehension' : 'symbolic', message: diagText(d) });
  }
  for (const a of report.assertions) {
    if (a.verdict !== 'refuted') continue;
    out.push({
      attempt: n,
      stage: 'symbolic',
      message: `line ${a.line}: assert(${a.text}) does not hold in ${a.probe}: ${a.counterexample?.summary ?? 'counterexample found'}`,
    });
  }
  if (out.length === 0) out.push({ attempt: n, stage: 'symbolic', message: `the verifier's verdict is ${report.verdict}; nothing was proved` });
  return out;
}
