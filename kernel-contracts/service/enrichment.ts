/**
 * LLM enrichment of a contract (conditions and a summary from the model, checked by the
 * enricher), cached per kernel identity and model in the store, and merged into contracts.
 */
import { enrichContract } from '../enrich/enricher.js';
import { memberContract } from '../contracts/members.js';
import type { Contract, EnumDomain } from '../contracts/model.js';
import type { EnrichmentAnswer } from '../contracts/expr.js';
import type { ContractsLanguageModel } from '../language-model.js';
import type { ContractStore, EnrichmentRecord, Generation } from '../store/contract-db.js';
import type { BtfCache } from './btf-cache.js';
import type { ContractLogger } from './options.js';
import type { SourceIndex } from './source-index.js';

export interface EnrichDeps {
  readonly llm: ContractsLanguageModel | undefined;
  readonly attempts: number | undefined;
  readonly store: ContractStore;
  readonly source: SourceIndex | undefined;
  readonly btf: BtfCache;
  readonly enums: Map<string, EnumDomain | undefined>;
  readonly log: ContractLogger;
}

/** The contract with the model's conditions, stored for the next time; undefined without a chat model. */
export async function enrichAndStore(c: Contract, gen: Generation, d: EnrichDeps): Promise<Contract | undefined> {
  const llm = d.llm;
  if (!llm?.chatModel) return undefined;
  let src;
  if (c.kind === 'function' && d.source) {
    await d.source.ensure().catch(() => undefined);
    src = await d.source.reader.lookup(c.name);
  }
  const btf = await d.btf.vmlinux().catch(() => undefined);
  const memberOf = btf
    ? (pointee: string, p: readonly string[]) => {
        const m = /^(struct|union)\s+(\w+)$/.exec(pointee);
        const mc = m ? memberContract(btf, m[2]!, m[1] === 'union', p, d.enums) : undefined;
        return mc ? { bits: mc.value.bits, signed: mc.value.signed } : undefined;
      }
    : undefined;
  const r = await enrichContract(c, src, {
    llm,
    model: llm.chatModel,
    ...(d.attempts ? { maxAttempts: d.attempts } : {}),
    ...(memberOf ? { memberOf } : {}),
    onRejected: (attempt, reasons) => d.log.warn({ hook: c.id, attempt, reasons }, 'kernel contracts: LLM answer rejected'),
  });
  const rec: EnrichmentRecord = { model: r.model, at: new Date().toISOString(), attempts: r.attempts, answer: r.answer };
  d.store.putEnrichment(gen.identity.key, c.id, rec);
  return mergeEnrichment(c, rec);
}

/** Cached LLM conditions in place of the contract's previous LLM conditions. */
export function mergeEnrichment(c: Contract, rec: EnrichmentRecord): Contract {
  const a = rec.answer as EnrichmentAnswer;
  const conditions = [
    ...c.conditions.filter((k) => k.source !== 'llm'),
    ...a.pre.map((x) => ({ kind: 'pre' as const, expr: x.expr, source: 'llm' as const, ...(x.note ? { note: x.note } : {}) })),
    ...a.post.map((x) => ({ kind: 'post' as const, expr: x.expr, source: 'llm' as const, ...(x.note ? { note: x.note } : {}) })),
  ];
  const doc = c.doc ?? (a.summary ? { summary: a.summary, source: 'llm' as const } : undefined);
  return { ...c, conditions, ...(doc ? { doc } : {}), enrichment: { model: rec.model, at: rec.at, attempts: rec.attempts } };
}
