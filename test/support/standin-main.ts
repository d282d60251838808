/**
 * The Ollama-protocol stand-in as a program (a test and development tool, not an LLM):
 *
 *   npm run build && npm run standin -- --script FILE --port N [--record FILE]
 *       [--host ADDR] [--delay-ms N] [--models a,b] [--embed-models a,b]
 *
 * Point kgentd at it with OLLAMA_HOST=http://127.0.0.1:N. The script is JSON lines
 * `{"match": "<substring of the last user message>" | null, "response": "<text>"}`; each chat
 * request takes the first unused entry that matches (none: an Ollama-shaped HTTP 500 error saying
 * so). Embeddings are a deterministic hashed bag of words. `--record` appends every request (full
 * body: messages, options) as a JSON line. Prints one line `ollama stand-in listening on URL` when
 * ready; stops on SIGINT/SIGTERM/SIGHUP, and when the process that started it (npm) goes away.
 *
 * Without --models it offers every model: chat and embed accept any name, and /api/tags lists the
 * models kgentd is configured with (its config file and environment, as kgentd reads them) and
 * every model asked for so far, since kgentd looks there before it asks.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULTS, loadConfig } from '../../daemon/config.js';
import { matchScript, parseScript, startOllamaStandin, type StandinScriptEntry } from './ollama-standin.js';

const USAGE = 'usage: standin --script FILE --port N [--record FILE] [--host ADDR] [--delay-ms N] [--models a,b] [--embed-models a,b]';

function fail(msg: string, usage = true): never {
  process.stderr.write(`standin: ${msg}\n${usage ? `${USAGE}\n` : ''}`);
  process.exit(2);
}

/** The models kgentd would ask for: its configuration read as kgentd reads it, or its defaults. */
function kgentdModels(): string[] {
  let models = DEFAULTS.models;
  try {
    models = loadConfig({ env: process.env, flags: {} }).models;
  } catch {
    // an unreadable config: kgentd would not start either; its defaults are the best guess
  }
  return [...new Set([models.synthesis, models.comprehension, models.embedding])];
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        script: { type: 'string' },
        port: { type: 'string', default: '11434' },
        record: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'delay-ms': { type: 'string' },
        models: { type: 'string' },
        'embed-models': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) fail(`--${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
    return Number(v);
  };
  const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
  let entries: StandinScriptEntry[] = [];
  if (values.script !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.script, 'utf8');
    } catch (err) {
      fail(`cannot read script ${values.script}: ${(err as Error).message}`);
    }
    try {
      entries = parseScript(text, values.script);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const port = int('port', values.port);
  const delayMs = int('delay-ms', values['delay-ms']);
  const models = list(values.models);
  const embedModels = list(values['embed-models']);
  const listed = models ? undefined : kgentdModels();
  const standin = await startOllamaStandin({
    chat: matchScript(entries),
    ...(listed ? { listed } : {}),
    hostname: values.host,
    ...(port !== undefined ? { port } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    ...(values.record !== undefined ? { record: values.record } : {}),
    ...(models ? { models } : {}),
    ...(embedModels ? { embedModels } : {}),
  });
  process.stdout.write(
    `ollama stand-in listening on ${standin.host} (${entries.length} script entries; ${listed ? `any model, listing ${listed.join(', ')}` : `models ${models!.join(', ')}`}${values.record ? `; recording to ${values.record}` : ''})\n`,
  );
  const stop = (): void => {
    // Open keep-alive connections must not keep the port: exit once closed, or after a moment anyway.
    setTimeout(() => process.exit(0), 1000).unref();
    void standin.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  // `npm run standin` runs us under `sh -c`; a signal to npm ends the shell but not us. When the
  // parent goes away we are re-parented: stop then, so the port is free for the next start.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') fail(`port ${(e as { port?: number }).port ?? ''} is in use (another stand-in, or Ollama itself?); stop it or give --port N`, false);
  fail(e.message, false);
});
