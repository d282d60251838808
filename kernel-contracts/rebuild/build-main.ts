/**
 * One kernel-contracts build of the running kernel, run by the contract service as a child
 * process so that BTF parsing, the derive pass and LanceDB's indexing never stay in kgentd's
 * memory (~150 MB more RSS after an in-process build). Flags: --state-dir DIR
 * (required), --embed-model NAME (vectors, asked of the parent: the daemon's one LLM door; this
 * child opens no connection to a model server), --source-tree DIR (kernel
 * sources, indexed into `source-index.json` when not yet), --probe-options JSON (bpftrace's
 * version and features), --keep-old-tables (the parent has the doc index open and drops the old
 * generation's table itself when it switches), --log-level LEVEL.
 *
 * stdout, JSON lines: pino log lines; `{"progress": {phase, done, total, message, generation}}`;
 * at the end `{"result": BuildResult}` (exit 0) or `{"error": message}` (exit 1). Exit 2 on bad
 * flags. The child also exits when its stdin closes: the daemon that started it is gone (the
 * generation it was building is marked interrupted at the daemon's next start).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { pino } from 'pino';
import { runChildScript } from '../util/json-lines-child.js';
import { realHost } from '../kernel-reader/host.js';
import type { RebuildPhase } from '../api.js';
import type { ProbeSupportOptions } from '../kernel-reader/probe-support.js';
import type { Embedder } from '../search/doc-index.js';
import { LanceDocIndex } from '../search/lance-doc-index.js';
import { SourceReader, type SourceIndexData } from '../source-reader/index.js';
import { ContractStore, openContractDb } from '../store/contract-db.js';
import { buildDataset, defaultBtfLoader } from './build.js';
import type { ChildLine } from './build-child.js';

function emit(line: ChildLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

runChildScript(
  'contracts-build',
  { 'source-tree': { type: 'string' }, 'probe-options': { type: 'string' }, 'keep-old-tables': { type: 'boolean' } },
  async ({ values, stateDir, log, ask }) => {
    const probeOptions = typeof values['probe-options'] === 'string' ? (JSON.parse(values['probe-options']) as ProbeSupportOptions) : undefined;
    const t0 = performance.now();
    const progress = (phase: RebuildPhase, done: number, total: number, message: string, generation = 0): void =>
      emit({ progress: { generation, phase, done, total, message, elapsedMs: performance.now() - t0 } });

    const store = new ContractStore(openContractDb(stateDir));
    const docs = await LanceDocIndex.open(path.join(stateDir, 'contracts.lance'));
    try {
      const tree = values['source-tree'];
      const source = typeof tree === 'string' ? await sourceIndex(tree, stateDir, log, progress) : undefined;
      // The parent checked that the model answers before it named one.
      const embed: Embedder | undefined = typeof values['embed-model'] === 'string' ? async (texts) => (await ask('embed', texts)) as number[][] : undefined;
      const r = await buildDataset({
        host: realHost(),
        store,
        docs,
        loadBtf: defaultBtfLoader,
        ...(source?.indexed ? { source } : {}),
        ...(embed ? { embed } : {}),
        ...(probeOptions ? { probeOptions } : {}),
        dropOldTables: !values['keep-old-tables'],
        onProgress: (phase, done, total, message, generation) => progress(phase, done, total, message, generation),
      });
      emit({ result: r });
      return 0;
    } catch (err) {
      emit({ error: (err as Error).message });
      return 1;
    } finally {
      docs.close();
      store.close();
    }
  },
);

/** The kernel source tree, its index read from `source-index.json` or built (and saved) now. */
async function sourceIndex(root: string, stateDir: string, log: pino.Logger, progress: (phase: RebuildPhase, done: number, total: number, message: string) => void): Promise<SourceReader> {
  const src = new SourceReader(root);
  const file = path.join(stateDir, 'source-index.json');
  try {
    if (src.loadIndexData(JSON.parse(readFileSync(file, 'utf8')) as SourceIndexData)) return src;
  } catch {
    // no saved index: built now
  }
  progress('source', 0, 0, `indexing kernel sources in ${root}`);
  try {
    const stats = await src.buildIndex({ onProgress: (done) => progress('source', done, 0, `indexed ${done} source files`) });
    writeFileSync(`${file}.tmp`, JSON.stringify(src.toIndexData()));
    renameSync(`${file}.tmp`, file);
    log.info({ ...stats }, 'kernel contracts: source tree indexed');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'kernel contracts: source tree not indexed');
  }
  return src;
}
