/**
 * Control-plane load figures, measured side by side in one run against the real
 * kgentd: requests/s for `daemon.status` and `programs.list` with 200 concurrent clients (each on its
 * own connection, none may be dropped), p99 latency, the daemon's RSS idle and after 10,000
 * requests. Each figure is printed beside its target.
 *
 * A second daemon then starts with a kernel-contracts rebuild (what a real host does on its first
 * start; the first daemon has `rebuildOnStart: false`, as all tests): its RSS once the build is
 * done, and after its first example and hook searches (LanceDB loads in children, not in kgentd).
 *
 * A third daemon is used, then left alone (`inUseThenIdle`): RSS 5 s after its contracts build (a
 * figure: the parsed BTF is still cached) and fresh (75 s after the build), after a verification, a
 * hook search, an example search and a request through the Ollama stand-in, then 30, 60 and 120 s
 * after, under the default `idleReleaseMs`; each figure with what holds the memory (anonymous vs
 * file-backed, the native modules mapped). `KGENT_BENCH_SECTION=idle` runs only that part.
 *
 * The clients run as this process's uid; root is not subject to policy.maxConnectionsPerUid, and
 * for another uid the bench raises that limit to 200 so the figure is the daemon's, not the policy's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { createDaemon, eventually } from '../support/daemon-harness.js';
import { matchScript, startOllamaStandin } from '../support/ollama-standin.js';

const CLIENTS = 200;
const REQUESTS_PER_CLIENT = 50; // 10,000 per method
const TARGET_RSS_IDLE_MB = 150;
const TARGET_RSS_GROWTH_MB = 30;
const BUILD_TIMEOUT_MS = 300_000;
/** A daemon in use must give its memory back within two minutes of idle. */
const TARGET_RSS_AFTER_IDLE_MB = 150;
const IDLE_FIGURES_S = [30, 60, 120] as const;
/** When the fresh figure is taken: past the BTF cache's release (idleReleaseMs, 60 s by default). */
const FRESH_AFTER_BUILD_S = 75;

/** One JSON-RPC call on its own connection. */
function call(socket: string, method: string, params: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    c.on('connect', () => c.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`));
    c.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const msg = JSON.parse(buf.slice(0, nl)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== 1) {
        buf = buf.slice(nl + 1);
        return;
      }
      c.end();
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    });
    c.on('error', reject);
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** One client: a connection, `n` requests one after another; resolves with each latency. */
function client(socket: string, method: string, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const lat: number[] = [];
    let buf = '';
    let sent = 0;
    let t0 = 0;
    const next = (): void => {
      if (sent === n) {
        c.end();
        resolve(lat);
        return;
      }
      sent++;
      t0 = performance.now();
      c.write(`${JSON.stringify({ jsonrpc: '2.0', id: sent, method, params: {} })}\n`);
    };
    c.on('connect', next);
    c.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line) as { id?: number; error?: { message: string } };
        if (msg.error) {
          reject(new Error(`${method}: ${msg.error.message}`));
          c.destroy();
          return;
        }
        if (msg.id === sent) {
          lat.push(performance.now() - t0);
          next();
        }
      }
    });
    c.on('error', reject);
    c.on('close', () => {
      if (lat.length < n) reject(new Error(`${method}: connection closed after ${lat.length}/${n} answers (dropped)`));
    });
  });
}

async function load(socket: string, method: string): Promise<{ rps: number; p50: number; p99: number; answered: number; dropped: number }> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: CLIENTS }, () => client(socket, method, REQUESTS_PER_CLIENT)));
  const secs = (performance.now() - started) / 1000;
  const lat = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])).sort((a, b) => a - b);
  const dropped = results.filter((r) => r.status === 'rejected').length;
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? Number.NaN;
  return { rps: lat.length / secs, p50: pct(50), p99: pct(99), answered: lat.length, dropped };
}

const row = (name: string, value: string, target: string, ok: boolean): void => {
  process.stdout.write(`${name.padEnd(58)} ${value.padStart(14)}   target ${target.padEnd(14)} ${ok ? 'ok' : 'MISSED'}\n`);
};

/** What holds the memory: the process's RSS split by kind, and the mapped native libraries. */
function memoryBreakdown(pid: number): string {
  const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0);
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  const natives = [...new Set([...maps.matchAll(/\s(\S+\.node)$/gm)].map((m) => m[1]!.split('/').slice(-2).join('/')))];
  const mb = (k: string): string => (kb(k) / 1024).toFixed(0);
  return `anonymous ${mb('Pss_Anon')} MB, file-backed ${mb('Pss_File')} MB; native modules mapped: ${natives.join(', ') || 'none'}`;
}

/** RSS of `pid`'s child processes (the verifier, the LanceDB homes), summed, and how many. */
function childrenRssMb(pid: number): { mb: number; n: number } {
  let mb = 0;
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      mb += rssMb(Number(d));
      n++;
    } catch {
      // gone meanwhile
    }
  }
  return { mb, n };
}

const MODELS = ['qwen2.5-coder:7b', 'nomic-embed-text'];
const PROGRAM = `tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->newstate == 1/
{
  printf("connect %s port %d\\n", comm, args->dport);
}`;

/**
 * A daemon in use, then left alone: a verification, a hook search, an example search and a
 * request through the Ollama stand-in (synthesis, comprehension, verification, kernel check), then
 * RSS at 30, 60 and 120 s of idle under the default `idleReleaseMs` (60 s): the verifier and the
 * vector store live in child processes let go after that, so the daemon's figure must come down.
 */
async function inUseThenIdle(): Promise<void> {
  const fenced = (src: string): string => `\`\`\`bpftrace\n${src}\n\`\`\`\n`;
  const standin = await startOllamaStandin({
    chat: matchScript([
      { match: 'Write the program for the request.', response: fenced(PROGRAM) },
      // The comprehension adds the assertion the verifier proves (as test/daemon/pipeline/request-e2e.test.ts).
      { match: 'Return the candidate with assume/assert/cover inserted.', response: fenced(PROGRAM.replace(/\n}$/, '\n  assert(printed(1) == args->dport);\n}')) },
    ]),
    models: MODELS,
  });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host }, config: { contracts: { rebuildOnStart: true, watchPaths: [] } } });
  try {
    await d.start();
    const pid = d.proc.pid!;
    await eventually(async () => (await d.ctlJson<{ state: string }>(['contracts', 'status'])).state === 'ready', BUILD_TIMEOUT_MS, 'the kernel contracts built');
    // Just after the build the parsed BTF is still cached (released after idleReleaseMs, 60 s by
    // default): a figure. A fresh daemon is the one past that: the target.
    const builtAt = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const justBuilt = rssMb(pid);
    const justBuiltWhat = memoryBreakdown(pid);
    await new Promise((r) => setTimeout(r, Math.max(0, builtAt + FRESH_AFTER_BUILD_S * 1000 - Date.now())));
    const fresh = rssMb(pid);
    const freshWhat = memoryBreakdown(pid);
    let requestStatus = '';
    const steps: [string, () => Promise<unknown>][] = [
      ['verify', () => call(d.socket, 'verify.program', { source: PROGRAM })],
      ['contracts.search', () => call(d.socket, 'contracts.search', { text: 'tcp connect', k: 5 })],
      ['examples.search', () => call(d.socket, 'examples.search', { text: 'disk latency per device', k: 5 })],
      [
        'request',
        async () => {
          const r = await d.ctl(['request', '--json', 'show new TCP connections with the destination port'], { timeoutMs: 180_000 });
          const end = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string; status?: string }).at(-1);
          requestStatus = end?.event === 'end' ? String(end.status) : `no end line (exit ${r.exitCode}: ${r.stderr.slice(0, 200)})`;
        },
      ],
    ];
    const after: [string, number][] = [];
    for (const [name, fn] of steps) {
      await fn();
      await new Promise((r) => setTimeout(r, 1000));
      after.push([name, rssMb(pid)]);
    }
    const usedWhat = memoryBreakdown(pid);
    const kids = childrenRssMb(pid);
    const t0 = Date.now();
    const idle: [number, number, string][] = [];
    for (const s of IDLE_FIGURES_S) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + s * 1000 - Date.now())));
      const k = childrenRssMb(pid);
      idle.push([s, rssMb(pid), `${memoryBreakdown(pid)}; ${k.n} children, ${k.mb.toFixed(0)} MB`]);
    }
    process.stdout.write(`\nthird kgentd pid ${pid}: in use, then idle (idleReleaseMs default 60 s)\n`);
    row('RSS 5 s after the contracts build (BTF still cached)', `${justBuilt.toFixed(0)} MB`, '(figure)', true);
    process.stdout.write(`  ${justBuiltWhat}\n`);
    row(`RSS fresh (${FRESH_AFTER_BUILD_S} s after the build, nothing used)`, `${fresh.toFixed(0)} MB`, `< ${TARGET_RSS_IDLE_MB} MB`, fresh < TARGET_RSS_IDLE_MB);
    process.stdout.write(`  ${freshWhat}\n`);
    for (const [name, mb] of after) row(`RSS after ${name}`, `${mb.toFixed(0)} MB`, '(figure)', true);
    const used = after.at(-1)![1];
    row('RSS after verify + hook search + example search + request', `${used.toFixed(0)} MB`, '(figure)', true);
    process.stdout.write(`  ${usedWhat}\n  the request ended ${requestStatus}; ${kids.n} child processes of kgentd then held ${kids.mb.toFixed(0)} MB (verifier, LanceDB homes)\n`);
    for (const [s, mb, what] of idle) {
      const last = s === IDLE_FIGURES_S.at(-1);
      row(last ? `RSS ${s} s after (target < ${TARGET_RSS_AFTER_IDLE_MB} MB)` : `RSS ${s} s after`, `${mb.toFixed(0)} MB`, last ? `< ${TARGET_RSS_AFTER_IDLE_MB} MB` : '(figure)', !last || mb < TARGET_RSS_AFTER_IDLE_MB);
      process.stdout.write(`  ${what}\n`);
    }
  } finally {
    await d.cleanup();
    await standin.close();
  }
}

export async function run(): Promise<void> {
  if (process.env['KGENT_BENCH_SECTION'] === 'idle') return inUseThenIdle();
  const uid = process.getuid?.() ?? 0;
  const d = await createDaemon({
    config: uid === 0 ? {} : { policy: { maxConnectionsPerUid: CLIENTS, maxConnections: Math.max(256, CLIENTS) } },
  });
  try {
    await d.start();
    const pid = d.proc.pid!;
    // Idle: let start-up work (example library sync, first GC) settle.
    await new Promise((r) => setTimeout(r, 8000));
    const idle = rssMb(pid);
    const status = await load(d.socket, 'daemon.status');
    const list = await load(d.socket, 'programs.list');
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssMb(pid);
    // A second round of 20,000: memory must not keep growing with requests.
    await load(d.socket, 'daemon.status');
    await load(d.socket, 'programs.list');
    await new Promise((r) => setTimeout(r, 3000));
    const after2 = rssMb(pid);

    process.stdout.write(`kgentd pid ${pid}, ${CLIENTS} concurrent clients x ${REQUESTS_PER_CLIENT} requests per method\n`);
    for (const [name, r] of [
      ['daemon.status', status],
      ['programs.list', list],
    ] as const) {
      row(`${name} requests/s`, r.rps.toFixed(0), '(figure)', true);
      row(`${name} answered / dropped clients`, `${r.answered} / ${r.dropped}`, '10000 / 0', r.dropped === 0 && r.answered === CLIENTS * REQUESTS_PER_CLIENT);
      row(`${name} p50 latency`, `${r.p50.toFixed(1)} ms`, '(figure)', true);
      row(`${name} p99 latency`, `${r.p99.toFixed(1)} ms`, '(figure)', true);
    }
    row('RSS idle', `${idle.toFixed(0)} MB`, `< ${TARGET_RSS_IDLE_MB} MB`, idle < TARGET_RSS_IDLE_MB);
    row('RSS after 20,000 requests', `${after.toFixed(0)} MB`, `< idle + ${TARGET_RSS_GROWTH_MB}`, after - idle < TARGET_RSS_GROWTH_MB);
    row('RSS after 40,000 requests', `${after2.toFixed(0)} MB`, `< first + 10`, after2 - after < 10);
  } finally {
    await d.cleanup();
  }

  // A real host's first start: the kernel-contracts dataset is built (in a child process).
  const b = await createDaemon({ config: { contracts: { rebuildOnStart: true, watchPaths: [] } } });
  try {
    await b.start();
    const pid = b.proc.pid!;
    const t0 = Date.now();
    await waitFor('the contracts build', () => /kernel contracts rebuil(t|d failed)/.test(b.output()), BUILD_TIMEOUT_MS);
    const built = /"msg":"kernel contracts rebuilt"/.test(b.output());
    const buildSecs = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const afterBuild = rssMb(pid);
    await call(b.socket, 'examples.search', { text: 'disk latency per device', k: 5 });
    const hooks = built ? ((await call(b.socket, 'contracts.search', { text: 'tcp connect', k: 5 })) as { hits: unknown[] }).hits.length : 0;
    await new Promise((r) => setTimeout(r, 3000));
    const afterSearch = rssMb(pid);
    process.stdout.write(`\nsecond kgentd pid ${pid}: contracts ${built ? `built in ${buildSecs.toFixed(1)} s` : 'build FAILED'}; ${hooks} hook hits\n`);
    row('RSS idle after a contracts build', `${afterBuild.toFixed(0)} MB`, `< ${TARGET_RSS_IDLE_MB} MB`, built && afterBuild < TARGET_RSS_IDLE_MB);
    row('RSS after first example + hook search', `${afterSearch.toFixed(0)} MB`, '(figure)', true);
  } finally {
    await b.cleanup();
  }

  await inUseThenIdle();
}
