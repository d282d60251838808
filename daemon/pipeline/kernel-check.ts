/**
 * The kernel check stage: the candidate is loaded through the kernel's eBPF verifier (bpftrace,
 * on the requester's share of the check slots; daemon/kernel-check/). The kernel's rejection is
 * feedback for the next trial. The last stage of an attempt, with the symbolic stage on or off.
 */
import type { CheckRequester } from '../kernel-check/check-limits.js';
import { diagText, type Attempt, type AttemptFailed } from './attempt.js';
import type { Checker } from './stages.js';

/** Undefined when the kernel accepts the candidate, else the failure that ends the attempt. */
export async function kernelCheck(checker: Pick<Checker, 'kernelCheck'>, attempt: Attempt, candidate: string, requester: CheckRequester | undefined): Promise<AttemptFailed | undefined> {
  const check = await attempt.stage('kernel-check', () => checker.kernelCheck(candidate, { signal: attempt.signal, ...(requester ? { requester } : {}) }));
  attempt.record.kernelCheck = { ok: check.ok, diagnostics: check.diagnostics, durationMs: Math.round(check.durationMs) };
  if (check.ok) return undefined;
  return attempt.fail('kernel-rejected', check.diagnostics.filter((d) => d.severity === 'error').map((d) => attempt.feedback('kernel', diagText(d))), candidate);
}
