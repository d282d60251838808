/**
 * Disk amplification of requests, measured against the real kgentd: how many bytes the state
 * directory and the daemon's own log grow per request, for the attack of the security review
 * (requests whose LLM answers are ~325 KB programs that fail verification: every attempt stores
 * and feeds back what it got) and for many small requests. Each figure is printed beside its target.
 *
 * `npm run bench -- disk` (root not needed: the requests come from this process's uid).
 */
import { execa } from 'execa';
import { createDaemon } from '../support/daemon-harness.js';
import { startOllamaStandin } from '../support/ollama-standin.js';

const BIG_ANSWER_BYTES = 325 * 1024;

/** A program of about `bytes` that parses and passes the lints but carries no annotation. */
export function bigProgram(bytes: number): string {
  const line = 'tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }\n';
  return line.repeat(Math.ceil(bytes / line.length));
}

async function du(dir: string): Promise<number> {
  const r = await execa('du', ['-sb', dir]);
  return Number(r.stdout.split('\t')[0]);
}

/** Bytes of the state dir's parts: the SQLite database with its WAL, the example table, the rest. */
async function parts(dir: string): Promise<Record<string, number>> {
  const r = await execa('du', ['-ab', '--max-depth=1', dir]);
  const out: Record<string, number> = { sqlite: 0, examples: 0, other: 0 };
  for (const line of r.stdout.split('\n')) {
    const [size, file] = line.split('\t');
    if (!file || file === dir) continue;
    const key = /kgent\.db/.test(file) ? 'sqlite' : /examples\.lance/.test(file) ? 'examples' : 'other';
    out[key]! += Number(size);
  }
  return out;
}

async function measure(label: string, answer: string, count: number, text: string, config: Record<string, unknown> = {}): Promise<{ store: number; log: number }> {
  const standin = await startOllamaStandin({ chat: () => answer, models: ['qwen2.5-coder:7b', 'nomic-embed-text'] });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host }, config });
  try {
    await d.start();
    // Let the start-up settle (example sync, contracts) before the baseline.
    await new Promise((r) => setTimeout(r, 4000));
    const store0 = await du(d.stateDir);
    const parts0 = await parts(d.stateDir);
    const log0 = Buffer.byteLength(d.output());
    for (let i = 0; i < count; i++) await d.ctl(['request', '--json', `${text} ${i}`], { timeoutMs: 300_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const store = ((await du(d.stateDir)) - store0) / count;
    const log = (Buffer.byteLength(d.output()) - log0) / count;
    const parts1 = await parts(d.stateDir);
    const per = Object.entries(parts1).map(([k, v]) => `${k} +${Math.round((v - (parts0[k] ?? 0)) / count / 1024)} KB`).join(', ');
    const sql = await execa('sqlite3', [`${d.stateDir}/kgent.db`, 'SELECT COALESCE(SUM(stored_bytes), 0) FROM requests'], { reject: false });
    const logical = sql.exitCode === 0 && sql.stdout.trim() ? `; requests hold ${Math.round(Number(sql.stdout.trim()) / count / 1024)} KB/request` : '';
    process.stdout.write(`${label}: ${count} requests; state dir +${Math.round(store / 1024)} KB/request, daemon log +${Math.round(log / 1024)} KB/request\n  (${per}${logical})\n`);
    return { store, log };
  } finally {
    await d.cleanup();
    await standin.close();
  }
}

export async function run(): Promise<void> {
  const big = `Here it is.\n\n\`\`\`bpftrace\n${bigProgram(BIG_ANSWER_BYTES)}\`\`\`\n`;
  const text = 'count file opens per process '.repeat(280).slice(0, 8000);
  // A long-context model (numCtx 400k tokens) lets every prompt carry the big program: the worst case.
  const b = await measure(`big (LLM answers of ${Math.round(big.length / 1024)} KB, request text 8000 chars, numCtx 400000)`, big, 3, text, { numCtx: 400_000, llmAnswerTokens: 8192 });
  process.stdout.write(`  amplification: ${(b.store / big.length).toFixed(1)}x the answer in the store, ${(b.log / big.length).toFixed(1)}x in the log (target: store <= 2 MB/request, log a few KB; the log is at debug level)\n`);
  await measure('small (50 requests, short answers)', 'I cannot write that.', 50, 'count opens');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
