/**
 * Difftest class `events`: programs with several probes, compared with the verifier's map-state
 * model (daemon/verifier/symbolic/map-state.ts, executor.ts, probe-overlap.ts). A case has a
 * `BEGIN` (constants, arithmetic, several keys, conditional writes), two to four probes on the
 * events one `getppid()` call of the runner makes, in this order: `uprobe` on libc's getppid, the
 * `sys_enter_getppid` and `sys_exit_getppid` tracepoints, the `uretprobe` (the same event may be
 * listed by several probes: they run in program order), and an `END`. Maps are flags written
 * with constants, counters only incremented, clocks, keyed maps (under BPFTRACE_MAP_KEYS_MAX=4 in
 * 40% of the cases, so that BEGIN and the probes overfill them), maps only END writes, and maps
 * never written (bpftrace 0.17 refuses them: "Undefined map"; kgent must refuse them too).
 *
 * Concrete mode runs one probe, so the check is the verifier's: for each value bpftrace printed,
 * kgent's verifier (given the same key limit) must not prove `printed(J) != VALUE` (soundness);
 * where the model is exact — maps only BEGIN writes (or only END), scalars the probe itself
 * stored unconditionally — it must also PROVE `printed(J) == VALUE` (precision).
 * A few cases list an event in two probes through an attach-point list or a wildcard, which
 * bpftrace 0.17 runs wrongly: kgent must refuse them (`symbolic.probes-share-event`,
 * verdict `refused-kgent`); they run alone in a bpftrace process, as they disturb other probes.
 */
import { bpftraceTarget, newerDialect } from './target.js';
import { EMPTY_CONTRACTS } from '../../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';
import type { BpfOutcome } from './bpftrace-run.js';
import type { CaseResult, Mismatch } from './differential.js';
import { type Ctx, type GenClass, literal, type Node, type PrintArg } from './generator.js';
import type { RunEnv } from './program.js';

/** The events of one getppid() call, in the order they happen. */
export type EventKind = 'uprobe' | 'enter' | 'exit' | 'uretprobe';
const EVENTS: readonly EventKind[] = ['uprobe', 'enter', 'exit', 'uretprobe'];

export interface EventProbe {
  /** Its event; `list` and `wild` name getppid through a list (with getpid) or a wildcard. */
  readonly on: EventKind | 'list' | 'wild';
  /** Extra predicate (the runner adds `pid == PID`). */
  readonly pred?: string;
  readonly body: readonly Node[];
}

export interface EventsSpec {
  readonly flavor: string;
  readonly begin: readonly string[];
  readonly probes: readonly EventProbe[];
  readonly end: readonly string[];
  /** BPFTRACE_MAP_KEYS_MAX of the bpftrace process, and the verifier's `maxMapKeys`. */
  readonly mapKeysMax?: number;
  /** Printed arguments (`k.j`) whose value the model knows exactly: the verifier must prove it. */
  readonly exact: readonly string[];
  /** How the runner batches it: with others, with other refusals, or alone (overlap forms). */
  readonly group: 'run' | 'refused' | 'alone';
}

// ---------------------------------------------------------------------------------------------
// A small IR, rendered to bpftrace text and analysed for exactness.

type V =
  | { readonly t: 'c'; readonly v: bigint }
  | { readonly t: 'm'; readonly m: string; readonly k?: bigint }
  | { readonly t: 'bin'; readonly op: string; readonly l: V; readonly r: V }
  | { readonly t: 'clock' };
type S =
  | { readonly t: 'set'; readonly m: string; readonly k?: bigint; readonly op: '=' | '+=' | '++' | '--'; readonly v?: V }
  | { readonly t: 'if'; readonly c: V; readonly then: readonly S[]; readonly else?: readonly S[] }
  | { readonly t: 'print'; readonly k: number; readonly args: readonly V[] }
  | { readonly t: 'del'; readonly m: string; readonly k: bigint };

const target = (m: string, k?: bigint): string => (k === undefined ? m : `${m}[${k}]`);

function showV(v: V): string {
  switch (v.t) {
    case 'c':
      return literal(v.v);
    case 'm':
      return target(v.m, v.k);
    case 'bin':
      return `(${showV(v.l)} ${v.op} ${showV(v.r)})`;
    case 'clock':
      return 'nsecs';
  }
}

function showS(s: S): string {
  switch (s.t) {
    case 'set':
      return s.op === '++' || s.op === '--' ? `${target(s.m, s.k)}${s.op};` : `${target(s.m, s.k)} ${s.op} ${showV(s.v as V)};`;
    case 'del':
      return `delete(${s.m}[${s.k}]);`;
    case 'if':
      return `if ${showV(s.c)} { ${s.then.map(showS).join(' ')} }${s.else ? ` else { ${s.else.map(showS).join(' ')} }` : ''}`;
    case 'print':
      return '';
  }
}

function toNodes(ss: readonly S[]): Node[] {
  return ss.map((s): Node => {
    if (s.t === 'print') return { t: 'print', k: s.k, args: s.args.map((a): PrintArg => ({ expr: showV(a), kind: 'int', conv: '%lld' })) };
    if (s.t === 'if') return { t: 'if', cond: showV(s.c), then: toNodes(s.then), ...(s.else ? { else: toNodes(s.else) } : {}) };
    return { t: 'stmt', text: showS(s) };
  });
}

function mapsRead(v: V, out: Set<string>): void {
  if (v.t === 'm') out.add(v.m);
  else if (v.t === 'bin') {
    mapsRead(v.l, out);
    mapsRead(v.r, out);
  }
}

function walkS(ss: readonly S[], f: (s: S) => void): void {
  for (const s of ss) {
    f(s);
    if (s.t === 'if') {
      walkS(s.then, f);
      if (s.else) walkS(s.else, f);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Exactness: where the verifier's model knows the printed value.

/**
 * The print arguments whose value the model determines: reads of maps no probe writes (BEGIN's
 * exact final state, with its clock-free values; 0 for maps only END writes), and of scalar maps
 * the probe itself stored unconditionally from known values (not an earlier probe of the same
 * event: it may have been skipped). Keyed maps a probe writes are never exact: their key count
 * before the event is unknown, so a store may have been dropped.
 */
function exactArgs(begin: readonly S[], probes: readonly { on: EventProbe['on']; pred?: string; body: readonly S[] }[]): string[] {
  const probeWritten = new Set<string>();
  for (const p of probes) walkS(p.body, (s) => (s.t === 'set' || s.t === 'del' ? probeWritten.add(s.m) : undefined));
  // BEGIN maps whose value depends on a clock (or a condition on one) are not exact.
  const beginUnknown = new Set<string>();
  const vKnownBegin = (v: V): boolean => (v.t === 'clock' ? false : v.t === 'm' ? !beginUnknown.has(v.m) : v.t === 'bin' ? vKnownBegin(v.l) && vKnownBegin(v.r) : true);
  const beginPass = (ss: readonly S[], tainted: boolean): void => {
    for (const s of ss) {
      if (s.t === 'set' && (tainted || (s.v && !vKnownBegin(s.v)))) beginUnknown.add(s.m);
      if (s.t === 'if') {
        const t = tainted || !vKnownBegin(s.c);
        beginPass(s.then, t);
        if (s.else) beginPass(s.else, t);
      }
    }
  };
  beginPass(begin, false);
  const out: string[] = [];
  const perEvent = new Map<string, Map<string, boolean>>();
  for (const p of probes) {
    let known = perEvent.get(p.on);
    if (!known) perEvent.set(p.on, (known = new Map()));
    const isKnown = (v: V, k: Map<string, boolean>): boolean => {
      if (v.t === 'clock') return false;
      if (v.t === 'c') return true;
      if (v.t === 'bin') return isKnown(v.l, k) && isKnown(v.r, k);
      if (!probeWritten.has(v.m)) return !beginUnknown.has(v.m);
      return v.k === undefined && k.get(v.m) === true;
    };
    const block = (ss: readonly S[], k: Map<string, boolean>): void => {
      for (const s of ss) {
        if (s.t === 'print') s.args.forEach((a, j) => (isKnown(a, k) ? out.push(`${s.k}.${j}`) : undefined));
        else if (s.t === 'set') {
          if (s.k !== undefined) continue;
          const cur = k.get(s.m) === true;
          if (s.op === '=') k.set(s.m, isKnown(s.v as V, k));
          else if (s.op === '+=') k.set(s.m, cur && isKnown(s.v as V, k));
          else k.set(s.m, cur);
        } else if (s.t === 'if') {
          const a = new Map(k);
          const b = new Map(k);
          block(s.then, a);
          if (s.else) block(s.else, b);
          // After a branch, what either side wrote is no longer known.
          walkS([s], (x) => (x.t === 'set' ? k.set(x.m, false) : undefined));
        }
      }
    };
    // A later probe of the same event may run without this one (the kernel may skip a program;
    // seed 41 cases 874, 1334): its prints see the state it found, its writes are unknown after.
    block(p.body, new Map(known));
    walkS(p.body, (x) => (x.t === 'set' ? known.set(x.m, false) : undefined));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The generator.

const SMALL = [0n, 1n, 2n, 3n, 5n, 7n, 10n, 42n, 100n, 255n, 1000n, 65536n, -1n, -2n, -100n, 0x7fffffffn, (1n << 63n) - 1n, -(1n << 63n)];
const FLAVORS: readonly (readonly [string, number])[] = [
  ['begin', 3],
  ['end-only', 1.5],
  ['probe-writes', 3],
  ['same-event', 3],
  ['full', 3],
  ['undefined', 0.7],
  ['overlap', 0.35],
];

interface Maps {
  readonly scalars: string[];
  readonly keyed: string[];
  /** Keys used per keyed map. */
  readonly keys: Map<string, bigint[]>;
}

function pickFlavor(c: Ctx): string {
  const total = FLAVORS.reduce((s, [, w]) => s + w, 0);
  let x = c.r.below(Math.round(total * 100)) / 100;
  for (const [f, w] of FLAVORS) {
    x -= w;
    if (x < 0) return f;
  }
  return 'begin';
}

export const EVENTS_CLASSES: Record<string, GenClass> = {
  events: {
    weight: 3,
    optIn: true,
    gen: (c) => {
      c.events = generateEvents(c);
      return [];
    },
  },
};

function generateEvents(c: Ctx): EventsSpec {
  const r = c.r;
  const flavor = pickFlavor(c);
  const p = `@e${c.id}_`;
  const maps: Maps = { scalars: [], keyed: [], keys: new Map() };
  const nS = 1 + r.below(3);
  const nK = flavor === 'full' ? 1 + r.below(2) : r.below(2);
  for (let i = 0; i < nS; i++) maps.scalars.push(`${p}s${i}`);
  for (let i = 0; i < nK; i++) {
    maps.keyed.push(`${p}k${i}`);
    const n = flavor === 'full' ? 3 + r.below(5) : 1 + r.below(4);
    const ks: bigint[] = [];
    for (let j = 0; j < n; j++) ks.push(BigInt(1 + j * (1 + r.below(3))));
    maps.keys.set(`${p}k${i}`, ks);
  }
  const mapKeysMax = flavor === 'full' || r.chance(0.35) ? 4 : undefined;
  const konst = (): V => ({ t: 'c', v: r.pick(SMALL) });
  const small = (): V => ({ t: 'c', v: BigInt(r.below(12)) });
  const keyOf = (m: string): bigint => (r.chance(0.85) ? r.pick(maps.keys.get(m) ?? [1n]) : BigInt(50 + r.below(5)));
  const anyRead = (): V => {
    if (maps.keyed.length > 0 && r.chance(0.45)) {
      const m = r.pick(maps.keyed);
      return { t: 'm', m, k: keyOf(m) };
    }
    return { t: 'm', m: r.pick(maps.scalars) };
  };

  // BEGIN: several keys, constants, arithmetic over what it already wrote, conditional writes.
  const begin: S[] = [];
  const beginWritten: V[] = [];
  const beginValue = (): V => {
    if (beginWritten.length > 0 && r.chance(0.4)) return { t: 'bin', op: r.pick(['+', '-', '*']), l: r.pick(beginWritten), r: r.chance(0.5) ? small() : r.pick(beginWritten) };
    if (r.chance(0.05)) return { t: 'clock' };
    return konst();
  };
  const writeBegin = (m: string, k?: bigint): void => {
    const s: S = { t: 'set', m, ...(k !== undefined ? { k } : {}), op: '=', v: beginValue() };
    if (beginWritten.length > 0 && r.chance(0.25)) {
      const alt: S = { t: 'set', m, ...(k !== undefined ? { k } : {}), op: '=', v: konst() };
      begin.push({ t: 'if', c: { t: 'bin', op: r.pick(['>', '==', '<', '!=']), l: r.pick(beginWritten), r: small() }, then: [s], ...(r.chance(0.5) ? { else: [alt] } : {}) });
    } else begin.push(s);
    beginWritten.push({ t: 'm', m, ...(k !== undefined ? { k } : {}) });
  };
  const inBegin = flavor === 'end-only' ? 0.3 : flavor === 'probe-writes' || flavor === 'same-event' ? 0.5 : 0.9;
  for (const m of maps.scalars) if (r.chance(inBegin)) writeBegin(m);
  for (const m of maps.keyed) {
    if (!r.chance(flavor === 'full' ? 0.9 : inBegin)) continue;
    for (const k of maps.keys.get(m) ?? []) if (r.chance(0.85)) writeBegin(m, k);
    if (r.chance(0.25)) begin.push({ t: 'del', m, k: r.pick(maps.keys.get(m) ?? [1n]) });
    if (flavor === 'full' && r.chance(0.5)) writeBegin(m, BigInt(40 + r.below(3)));
  }

  // Probes.
  const nProbes = 2 + r.below(3);
  const probes: { on: EventProbe['on']; pred?: string; body: S[] }[] = [];
  const sameEvent = r.pick(EVENTS);
  let nextPrint = 0;
  const print = (n: number): S => ({ t: 'print', k: nextPrint++, args: Array.from({ length: n }, () => (r.chance(0.15) ? { t: 'bin', op: r.pick(['+', '-', '>', '==']), l: anyRead(), r: r.chance(0.5) ? small() : anyRead() } : anyRead())) });
  const probeWrite = (): S => {
    const keyed = maps.keyed.length > 0 && r.chance(flavor === 'full' ? 0.7 : 0.3);
    const m = keyed ? r.pick(maps.keyed) : r.pick(maps.scalars);
    const k = keyed ? (r.chance(0.5) ? BigInt(20 + r.below(8)) : keyOf(m)) : undefined;
    const base = { m, ...(k !== undefined ? { k } : {}) };
    const x = r.below(10);
    // Flags (constants 0/1/k), counters (++, += c, = self + c), clocks, a delete, rarely anything.
    if (x < 3) return { t: 'set', ...base, op: '=', v: { t: 'c', v: r.pick([0n, 1n, 1n, 5n]) } };
    if (x < 5) return { t: 'set', ...base, op: '++' };
    if (x === 5) return { t: 'set', ...base, op: '+=', v: { t: 'c', v: r.pick([1n, 2n, 10n]) } };
    if (x === 6) return { t: 'set', ...base, op: '=', v: { t: 'bin', op: '+', l: { t: 'm', ...base }, r: { t: 'c', v: r.pick([1n, 3n]) } } };
    if (x === 7 && k !== undefined) return { t: 'del', m, k };
    if (x === 7) return { t: 'set', ...base, op: '=', v: { t: 'clock' } };
    if (x === 8) return { t: 'set', ...base, op: r.chance(0.3) ? '--' : '=', v: anyRead() };
    return { t: 'set', ...base, op: '=', v: konst() };
  };
  const writesProbes = flavor === 'begin' || flavor === 'end-only' ? 0.12 : 0.75;
  for (let i = 0; i < nProbes; i++) {
    let on: EventProbe['on'] = flavor === 'same-event' && i < 2 ? sameEvent : r.chance(0.35) ? sameEvent : r.pick(EVENTS);
    if (flavor === 'overlap' && i === 1) on = r.pick(['list', 'wild'] as const);
    if (flavor === 'overlap' && i !== 1 && r.chance(0.6)) on = 'uprobe';
    const body: S[] = [];
    for (let n = r.below(3) + (i < nProbes - 1 ? 1 : 0); n > 0; n--) if (r.chance(writesProbes)) body.push(probeWrite());
    if (r.chance(0.2)) {
      const cond: V = { t: 'bin', op: r.pick(['>', '==', '!=']), l: anyRead(), r: small() };
      body.push({ t: 'if', c: cond, then: [r.chance(0.5) ? probeWrite() : print(1)], ...(r.chance(0.5) ? { else: [print(1)] } : {}) });
    }
    if (r.chance(0.2)) body.push({ t: 'print', k: nextPrint++, args: [{ t: 'bin', op: '>=', l: { t: 'clock' }, r: anyRead() }] });
    if (i === nProbes - 1 || r.chance(0.6)) body.push(print(1 + r.below(3)));
    if (r.chance(0.3)) body.push(probeWrite(), print(1));
    const pred = r.chance(0.15) ? `${showV(anyRead())} ${r.pick(['>=', '==', '!='])} ${r.below(3)}` : undefined;
    probes.push({ on, ...(pred !== undefined ? { pred } : {}), body });
  }

  // END: writes some maps (invisible to the probes); makes every map read somewhere defined,
  // except in `undefined`, where one map is only read (or only deleted): bpftrace 0.17 refuses it.
  const end: S[] = [];
  const written = new Set<string>();
  const read = new Set<string>();
  for (const s of [...begin, ...probes.flatMap((x) => x.body)]) {
    walkS([s], (x) => {
      if (x.t === 'set') written.add(x.m);
      if (x.t === 'set' && x.v) mapsRead(x.v, read);
      if (x.t === 'if') mapsRead(x.c, read);
      if (x.t === 'print') x.args.forEach((a) => mapsRead(a, read));
    });
  }
  for (const x of probes) if (x.pred) for (const m of [...maps.scalars, ...maps.keyed]) if (x.pred.includes(`${m}`)) read.add(m);
  const endOnly = flavor === 'end-only' ? 0.9 : 0.2;
  for (const m of [...maps.scalars, ...maps.keyed]) {
    const keyed = maps.keys.has(m);
    if (r.chance(endOnly) || (!written.has(m) && read.has(m))) end.push({ t: 'set', m, ...(keyed ? { k: keyOf(m) } : {}), op: '=', v: konst() });
  }
  let group: EventsSpec['group'] = flavor === 'overlap' ? 'alone' : 'run';
  if (flavor === 'undefined') {
    group = 'refused';
    const u = `${p}u`;
    const last = probes[probes.length - 1] as (typeof probes)[number];
    if (r.chance(0.3)) last.body.unshift({ t: 'del', m: u, k: 1n });
    last.body.push({ t: 'print', k: nextPrint++, args: [{ t: 'm', m: u, k: 1n }] });
  }
  const exact = exactArgs(begin, probes);
  return {
    flavor,
    begin: begin.map(showS),
    probes: probes.map((x) => ({ on: x.on, ...(x.pred !== undefined ? { pred: x.pred } : {}), body: toNodes(x.body) })),
    end: end.map(showS),
    ...(mapKeysMax !== undefined ? { mapKeysMax } : {}),
    exact,
    group,
  };
}

// ---------------------------------------------------------------------------------------------
// Program text.

/** The attach point(s) of a probe on this host. */
export function attachText(on: EventProbe['on'], env: RunEnv): string {
  switch (on) {
    case 'uprobe':
      return `uprobe:${env.libc}:getppid`;
    case 'enter':
      return 'tracepoint:syscalls:sys_enter_getppid';
    case 'exit':
      return 'tracepoint:syscalls:sys_exit_getppid';
    case 'uretprobe':
      return `uretprobe:${env.libc}:getppid`;
    case 'list':
      return `uprobe:${env.libc}:getppid,uprobe:${env.libc}:getpid`;
    case 'wild':
      return `uprobe:${env.libc}:getpp*`;
  }
}

function printf(id: number, n: Extract<Node, { t: 'print' }>): string {
  return `printf("c${id}.${n.k}=${n.args.map((a) => `${a.conv}|`).join('')}\\n", ${n.args.map((a) => a.expr).join(', ')});`;
}

/** A probe body; `after(k)` adds text after printf k (the verifier's assertions). */
export function renderBody(id: number, nodes: readonly Node[], after: (k: number) => string = () => ''): string {
  return nodes
    .map((n) => {
      if (n.t === 'stmt') return n.text;
      if (n.t === 'print') return `${printf(id, n)}${after(n.k)}`;
      return `if ${n.cond} { ${renderBody(id, n.then, after)} }${n.else ? ` else { ${renderBody(id, n.else, after)} }` : ''}`;
    })
    .join(' ');
}

/** The probe line of a probe; `guard` is added to the predicate (the runner's run-once guard). */
export function probeLine(id: number, p: EventProbe, env: RunEnv, guard = '', after?: (k: number) => string): string {
  const pred = `pid == ${env.pid}${guard ? ` && ${guard}` : ''}${p.pred !== undefined ? ` && (${p.pred})` : ''}`;
  return `${attachText(p.on, env)} /${pred}/ { ${renderBody(id, p.body, after)} }`;
}

/** The case alone, as kgent's verifier gets it (assertions after each printf through `after`). */
export function eventsProgram(id: number, spec: EventsSpec, env: RunEnv, after?: (k: number) => string): string {
  const lines: string[] = [];
  if (spec.begin.length > 0) lines.push(`BEGIN { ${spec.begin.join(' ')} }`);
  for (const p of spec.probes) lines.push(probeLine(id, p, env, '', after));
  if (spec.end.length > 0) lines.push(`END { ${spec.end.join(' ')} }`);
  return lines.join('\n') + '\n';
}

/** Print nodes of the case in program order. */
function prints(spec: EventsSpec): Extract<Node, { t: 'print' }>[] {
  const out: Extract<Node, { t: 'print' }>[] = [];
  const walk = (ns: readonly Node[]): void => {
    for (const n of ns) {
      if (n.t === 'print') out.push(n);
      else if (n.t === 'if') {
        walk(n.then);
        if (n.else) walk(n.else);
      }
    }
  };
  for (const p of spec.probes) walk(p.body);
  return out;
}

/** The maps a statement list names (BEGIN and END each load at most 64 maps into one BPF program). */
export function mapsNamed(stmts: readonly string[]): Set<string> {
  return new Set(stmts.join(' ').match(/@\w+/g) ?? []);
}

// ---------------------------------------------------------------------------------------------
// The comparison.

interface Check {
  readonly k: number;
  readonly j: number;
  readonly expr: string;
  readonly value: string;
  readonly kind: 'ne' | 'eq';
}

/** Soundness (and precision where exact) of the verifier's map-state model for one case. */
export async function compareEvents(c: CaseResult['c'], bpf: BpfOutcome, env: RunEnv): Promise<CaseResult> {
  const spec = c.events as EventsSpec;
  const checks: Check[] = [];
  const ran = bpf.status === 'ran' ? bpf.prints : undefined;
  const exact = new Set(spec.exact);
  // Assertions in program order: the report lists them in the same order.
  for (const n of prints(spec)) {
    const line = ran?.get(n.k);
    n.args.forEach((a, j) => {
      const value = line?.[j];
      if (value === undefined || !/^-?\d+$/.test(value)) return;
      checks.push({ k: n.k, j, expr: a.expr, value, kind: 'ne' });
      if (exact.has(`${n.k}.${j}`)) checks.push({ k: n.k, j, expr: a.expr, value, kind: 'eq' });
    });
  }
  const after = (k: number): string =>
    checks
      .filter((x) => x.k === k)
      .map((x) => ` assert(printed(${x.j}) ${x.kind === 'ne' ? '!=' : '=='} ${literal(BigInt(x.value))});`)
      .join('');
  const src = eventsProgram(c.id, spec, env, after);
  const report = await verifyProgram(src, { contracts: EMPTY_CONTRACTS, dialect: bpftraceTarget().dialect, ...(spec.mapKeysMax !== undefined ? { maxMapKeys: spec.mapKeysMax } : {}) });
  const refusal = report.verdict === 'invalid' ? report.diagnostics.find((d) => d.severity === 'error') : undefined;
  const minimal = `// BPFTRACE_MAP_KEYS_MAX=${spec.mapKeysMax ?? 4096}\n${src}`;
  // An attach failure is this machine's limit, not a refusal of the program.
  if (bpf.status === 'rejected' && /Error attaching probe/.test(bpf.error)) return { c, verdict: 'rejected', mismatches: [], detail: bpf.error };
  if (bpf.status === 'rejected') {
    if (refusal && refusal.stage === 'parse') return { c, verdict: 'refused-both', mismatches: [], detail: `bpftrace: ${bpf.error}; kgent: ${refusal.message}` };
    return { c, verdict: 'disagree', mismatches: [], detail: `bpftrace refuses it (${bpf.error}) but kgent's verifier says ${report.verdict}`, minimal };
  }
  if (refusal?.code === 'symbolic.probes-share-event') {
    const seen = ran ? [...ran].map(([k, v]) => `${k}=${v.join('|')}`).join(' ') : bpf.status;
    return { c, verdict: 'refused-kgent', mismatches: [], detail: `bpftrace printed ${seen}` };
  }
  if (refusal) return { c, verdict: 'disagree', mismatches: [], detail: `kgent refuses it (${refusal.code}: ${refusal.message}) but bpftrace ${bpftraceTarget().version} runs it`, minimal };
  if (bpf.status === 'no-output') return { c, verdict: 'no-output', mismatches: [], detail: bpf.detail };
  if (checks.length > 0 && report.assertions.length !== checks.length) {
    return { c, verdict: 'executor-error', mismatches: [], detail: `${report.assertions.length} assertion results for ${checks.length} assertions (${report.verdict})` };
  }
  const mismatches: Mismatch[] = [];
  let proved = 0;
  checks.forEach((x, i) => {
    const a = report.assertions[i];
    if (!a) return;
    // `trivial` is a claim too: no feasible path reaches a printf bpftrace ran, or the assertion
    // holds whatever the program computes.
    const claims = a.verdict === 'proved' || a.verdict === 'trivial';
    if (x.kind === 'ne' && claims) mismatches.push({ k: x.k, j: x.j, expr: x.expr, bpftrace: x.value, executor: `${a.verdict}: never ${x.value}` });
    // Under a newer dialect a value its profile does not model is not claimed (unknown, sound).
    const unmodelled = newerDialect() && a.verdict === 'unknown' && /not modelled/.test(a.reason ?? '');
    if (x.kind === 'eq' && !claims && !unmodelled) mismatches.push({ k: x.k, j: x.j, expr: x.expr, bpftrace: x.value, executor: `does not prove it (${a.verdict}${a.reason ? `: ${a.reason}` : ''}) although its model is exact here` });
    if (x.kind === 'eq' && claims) proved++;
  });
  if (mismatches.length > 0) return { c, verdict: 'disagree', mismatches, minimal };
  const nExact = checks.filter((x) => x.kind === 'eq').length;
  return { c, verdict: 'agree', mismatches: [], detail: `${spec.flavor}: ${checks.length - nExact} values not excluded, ${proved}/${nExact} exact values proved` };
}
