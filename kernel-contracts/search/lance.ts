/**
 * What kgent's two LanceDB indexes share (the hook docs here, the synthesis examples in
 * daemon/retrieval): plain UTF-8 Arrow columns, one full-text tokenizer, query text reduced to
 * words, and one ranked query that is full-text alone or hybrid (full-text + vector, reciprocal
 * rank fusion) when the caller has a query vector and the table has vectors.
 */
import './lancedb-env.js';
import { Index, MultiMatchQuery, rerankers, type Table } from '@lancedb/lancedb';
import { makeData, makeVector, Utf8, type Vector } from 'apache-arrow';

/** A plain (not dictionary-encoded) UTF-8 Arrow vector, built in one pass. */
export function utf8Vector(strs: readonly string[]): Vector<Utf8> {
  const offsets = new Int32Array(strs.length + 1);
  let total = 0;
  for (let i = 0; i < strs.length; i++) {
    offsets[i] = total;
    total += Buffer.byteLength(strs[i]!, 'utf8');
  }
  offsets[strs.length] = total;
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < strs.length; i++) data.write(strs[i]!, offsets[i]!, 'utf8');
  return makeVector(makeData({ type: new Utf8(), length: strs.length, nullCount: 0, valueOffsets: offsets, data: new Uint8Array(data.buffer, data.byteOffset, total) }));
}

/**
 * The full-text index both tables use: English stemming ("opening" finds "open"), stop words
 * dropped, lower case. The tokenizer splits on `_` and `:`, so `sys_enter_openat` is three words.
 */
export function ftsIndex(): Index {
  return Index.fts({ withPosition: false, stem: true, language: 'English', removeStopWords: true, lowercase: true });
}

/** Words only: full-text query syntax characters in user text must not break the query. */
export function sanitizeQuery(q: string): string {
  return q
    .replace(/[^A-Za-z0-9_\s]+/g, ' ')
    .replace(/_/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
}

/** One row of a ranked query, with its score (BM25 for full-text, RRF relevance for hybrid). */
export type RankedRow = Record<string, unknown> & { readonly score: number };

/**
 * The best `limit` rows for `text` (already sanitized, non-empty): full-text over the table's
 * indexed column, or over several indexed `columns` with their `boosts` (BM25 scores weighted and
 * summed); hybrid with reciprocal rank fusion when `vector` is given (the caller checks that the
 * table has a `vector` column). Rows whose vector is null still rank by their full text.
 */
export async function rankedQuery(
  table: Table,
  o: { text: string; columns?: readonly string[]; boosts?: readonly number[]; vector?: readonly number[]; where?: string; select: readonly string[]; limit: number },
): Promise<{ mode: 'full-text' | 'hybrid'; rows: RankedRow[] }> {
  const fts = o.columns ? new MultiMatchQuery(o.text, [...o.columns], o.boosts ? { boosts: [...o.boosts] } : {}) : o.text;
  let q = table.query().fullTextSearch(fts);
  if (o.where) q = q.where(o.where);
  if (o.vector) {
    const rrf = await rerankers.RRFReranker.create();
    const rows = await q.nearestTo([...o.vector]).distanceType('cosine').rerank(rrf).select([...o.select]).limit(o.limit).toArray();
    return { mode: 'hybrid', rows: rows.map((r: Record<string, unknown>) => ({ ...r, score: Number(r['_relevance_score'] ?? 0) })) };
  }
  const rows = await q.select([...o.select]).limit(o.limit).toArray();
  return { mode: 'full-text', rows: rows.map((r: Record<string, unknown>) => ({ ...r, score: Number(r['_score'] ?? 0) })) };
}
