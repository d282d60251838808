/**
 * One sync of the example library, run by kgentd as a short-lived child process so that LanceDB,
 * Arrow and the embedding batches of a (re)load never stay in the daemon's memory (issue 9,
 * item 8: the daemon's idle RSS). Flags: --state-dir DIR (required), --ollama-host URL and
 * --embed-model NAME (vectors; without them full text only), --dataset-dir DIR (default: the
 * repository's datasets/examples), --log-level LEVEL.
 *
 * stdout: pino JSON lines (the daemon logs them again under its own logger), then one line
 * `{"syncResult": SyncResult}`. Exit 0 when the sync ran (or had nothing to do), 1 when it failed
 * (the table keeps what it held), 2 on bad flags. The child also exits when its stdin closes: the
 * daemon that started it is gone.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadExamples } from '../../datasets/load.js';
import { createOllama } from '../llm/ollama-client.js';
import { ollamaEmbedder } from './library.js';
import { ExampleStore } from './example-store.js';

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        'state-dir': { type: 'string' },
        'ollama-host': { type: 'string' },
        'embed-model': { type: 'string' },
        'dataset-dir': { type: 'string' },
        'log-level': { type: 'string' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`example-sync: ${(err as Error).message}\n`);
    return 2;
  }
  const stateDir = values['state-dir'];
  if (!stateDir) {
    process.stderr.write('example-sync: --state-dir is required\n');
    return 2;
  }
  process.stdin.on('end', () => process.exit(1)).resume();
  const logger = pino({ level: values['log-level'] ?? 'info', base: null, timestamp: false });
  const host = values['ollama-host'];
  const model = values['embed-model'];
  const embed = host && model ? ollamaEmbedder(createOllama(host, 120_000), model, logger) : undefined;
  const store = await ExampleStore.open({ stateDir, ...(embed ? { embed, embedModel: model! } : {}), logger });
  try {
    const result = await store.sync(values['dataset-dir'] ? loadExamples(values['dataset-dir']) : loadExamples());
    process.stdout.write(`${JSON.stringify({ syncResult: result })}\n`);
    return 0;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'examples: the dataset could not be loaded; searching the examples loaded before');
    return 1;
  } finally {
    store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`example-sync: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
