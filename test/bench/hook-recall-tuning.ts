/**
 * The TUNING table of the hook-recall benchmark: the dataset's own prompts, each with the
 * tracepoints its program (and its variant twin's) attaches to. The vocabulary and weights of
 * kernel-contracts/search were tuned on these; the held-out table (hook-recall-heldout.ts) was
 * not looked at while tuning. Prompts whose programs use no tracepoint (uprobes, kprobes only,
 * intervals) are left out: nothing in the contracts index answers them.
 */
import { loadExamples, type Example } from '../../datasets/load.js';
import type { RecallCase } from './hook-recall-heldout.js';

export function tuningCases(examples: readonly Example[] = loadExamples()): RecallCase[] {
  const bySlug = new Map(examples.map((e) => [e.id, e]));
  const out: RecallCase[] = [];
  for (const e of examples) {
    const twins = [e, ...(e.variantOf && bySlug.get(e.variantOf) ? [bySlug.get(e.variantOf)!] : []), ...examples.filter((x) => x.variantOf === e.id)];
    const reference = [...new Set(twins.flatMap((x) => x.hooks).filter((h) => h.startsWith('tracepoint:') && !h.includes('*')))];
    if (reference.length > 0) out.push({ request: e.prompt, reference });
  }
  return out;
}
