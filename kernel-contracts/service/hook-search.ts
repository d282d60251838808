/**
 * Search over the doc index: the request read for syscalls, subsystems and the hooks its words
 * stand for, full-text (hybrid with the query's vector when the index has vectors), ranked, and
 * limited to hooks of the current dataset.
 */
import { ContractsError } from '../errors.js';
import type { Contract } from '../contracts/model.js';
import type { ContractsLanguageModel } from '../language-model.js';
import type { DocIndex } from '../search/doc-index.js';
import { rankHooks } from '../search/hook-rank.js';
import { requestTerms } from '../search/request-terms.js';
import type { ContractsSearchResult, SearchHit } from '../api.js';
import type { ContractLogger, SearchOptions } from './options.js';

export interface HookSearchDeps {
  readonly llm: ContractsLanguageModel | undefined;
  readonly log: ContractLogger;
  /** The contract of the current generation by id. */
  readonly contract: (id: string) => Contract | undefined;
}

export async function searchHooks(docs: DocIndex, text: string, k: number, opts: SearchOptions, d: HookSearchDeps): Promise<ContractsSearchResult> {
  if (!docs.ready) throw new ContractsError('unavailable', 'the search index is not built yet; run: kgentctl contracts rebuild');
  let vector: number[] | undefined;
  const llm = d.llm;
  if (llm?.embedModel && docs.hasVectors) {
    try {
      vector = (await llm.embed([text], AbortSignal.timeout(5_000)))?.[0];
    } catch (err) {
      d.log.warn({ err: (err as Error).message }, 'kernel contracts: query embedding failed; full-text search only');
    }
  }
  // The request read for syscalls, subsystems and the hooks its words stand for; the full
  // text searched with its filler dropped (see search/request-terms.ts, search/hook-rank.ts).
  const terms = requestTerms(text, (name) => d.contract(`tracepoint:syscalls:sys_enter_${name}`) !== undefined);
  const fullText = await docs.search(terms.query || text, Math.max(60, k * 4), { ...(vector ? { vector } : {}), ...(opts.kind ? { kind: opts.kind } : {}), ...(opts.attachable ? { attachable: true } : {}) });
  // Only hooks of this kernel's dataset: the index is rebuilt with it, and anything not in
  // the current generation is dropped here.
  const found = new Map<string, SearchHit>();
  const exists = (id: string): boolean => {
    const c = d.contract(id);
    if (!c || (opts.kind && c.kind !== opts.kind)) return false;
    const hit = searchHit(c, 0);
    if (opts.attachable && hit.probes.length === 0) return false;
    found.set(id, hit);
    return true;
  };
  const ranked = rankHooks({ terms, fullText, ...(opts.hints ? { hints: opts.hints } : {}), exists }, k);
  const hits: SearchHit[] = ranked.map((r) => ({ ...found.get(r.id)!, score: Math.round(r.score * 100) / 100, why: r.why }));
  return { mode: vector ? 'hybrid' : 'full-text', hits };
}

function searchHit(c: Contract, score: number): SearchHit {
  const target = c.kind === 'function' ? c.name : `${c.category}:${c.event}`;
  const probes = c.probes.filter((p) => p.available).map((p) => `${p.probe}:${target}`);
  const unavailable = c.probes.filter((p) => !p.available).map((p) => ({ probe: `${p.probe}:${target}`, reason: p.reason ?? 'not available on this kernel' }));
  const summaryText = c.doc?.summary ?? (c.kind === 'function' ? c.prototype : `fields: ${c.fields.map((f) => f.name).join(', ')}`);
  return { id: c.id, kind: c.kind, probes, unavailable, summary: summaryText, score };
}
