/**
 * `<stateDir>/examples.meta.json`: what the examples table was last synced with (dataset hash,
 * vector model, rows stored without a vector). Read by kgentd to decide whether a sync is needed
 * at all, without loading LanceDB; written by the store after each sync.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ExampleMeta {
  readonly datasetHash: string;
  readonly datasetExamples: number;
  /** The model the table's vectors were made with; absent when the table has none. */
  readonly vectorModel?: string;
  /** Some row was stored without a vector (learned while the model was down): the next sync embeds it. */
  readonly missingVectors?: boolean;
  readonly syncedAt: string;
}

const META_FILE = 'examples.meta.json';

/** `<stateDir>/examples.lance`, the LanceDB database of the library. */
export function examplesDbPath(stateDir: string): string {
  return path.join(stateDir, 'examples.lance');
}

/** True when the `examples` table exists on disk (LanceDB keeps a table in `<name>.lance`). */
export function examplesTableExists(stateDir: string): boolean {
  return existsSync(path.join(examplesDbPath(stateDir), 'examples.lance'));
}

export function readExampleMeta(stateDir: string): ExampleMeta | undefined {
  const p = path.join(stateDir, META_FILE);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ExampleMeta;
  } catch {
    return undefined; // unreadable: treated as a changed dataset, which reloads it
  }
}

export function writeExampleMeta(stateDir: string, m: ExampleMeta): void {
  const p = path.join(stateDir, META_FILE);
  writeFileSync(`${p}.tmp`, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o640 });
  renameSync(`${p}.tmp`, p);
}

/**
 * Why `ExampleStore.sync` would have work to do, or undefined when the table already holds this
 * dataset with vectors from `embedModel` on every row (or no model is configured). Decided from
 * the meta file alone: a "vectors" reason may still end in nothing when the model does not answer.
 */
export function syncReason(stateDir: string, datasetHash: string, embedModel: string | undefined): string | undefined {
  const meta = readExampleMeta(stateDir);
  if (!examplesTableExists(stateDir)) return 'no table yet';
  if (!meta) return 'no sync recorded';
  if (meta.datasetHash !== datasetHash) return 'dataset changed';
  if (embedModel !== undefined && meta.vectorModel !== embedModel) return meta.vectorModel ? `vectors from ${meta.vectorModel}, configured ${embedModel}` : 'no vectors yet';
  if (embedModel !== undefined && meta.missingVectors) return 'rows without a vector';
  return undefined;
}
