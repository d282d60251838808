/**
 * kgentctl contracts status | rebuild | show HOOK | search TEXT  (all with --json)
 *
 * Argument parsing and rendering only; `call` sends one JSON-RPC request to kgentd (and passes
 * notifications, such as `contracts.progress`, to `onNotify`).
 */
import {
  ContractsProgress,
  ContractsRebuild,
  ContractsSearch,
  ContractsShow,
  ContractsStatus,
  isHookName,
  type Condition,
  type Contract,
  type ContractsSearchResult,
  type ContractsShowResult,
  type ContractsStatusResult,
  type MemberContract,
  type MethodSpec,
  type NotificationSpec,
  type RebuildProgress,
  type StructLayout,
  type ValueContract,
} from '../../daemon/protocol/index.js';
import type { CallOptions } from '../client.js';
import { parseCommandArgs } from '../args.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { clip, printJson, table, type CliIO } from '../io.js';

/** What the command needs of a connection to kgentd (a {@link KgentClient}, or a test's stand-in). */
export interface ContractsClient {
  call<P, R>(spec: MethodSpec<P, R>, params: P, opts?: CallOptions): Promise<R>;
  onNotification<P>(spec: NotificationSpec<P>, fn: (params: P) => void): () => void;
  close?(): void;
}

export const CONTRACTS_HELP = `kgentctl contracts — kernel contracts of the running kernel

Usage:
  kgentctl contracts status [--json]
  kgentctl contracts rebuild [--if-changed] [--no-wait] [--json]
  kgentctl contracts show HOOK [--enrich] [--json]
  kgentctl contracts search TEXT... [-k N] [--kind function|tracepoint] [--attachable] [--json]

HOOK is one of:
  tracepoint:CATEGORY:EVENT          e.g. tracepoint:sock:inet_sock_set_state
  kprobe:FN  kretprobe:FN  kfunc:FN  kretfunc:FN  (or a bare FN)
                                     shown even where that probe type is unavailable, with why
  struct:NAME:MEMBER.PATH            a struct member through nested members,
                                     e.g. struct:sock:__sk_common.skc_dport; struct:NAME for the layout
`;

/** Runs `kgentctl contracts ...`; returns the exit status. Connects (with `connect`) only once the arguments are valid. */
export async function contractsCommand(argv: readonly string[], io: CliIO, connect: () => Promise<ContractsClient>): Promise<number> {
  const parsed = parseCommandArgs([...argv], {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    enrich: { type: 'boolean', default: false },
    'if-changed': { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    k: { type: 'string', short: 'k' },
    kind: { type: 'string' },
    attachable: { type: 'boolean', default: false },
  } as const, 'contracts');

  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help || !sub) {
    (values.help ? io.stdout : io.stderr).write(CONTRACTS_HELP);
    return values.help ? ExitCode.Ok : ExitCode.Usage;
  }
  const json = values.json;
  let client: ContractsClient | undefined;
  const open = async (): Promise<ContractsClient> => (client ??= await connect());
  try {
    return await run();
  } finally {
    client?.close?.();
  }

  async function run(): Promise<number> {
    switch (sub) {
      case 'status': {
        const r = await (await open()).call(ContractsStatus, {});
        if (json) printJson(io, r);
        else io.stdout.write(renderStatus(r));
        return r.state === 'empty' ? ExitCode.Failed : ExitCode.Ok;
      }
      case 'rebuild': {
        const t0 = Date.now();
        const c = await open();
        c.onNotification(ContractsProgress, (p) => io.stderr.write(json ? `${JSON.stringify(p)}\n` : `${renderProgress(p)}\n`));
        // A rebuild the user waits for takes minutes and shows its progress: no time limit.
        const r = await c.call(ContractsRebuild, { force: !values['if-changed'], wait: !values['no-wait'] }, values['no-wait'] ? {} : { timeoutMs: null });
        if (json) printJson(io, r);
        else {
          const s = r.status;
          if (values['no-wait']) io.stdout.write(`rebuild started; follow it with: kgentctl contracts status\n`);
          else if (!r.started && values['if-changed']) io.stdout.write(`contracts already match the running kernel (${s.running.release}); nothing to do\n`);
          else io.stdout.write(`rebuilt in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${s.counts.functions} functions, ${s.counts.tracepoints} tracepoints (generation ${r.generation ?? s.generation})\n`);
        }
        return ExitCode.Ok;
      }
      case 'show': {
        const hook = rest[0];
        if (!hook || rest.length > 1) throw new CliError(ExitCode.Usage, 'kgentctl contracts show: give exactly one HOOK (see kgentctl contracts --help)');
        if (!isHookName(hook)) throw new CliError(ExitCode.Usage, `kgentctl contracts show: "${hook}" is not a hook name; use tracepoint:CAT:EVENT, kprobe:FN or struct:NAME:MEMBER.PATH`);
        // Enrichment asks the LLM (several attempts of up to two minutes each).
        const r = await (await open()).call(ContractsShow, { hook, ...(values.enrich ? { enrich: true } : {}) }, values.enrich ? { timeoutMs: 10 * 60_000 } : {});
        if (json) printJson(io, r);
        else io.stdout.write(renderShow(r));
        return ExitCode.Ok;
      }
      case 'search': {
        const text = rest.join(' ').trim();
        if (!text) throw new CliError(ExitCode.Usage, 'kgentctl contracts search: missing TEXT');
        const k = values.k === undefined ? 10 : Number(values.k);
        if (!Number.isSafeInteger(k) || k < 1 || k > 100) throw new CliError(ExitCode.Usage, `kgentctl contracts search: -k wants 1..100, got "${values.k}"`);
        if (values.kind !== undefined && values.kind !== 'function' && values.kind !== 'tracepoint') {
          throw new CliError(ExitCode.Usage, `kgentctl contracts search: --kind is function or tracepoint, got "${values.kind}"`);
        }
        const r = await (await open()).call(ContractsSearch, { text, k, ...(values.kind ? { kind: values.kind } : {}), ...(values.attachable ? { attachable: true } : {}) });
        if (json) printJson(io, r);
        else io.stdout.write(renderSearch(r));
        return r.hits.length ? ExitCode.Ok : ExitCode.NotFound;
      }
      default:
        throw new CliError(ExitCode.Usage, `kgentctl contracts: unknown subcommand "${sub}" (status, rebuild, show, search)`);
    }
  }
}

function ago(seconds: number): string {
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function renderProgress(p: RebuildProgress): string {
  const frac = p.total > 0 ? ` ${p.done}/${p.total}` : '';
  return `[${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s] ${p.phase}${frac}: ${p.message}`;
}

export function renderStatus(s: ContractsStatusResult): string {
  const lines: string[] = [];
  const stateText = {
    empty: 'empty (no dataset yet; run: kgentctl contracts rebuild)',
    building: 'building (first build)',
    ready: 'ready',
    stale: 'stale (built for another kernel; a rebuild is due or running)',
  }[s.state];
  lines.push(`kernel contracts: ${stateText}`);
  const rows: string[][] = [];
  rows.push(['running kernel', `${s.running.release}  (identity ${s.running.key}${s.running.buildId ? `, build id ${s.running.buildId.slice(0, 16)}` : ''})`]);
  if (s.dataset) {
    rows.push([
      'dataset',
      `generation ${s.generation} for ${s.dataset.key}${s.builtAt ? `, built ${s.builtAt} (${ago(s.ageSeconds ?? 0)})` : ''}${s.buildMs !== undefined ? ` in ${(s.buildMs / 1000).toFixed(1)} s` : ''}`,
    ]);
  }
  rows.push(['contracts', `${s.counts.functions} functions (kprobe/kretprobe/kfunc/kretfunc), ${s.counts.tracepoints} tracepoints, ${s.counts.structs} structs/unions`]);
  rows.push([
    'source',
    s.source.root ? `${s.source.root}: ${s.source.documented} functions documented (${(s.source.coverage * 100).toFixed(1)}% coverage)` : 'no kernel source tree (docs come from the LLM on first use)',
  ]);
  const on = s.probeTypes.filter((p) => p.available).map((p) => p.probe);
  rows.push(['probe types', `available: ${on.join(', ') || 'none'}`]);
  for (const p of s.probeTypes.filter((x) => !x.available && ['kprobe', 'kretprobe', 'kfunc', 'kretfunc', 'tracepoint'].includes(x.probe))) {
    rows.push(['', `${p.probe}: unavailable — ${p.reason ?? ''}`]);
  }
  rows.push(['search', s.search.fullText ? `full-text${s.search.vectors ? ' + vectors (hybrid)' : ''}` : 'no index yet']);
  rows.push(['enrichment', s.enrichment.configured ? `model ${s.enrichment.model}, ${s.enrichment.cached} hook(s) enriched for this kernel` : 'not configured (no Ollama chat model)']);
  if (s.rebuilding) rows.push(['rebuilding', renderProgress(s.rebuilding)]);
  if (s.lastError) rows.push(['last error', s.lastError]);
  lines.push(
    table(rows)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  return `${lines.join('\n')}\n`;
}

function valueRows(vs: readonly ValueContract[], withOffset: boolean): string[][] {
  const rows: string[][] = [['NAME', 'TYPE', 'BITS', 'SIGN', 'BYTE ORDER', ...(withOffset ? ['OFFSET'] : []), 'NOTES', 'READ AS']];
  for (const v of vs) {
    const notes: string[] = [];
    if (v.kind === 'pointer') notes.push(v.nullable === false ? 'never NULL' : 'may be NULL');
    if (v.arrayLength !== undefined) notes.push(`array[${v.arrayLength ?? '?'}]`);
    if (v.dataLoc) notes.push('string (data_loc)');
    if (v.enum) notes.push(`${v.enum.flags ? 'flags' : 'one of'} ${v.enum.values.length > 6 ? `${v.enum.values.slice(0, 6).map((e) => e.name).join(',')},…` : v.enum.values.map((e) => `${e.name}=${e.value}`).join(',')}`);
    rows.push([
      v.name,
      v.type,
      String(v.bits),
      v.kind === 'pointer' ? '-' : v.signed ? 'signed' : 'unsigned',
      v.byteOrder === 'big' ? 'BIG (network)' : v.byteOrder === 'little' ? 'little' : 'host',
      ...(withOffset ? [v.offset === undefined ? '-' : String(v.offset)] : []),
      notes.join('; ') || '-',
      [...new Set(Object.values(v.access ?? {}))].join(' | ') || '-',
    ]);
  }
  return rows;
}

function renderConditions(cs: readonly Condition[]): string[] {
  if (!cs.length) return ['  (none)'];
  return cs.map((c) => `  ${c.kind.padEnd(4)} [${c.source}] ${c.text}${c.note ? `   -- ${c.note}` : ''}`);
}

function renderContract(c: Contract): string[] {
  const out: string[] = [];
  if (c.kind === 'function') {
    out.push(`function ${c.name}  (${c.module}, ${c.linkage})`);
    out.push(`  ${c.prototype}`);
  } else {
    out.push(`tracepoint ${c.category}:${c.event}`);
  }
  if (c.doc) {
    out.push(`  doc (${c.doc.source}${c.doc.file ? ` ${c.doc.file}:${c.doc.line}` : ''}): ${c.doc.summary}`);
    if (c.doc.context) out.push(`  context: ${c.doc.context}`);
    if (c.doc.returns) out.push(`  returns: ${c.doc.returns}`);
  }
  out.push('');
  out.push(c.kind === 'function' ? 'arguments:' : 'fields (args->NAME):');
  const vals = c.kind === 'function' ? c.args : c.fields;
  if (vals.length) out.push(...table(valueRows(vals, c.kind === 'tracepoint')).split('\n').map((l) => `  ${l}`));
  else out.push('  (none)');
  if (c.kind === 'function') out.push(`return: ${c.ret ? `${c.ret.type} (${c.ret.bits}-bit ${c.ret.signed ? 'signed' : 'unsigned'}), read as retval in kretprobe/kretfunc` : 'void'}`);
  out.push('');
  out.push('probes on this kernel:');
  for (const p of c.probes) out.push(`  ${p.probe.padEnd(13)} ${p.available ? 'available' : `UNAVAILABLE — ${p.reason ?? ''}`}`);
  out.push('');
  out.push('conditions:');
  out.push(...renderConditions(c.conditions));
  if (c.enrichment) out.push(`  (LLM conditions from ${c.enrichment.model}, ${c.enrichment.at}, ${c.enrichment.attempts} attempt(s))`);
  return out;
}

function renderMember(m: MemberContract): string[] {
  const v = m.value;
  const rows: string[][] = [
    ['type', v.type],
    ['width', `${v.bits} bits, ${v.kind === 'pointer' ? 'pointer' : v.signed ? 'signed' : 'unsigned'}`],
    ['byte order', v.byteOrder === 'big' ? 'big-endian (network order: convert with bswap() before using it as a number)' : v.byteOrder === 'little' ? 'little-endian' : 'host (little-endian here)'],
    ['offset', `${m.offset} bytes (bit ${m.bitOffset}) from the start of ${m.struct}${v.bitSize ? `, bitfield of ${v.bitSize} bits` : ''}`],
    ['size', `${v.size ?? '?'} bytes`],
  ];
  if (v.kind === 'pointer') rows.push(['nullable', v.nullable === false ? 'never NULL' : 'may be NULL', ...(v.pointee ? [] : [])]);
  if (v.enum) rows.push(['domain', v.enum.values.map((e) => `${e.name}=${e.value}`).join(', ')]);
  return [
    `${m.id}`,
    ...table(rows)
      .split('\n')
      .map((l) => `  ${l}`),
    '',
    'conditions:',
    ...renderConditions(m.conditions),
  ];
}

function renderLayout(l: StructLayout): string[] {
  const out = [`${l.kind} ${l.name}  (${l.size} bytes, ${l.module})`];
  const rows: string[][] = [['OFFSET', 'BITS', 'MEMBER', 'TYPE', 'ORDER']];
  const walk = (ms: StructLayout['members'], indent: string): void => {
    for (const m of ms) {
      rows.push([`${Math.floor(m.bitOffset / 8)}${m.bitOffset % 8 ? `:${m.bitOffset % 8}` : ''}`, String(m.bitSize ?? m.size * 8), `${indent}${m.name || '(anonymous)'}`, m.type, m.byteOrder === 'big' ? 'BIG' : m.byteOrder]);
      if (m.inline) walk(m.inline, `${indent}  `);
    }
  };
  walk(l.members, '');
  out.push(...table(rows).split('\n').map((x) => `  ${x}`));
  return out;
}

export function renderShow(r: ContractsShowResult): string {
  const out: string[] = [];
  if (r.kind === 'contract') {
    if (r.probe) out.push(`${r.hook}: ${r.available ? `${r.probe} can attach on this kernel` : `${r.probe} is NOT available on this kernel — ${r.reason ?? 'unavailable'}; the function's contract follows`}`);
    else out.push(`${r.hook}${r.available ? '' : ` — ${r.reason ?? 'not attachable on this kernel'}`}`);
    out.push('');
    out.push(...renderContract(r.contract));
  } else if (r.kind === 'member') out.push(...renderMember(r.member));
  else out.push(...renderLayout(r.layout));
  out.push('', `(kernel ${r.kernel})`);
  return `${out.join('\n')}\n`;
}

export function renderSearch(r: ContractsSearchResult): string {
  if (!r.hits.length) return 'no matching hooks on this kernel\n';
  const rows: string[][] = [['SCORE', 'HOOK', 'ATTACH HERE AS', 'WHY', 'SUMMARY']];
  for (const h of r.hits) {
    // `tracepoint` alone says nothing about the request: left out of the WHY column.
    const why = (h.why ?? []).filter((w) => w !== 'tracepoint').join(',') || '-';
    rows.push([h.score.toFixed(2), h.id, h.probes.join(' ') || `(none: ${clip(h.unavailable[0]?.reason ?? 'unavailable', 40)})`, why, clip(h.summary, 60)]);
  }
  return `${table(rows)}\n(${r.mode} search)\n`;
}
