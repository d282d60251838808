/**
 * The whole loop on a newer bpftrace: the real kgentd whose config points `bpftracePath` at a
 * Debian root's bpftrace (0.23.2 from trixie, 0.27.1 from sid; test/dialects/README.md), the
 * Ollama stand-in as the only stand-in. A `request` is verified under that release's dialect (the
 * result and `show` name it), passes the kernel check on that bpftrace (`--dry-run`), is approved,
 * attaches, and its output reaches `kgentctl logs`. A root that is not built is skipped with why.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LogEntry, ProgramInfo } from '../../daemon/protocol/methods.js';
import type { RequestDetail } from '../../daemon/protocol/requests-api.js';
import { builtOrReason, createDaemon, eventually, type DaemonHandle } from '../support/daemon-harness.js';
import { startOllamaStandin, type StandinChatRequest } from '../support/ollama-standin.js';
import { probeBinaries } from '../dialects/binaries.js';

const COMPREHENSION = 'Return the candidate with assume/assert/cover inserted.';
const fenced = (src: string): string => `\`\`\`bpftrace\n${src}\n\`\`\`\n`;
const skip = process.getuid?.() !== 0 ? 'needs root (eBPF)' : builtOrReason();

function lastUser(r: StandinChatRequest): string {
  return [...r.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

/** What `kgentctl request --json` ends with: the `result` event (with the report) and the `end` event. */
function endOf(stdout: string): { requestId: number; status: string; programId?: number; report?: { verdict: string; dialect?: string } } {
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; requestId: number; status: string; programId?: number; report?: { verdict: string; dialect?: string } });
  const end = events.findLast((e) => e.event === 'end') ?? { requestId: 0, status: 'no end event' };
  const result = events.findLast((e) => e.event === 'result');
  return { ...end, ...(result?.report ? { report: result.report } : {}) };
}

async function logEntries(d: DaemonHandle, id: number): Promise<LogEntry[]> {
  const r = await d.ctl(['--json', 'logs', String(id), '-n', '500']);
  if (r.exitCode !== 0) throw new Error(`kgentctl logs exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry);
}

const ROOTS = probeBinaries().filter((p) => (p.ok ? p.bin.source : p.source) !== 'host');

for (const probe of ROOTS) {
  const source = probe.ok ? probe.bin.source : probe.source;
  const reason = skip ?? (probe.ok ? undefined : probe.reason);
  if (reason) t.comment(`skipped ${source}: ${reason}`);
  t.test(`request -> verify -> kernel check -> approve -> logs on ${probe.ok ? `bpftrace ${probe.bin.version}` : source}`, { skip: reason ?? false, timeout: 600_000 }, async (t) => {
    if (!probe.ok) return;
    const bin = probe.bin;
    const dialect = bin.version.split('.').slice(0, 2).join('.');
    const tag = `kgent-dialect-${randomBytes(4).toString('hex')}`;
    const target = path.join(tmpdir(), tag);
    t.teardown(() => rm(target, { force: true }));
    // `args->filename` reads on every release checked; str() of a path under the temp dir fits 0.23's 64 bytes.
    const program = `tracepoint:syscalls:sys_enter_openat /str(args->filename) == "${target}"/ {\n  printf("open %s\\n", str(args->filename));\n  @opens[comm] = count();\n}`;
    const annotated = `tracepoint:syscalls:sys_enter_openat /str(args->filename) == "${target}"/ {\n  printf("open %s\\n", str(args->filename));\n  @opens[comm] = count();\n  assert(mapkey(@opens, 0) == comm);\n}`;
    const standin = await startOllamaStandin({
      models: ['qwen2.5-coder:7b', 'nomic-embed-text'],
      chat: (req) => (lastUser(req).includes(COMPREHENSION) ? fenced(annotated) : fenced(program)),
    });
    t.teardown(() => standin.close());
    const d = await createDaemon({ config: { bpftracePath: bin.path }, env: { OLLAMA_HOST: standin.host } });
    t.teardown(() => d.cleanup());
    await d.start();

    const status = await d.ctl(['status']);
    t.match(status.stdout, new RegExp(`bpftrace:\\s+${bin.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ${bin.version.replace(/\./g, '\\.')}, dialect ${dialect.replace('.', '\\.')}`), `status names the binary and dialect: ${status.stdout}`);

    const r = await d.ctl(['request', '--json', `print each open of the file ${tag}`], { timeoutMs: 300_000 });
    const end = endOf(r.stdout);
    t.equal(end.status, 'verified', `verified: ${r.stderr} ${r.stdout.slice(-1500)}`);
    t.ok(end.programId, 'a program waits for approval');
    t.equal(end.report?.dialect, dialect, `the result names dialect ${dialect}`);

    const human = await d.ctl(['show', `R${end.requestId}`]);
    t.match(human.stdout, new RegExp(`bpftrace ${dialect.replace('.', '\\.')} rules`), `show names the dialect: ${human.stdout.slice(0, 1500)}`);
    const shown = await d.ctlJson<RequestDetail>(['show', `R${end.requestId}`]);
    const verifiedAttempt = shown.attempts.find((a) => a.outcome === 'verified');
    t.equal(verifiedAttempt?.report?.dialect, dialect, `the verified attempt's report names ${dialect}`);
    t.comment(`show: ${human.stdout.split('\n').filter((l) => /attempt|verif|dialect/.test(l)).join(' | ')}`);
    t.equal(verifiedAttempt?.kernelCheck?.ok, true, `kernel check passed: ${JSON.stringify(verifiedAttempt?.kernelCheck)}`);
    t.same((verifiedAttempt?.kernelCheck?.diagnostics ?? []).filter((x) => /available_filter_functions|RLIMIT|Attached|stdlib/.test(x.message)), [], 'no bpftrace noise among its diagnostics');

    const approve = await d.ctl(['approve', String(end.programId)]);
    t.equal(approve.exitCode, 0, `approved: ${approve.stdout} ${approve.stderr}`);
    t.match(approve.stdout, new RegExp(`bpftrace ${dialect.replace('.', '\\.')} rules`), 'approve shows the dialect it was verified under');
    const running = await eventually(async () => {
      const s = await d.ctlJson<{ program: ProgramInfo }>(['show', String(end.programId)]);
      return s.program.status === 'running' ? s.program : undefined;
    }, 60_000, 'program running');
    t.ok(running.pid, `bpftrace ${bin.version} runs as pid ${running.pid}`);

    const hits = await eventually(async () => {
      await (await open(target, 'a')).close();
      const entries = await logEntries(d, end.programId!);
      const h = entries.filter((e) => e.type === 'printf' && String(e.data).includes(target));
      return h.length >= 2 ? entries : undefined;
    }, 60_000, 'printf lines in the log');
    t.ok(hits.some((e) => e.type === 'attached_probes'), 'attach recorded');
    t.same(hits.filter((e) => e.type === 'text' && String(e.data) === ''), [], 'no bare empty lines taken for output');
    const logs = await d.ctl(['logs', String(end.programId)]);
    t.comment(`logs: ${logs.stdout.split('\n').slice(0, 6).join(' | ')}`);
    t.match(logs.stdout, new RegExp(`open ${target}`), 'kgentctl logs shows the output');

    const stop = await d.ctl(['stop', String(end.programId)]);
    t.equal(stop.exitCode, 0, stop.stderr);
    // At exit bpftrace prints its maps; 0.17 and 0.23 put bare empty lines around them with -f json.
    const after = await eventually(async () => {
      const entries = await logEntries(d, end.programId!);
      return entries.some((e) => e.type === 'map') ? entries : undefined;
    }, 30_000, 'the maps printed at exit');
    t.match(after.find((e) => e.type === 'map')?.data, { '@opens': {} }, 'the map reached the log');
    t.same(after.filter((e) => e.type === 'text' && String(e.data).trim() === ''), [], 'no bare empty lines taken for output');
  });
}
