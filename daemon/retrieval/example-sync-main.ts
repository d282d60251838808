/**
 * One sync of the example library, run by kgentd as a short-lived child process so that LanceDB,
 * Arrow and the embedding batches of a (re)load never stay in the daemon's memory (the daemon's
 * idle RSS). Flags: --state-dir DIR (required), --embed-model NAME (vectors, asked of the
 * daemon, which asks its one LLM door; without it full text only), --dataset-dir DIR (default: the
 * repository's datasets/examples), --log-level LEVEL.
 *
 * stdout: pino JSON lines (the daemon logs them again under its own logger), then one line
 * `{"syncResult": SyncResult}`. Exit 0 when the sync ran (or had nothing to do), 1 when it failed
 * (the table keeps what it held), 2 on bad flags. The child also exits when its stdin closes: the
 * daemon that started it is gone.
 */
import { runChildScript } from '../../kernel-contracts/util/json-lines-child.js';
import { loadExamples } from '../../datasets/load.js';
import { ExampleStore, type EmbedFn } from './example-store.js';

runChildScript('example-sync', { 'dataset-dir': { type: 'string' } }, async ({ values, stateDir, log: logger, ask }) => {
  const model = values['embed-model'];
  const datasetDir = values['dataset-dir'];
  const embed: EmbedFn | undefined =
    typeof model === 'string' ? async (texts) => ((await ask('embed', texts)) as number[][] | null | undefined) ?? undefined : undefined;
  const store = await ExampleStore.open({ stateDir, ...(embed ? { embed, embedModel: model as string } : {}), logger });
  try {
    const result = await store.sync(typeof datasetDir === 'string' ? loadExamples(datasetDir) : loadExamples());
    process.stdout.write(`${JSON.stringify({ syncResult: result })}\n`);
    return 0;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'examples: the dataset could not be loaded; searching the examples loaded before');
    return 1;
  } finally {
    store.close();
  }
});
