/**
 * Seeded generator of small, well-typed bpftrace 0.17 cases for the differential test. A case is
 * one probe body plus the statements that set its inputs: integer inputs live in maps written
 * before the case runs (BEGIN in bpftrace), so neither bpftrace's constant folder nor LLVM can
 * see their values; string inputs come from the argument of a traced libc `getenv()` call that
 * the runner makes with a name it chooses. Case `i` of seed `s` depends on (s, i) only.
 */
import { Rng } from './rng.js';
import { ACCEPT_CLASSES } from './gen-accept.js';
import { BUILTIN_CLASSES } from './gen-builtins.js';
import { EVENTS_CLASSES, type EventsSpec } from './gen-events.js';
import { PRINTF_CLASSES, STRING_TRIGGER_CLASSES } from './gen-printf.js';

/** One printf argument: its expression and conversion. */
export interface PrintArg {
  readonly expr: string;
  readonly kind: 'int' | 'str';
  /** The conversion as written (`%lld`, `%-08hhx`, `%.3s`). */
  readonly conv: string;
  /** Compare the printed text exactly (rendered from the executor's value), not the number. */
  readonly text?: boolean;
}

/** The body of a case, kept structured so that it can be printed for bpftrace and for the executor. */
export type Node =
  | { readonly t: 'stmt'; readonly text: string }
  | { readonly t: 'print'; readonly k: number; readonly args: readonly PrintArg[] }
  | { readonly t: 'if'; readonly cond: string; readonly then: readonly Node[]; readonly else?: readonly Node[] };

/** Which traced call runs the case. */
export type Trigger = { readonly kind: 'getppid' } | { readonly kind: 'getenv'; readonly name: string };

export interface Case {
  /** Index in the run; map names carry it (`@c12_a`). */
  readonly id: number;
  readonly seed: number;
  /** The generator class (what the case exercises). */
  readonly cls: string;
  readonly trigger: Trigger;
  /** Statements that set the inputs before the case runs (`@in_s64[192] = -300;`). */
  readonly inputs: readonly string[];
  /** The same inputs as values: map, key, value as stored (before any extension). */
  readonly inputValues: readonly InputValue[];
  readonly body: readonly Node[];
  /** Class `events` (gen-events.ts): several probes, BEGIN and END; `body` is then empty. */
  readonly events?: EventsSpec;
}

export interface InputValue {
  readonly map: string;
  readonly key: bigint;
  readonly value: bigint;
}

export type IntTy = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';
export const INT_TYPES: readonly IntTy[] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];

function bits(ty: IntTy): number {
  return Number(ty.replace(/^u?int/, ''));
}
function signed(ty: IntTy): boolean {
  return !ty.startsWith('u');
}

/** Interesting values of a type (as signed/unsigned numbers of that type). */
export function edgeValues(ty: IntTy): bigint[] {
  const n = BigInt(bits(ty));
  const common = [0n, 1n, 2n, 3n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 100n, 127n, 128n, 255n, 256n];
  if (signed(ty)) {
    const max = (1n << (n - 1n)) - 1n;
    const min = -(1n << (n - 1n));
    return [...common.filter((v) => v <= max), -1n, -2n, -7n, -64n, max, min, max - 1n, min + 1n];
  }
  const max = (1n << n) - 1n;
  return [...common.filter((v) => v <= max), max, max - 1n, 1n << (n - 1n), (1n << (n - 1n)) - 1n];
}

/** A bpftrace literal for v (bpftrace reads literals as int64; larger ones through a cast). */
export function literal(v: bigint): string {
  if (v > (1n << 63n) - 1n) return `(uint64)${literal(v - (1n << 64n))}`;
  return v < 0n ? `(${v})` : `${v}`;
}

/** Constants for expressions: the edges of all widths. */
const CONSTANTS: readonly bigint[] = [0n, 1n, 2n, 3n, 7n, 8n, 10n, 31n, 32n, 63n, 64n, 65n, 127n, 128n, 255n, 256n, 65535n, 65536n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, (1n << 63n) - 1n, -1n, -2n, -3n, -128n, -129n, -32768n, -0x80000000n, -(1n << 63n)];

/** Literals of the `literal-64` class: the non-negative edges of every width, below 2^63. */
const NON_NEGATIVE_LITERALS: readonly bigint[] = [0n, 1n, 2n, 3n, 7n, 8n, 10n, 31n, 32n, 63n, 64n, 65n, 100n, 127n, 128n, 255n, 256n, 1000n, 65535n, 65536n, 1000000n, 1000000000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 62n, (1n << 63n) - 1n];

export interface Ctx {
  readonly r: Rng;
  readonly id: number;
  readonly inputs: string[];
  readonly inputValues: InputValue[];
  /** Integer operands available now (input map reads, variables). */
  readonly leaves: string[];
  nextInput: number;
  nextPrint: number;
  /** Set by the `events` class (gen-events.ts). */
  events?: EventsSpec;
}

export function newInput(c: Ctx, ty?: IntTy, value?: bigint): string {
  const t = ty ?? c.r.pick(INT_TYPES);
  const v = value ?? c.r.pick(edgeValues(t));
  // Inputs live in two 64-bit maps keyed by case and input (a BPF program may use at most 64
  // maps, so BEGIN cannot write one map per input). bpftrace 0.17 stores every map value in 64
  // bits (a narrow value comes back extended, typed 64-bit), so a narrow input is a cast of a
  // 64-bit map value: genuinely narrow, and unknown to the compiler. (The 'map-width' class
  // covers narrow values stored in maps.)
  const key = c.id * 16 + c.nextInput++;
  if (t === 'uint64') {
    c.inputs.push(`@in_u64[${key}] = (uint64)${literal(v)};`);
    c.inputValues.push({ map: '@in_u64', key: BigInt(key), value: v });
    c.leaves.push(`@in_u64[${key}]`);
    return `@in_u64[${key}]`;
  }
  c.inputs.push(`@in_s64[${key}] = ${literal(v)};`);
  c.inputValues.push({ map: '@in_s64', key: BigInt(key), value: v });
  const name = t === 'int64' ? `@in_s64[${key}]` : `((${t})@in_s64[${key}])`;
  c.leaves.push(name);
  return name;
}

function constant(c: Ctx): string {
  return literal(c.r.pick(CONSTANTS));
}

function leaf(c: Ctx, constOnly: boolean): string {
  if (constOnly || c.leaves.length === 0 || c.r.chance(0.3)) return constant(c);
  return c.r.pick(c.leaves);
}

const ARITH = ['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>'];
const CMP = ['==', '!=', '<', '<=', '>', '>='];

/** A side-effect-free integer expression. */
function expr(c: Ctx, depth: number, constOnly = false): string {
  const r = c.r;
  if (depth <= 0 || r.chance(0.25)) return leaf(c, constOnly);
  const sub = (): string => expr(c, depth - 1, constOnly);
  switch (r.below(12)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return `(${sub()} ${r.pick(ARITH)} ${sub()})`;
    case 4:
    case 5:
      return `(${r.pick(INT_TYPES)})${sub()}`;
    case 6:
      return `${r.pick(['-', '~', '!'])}${sub()}`;
    case 7:
      return `(${sub()} ${r.pick(CMP)} ${sub()})`;
    case 8:
      return `(${sub()} ${r.pick(['&&', '||'])} ${sub()})`;
    case 9:
      return `(${sub()} ? ${sub()} : ${sub()})`;
    case 10:
      return `bswap(${r.chance(0.7) ? `(${r.pick(INT_TYPES)})` : ''}${sub()})`;
    default:
      return `(${sub()} ${r.pick(ARITH)} ${leaf(c, constOnly)})`;
  }
}

function print(c: Ctx, exprs: readonly string[], conv: PrintArg['conv'] = '%lld'): Node {
  return { t: 'print', k: c.nextPrint++, args: exprs.map((e) => ({ expr: e, kind: 'int' as const, conv })) };
}
export function stmt(text: string): Node {
  return { t: 'stmt', text };
}

/** A condition over inputs whose truth is decided at run time. */
function cond(c: Ctx): string {
  const r = c.r;
  if (r.chance(0.15)) return r.pick(['0', '1']);
  return `(${leaf(c, false)} ${r.pick(CMP)} ${leaf(c, false)})`;
}

export type Gen = (c: Ctx) => Node[];

/**
 * A generator class. `optIn` classes (printf text, builtins, acceptance: gen-*.ts) run only when
 * named with --class, so that the default mix, and the cases a seed gives, stay as they were.
 */
export interface GenClass {
  readonly weight: number;
  readonly gen: Gen;
  readonly optIn?: boolean;
}

const BASE_CLASSES: Record<string, GenClass> = {
  'expr-runtime': {
    weight: 6,
    gen: (c) => {
      for (let i = 0, n = 1 + c.r.below(3); i < n; i++) newInput(c);
      return [print(c, [expr(c, 3), expr(c, 3), expr(c, 2)])];
    },
  },
  'expr-const': {
    weight: 3,
    gen: (c) => [print(c, [expr(c, 3, true), expr(c, 2, true), expr(c, 2, true)])],
  },
  'divmod-shift': {
    weight: 4,
    gen: (c) => {
      const r = c.r;
      const ops = ['/', '%', '<<', '>>'];
      const operand = (): string => {
        const ty = r.pick(INT_TYPES);
        const base = r.chance(0.6) ? newInput(c, ty, r.pick([0n, 1n, 63n, 64n, 65n, 7n, ...edgeValues(ty)])) : literal(r.pick([0n, 1n, 7n, 63n, 64n, 65n, -1n, -7n, 1n << 63n, 128n]));
        return r.chance(0.3) ? `(${r.pick(INT_TYPES)})${base}` : base;
      };
      return [print(c, [0, 1, 2].map(() => `(${operand()} ${r.pick(ops)} ${operand()})`))];
    },
  },
  compare: {
    weight: 3,
    gen: (c) => {
      const r = c.r;
      const side = (): string => (r.chance(0.5) ? `(${r.pick(INT_TYPES)})${newInput(c)}` : r.chance(0.5) ? newInput(c) : constant(c));
      return [print(c, [0, 1, 2].map(() => `(${side()} ${r.pick(CMP)} ${side()})`))];
    },
  },
  cast: {
    weight: 3,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      const chain = (): string => {
        let e = r.chance(0.5) ? a : `(${a} + ${constant(c)})`;
        for (let i = 0, n = 1 + r.below(3); i < n; i++) e = `(${r.pick(INT_TYPES)})${e}`;
        return e;
      };
      return [print(c, [chain(), chain(), `(${chain()} < 0)`])];
    },
  },
  bswap: {
    weight: 2,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      const b = newInput(c);
      return [print(c, [`bswap((${r.pick(INT_TYPES)})${a})`, `bswap(${b})`, `(bswap((${r.pick(INT_TYPES)})${a}) ${r.pick(['<', '>', '+', '>>'])} ${r.pick(['0', '1', '-1', '8'])})`])];
    },
  },
  'var-retype': {
    weight: 5,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      const b = newInput(c);
      const out: Node[] = [stmt(`$x = ${r.chance(0.6) ? `(${r.pick(INT_TYPES)})` : ''}${r.pick([a, constant(c)])};`)];
      for (let i = 0, n = 1 + r.below(3); i < n; i++) {
        out.push(
          stmt(
            r.pick([
              `$x = ${b};`,
              `$x = $x * 10;`,
              `$x = $x + ${b};`,
              `$x += ${r.pick([b, a, constant(c)])};`,
              `$x -= ${r.pick([b, constant(c)])};`,
              `$x++;`,
              `$x--;`,
              `$x = (${r.pick(INT_TYPES)})${b};`,
              `$x = ${constant(c)};`,
              `$x <<= ${r.pick(['1', '8', '31', '33'])};`,
            ]),
          ),
        );
      }
      out.push(print(c, ['$x', '($x < 0)', '($x >> 1)']));
      return out;
    },
  },
  incdec: {
    weight: 4,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c, r.pick(INT_TYPES), r.pick([0n, 1n, -1n, 127n, 255n, 32767n, 65535n, 0x7fffffffn, 0xffffffffn, -128n, -32768n, (1n << 63n) - 1n]));
      const m = `@c${c.id}_m`;
      const out: Node[] = [stmt(`$i = ${r.chance(0.5) ? `(${r.pick(INT_TYPES)})` : ''}${a};`)];
      for (let i = 0, n = 2 + r.below(3); i < n; i++) {
        out.push(stmt(r.pick([`$j = $i++;`, `$j = ++$i;`, `$j = $i--;`, `$j = --$i;`, `$i++;`, `$i--;`, `${m}++;`, `${m}--;`, `${m} += ${a};`, `${m} -= ${constant(c)};`, `$j = ${m}++;`, `$j = --${m};`, `@c${c.id}_k[${a}]++;`])));
      }
      // $j may be unassigned: give it a value first so that it is always defined.
      out.unshift(stmt(`$j = (int64)0;`), stmt(`${m} = 0;`), stmt(`@c${c.id}_k[${a}] = 0;`));
      out.push(print(c, ['$i', '$j', `${m}`, `@c${c.id}_k[${a}]`]));
      return out;
    },
  },
  'side-effects': {
    weight: 5,
    gen: (c) => {
      const r = c.r;
      newInput(c);
      newInput(c);
      const m = `@c${c.id}_m`;
      const n = `@c${c.id}_n`;
      const effect = (): string => r.pick([`${m}++`, `${n}++`, `$i++`, `++$i`, `${m}--`, `--$i`]);
      const out: Node[] = [stmt(`$i = (int64)0;`), stmt(`$r = (int64)0;`), stmt(`${m} = 0;`), stmt(`${n} = 0;`)];
      for (let i = 0, k = 1 + r.below(3); i < k; i++) {
        out.push(
          r.pick<Node>([
            stmt(`$r = ${cond(c)} && ${effect()};`),
            stmt(`$r = ${cond(c)} || ${effect()};`),
            stmt(`$r = ${cond(c)} ? ${effect()} : ${effect()};`),
            { t: 'if', cond: `${cond(c)} && ${effect()}`, then: [stmt(`$r += 10;`)] },
            { t: 'if', cond: `${cond(c)} || ${effect()}`, then: [stmt(`$r += 100;`)], else: [stmt(`$r -= 1;`)] },
            stmt(`$r = (${effect()} > 0) && ${effect()};`),
          ]),
        );
      }
      out.push(print(c, ['$r', '$i', m, n]));
      return out;
    },
  },
  'ternary-type': {
    weight: 3,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      const b = newInput(c);
      const t = (): string => `(${cond(c)} ? (${r.pick(INT_TYPES)})${r.pick([a, b])} : (${r.pick(INT_TYPES)})${r.pick([a, b, constant(c)])})`;
      return [stmt(`$t = ${t()};`), print(c, ['$t', t(), `(${t()} < 0)`, `(${t()} >> 60)`])];
    },
  },
  str: {
    weight: 3,
    gen: (c) => {
      const r = c.r;
      const ns = [0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 20, 31, 32, 33, 40, 62, 63, 64, 65, 100, 200];
      const out: Node[] = [stmt(`$s = str(arg0, ${r.pick(ns.filter((n) => n > 0))});`)];
      out.push({
        t: 'print',
        k: c.nextPrint++,
        args: [
          { expr: '$s', kind: 'str', conv: '%s' },
          { expr: `str(arg0, ${r.pick(ns)})`, kind: 'str', conv: '%s' },
          { expr: 'str(arg0)', kind: 'str', conv: '%s' },
        ],
      });
      out.push(print(c, [`(str(arg0, ${r.pick(ns)}) == "KGD")`, `(str(arg0, ${r.pick(ns)}) == str(arg0, ${r.pick(ns)}))`, `strncmp(str(arg0), "KGD${c.id}", ${r.pick(ns)})`]));
      return out;
    },
  },
  maps: {
    weight: 4,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      const b = newInput(c);
      const m = `@c${c.id}_m`;
      const k2 = `@c${c.id}_k`;
      const key = (): string => r.pick([a, b, '0', '1', '-1', `(${a} + 1)`]);
      const out: Node[] = [stmt(`${m}[${key()}] = ${r.chance(0.5) ? `(${r.pick(INT_TYPES)})` : ''}${r.pick([a, b, constant(c)])};`)];
      for (let i = 0, n = 1 + r.below(4); i < n; i++) {
        out.push(
          stmt(
            r.pick([
              `${m}[${key()}] = ${r.pick([a, b, constant(c)])};`,
              `${m}[${key()}] += ${r.pick([a, b, constant(c)])};`,
              `${m}[${key()}]++;`,
              `delete(${m}[${key()}]);`,
              `${k2}[${key()}, ${key()}] = ${r.pick([a, b, constant(c)])};`,
              `$v = ${m}[${key()}];`,
            ]),
          ),
        );
      }
      out.unshift(stmt(`$v = (int64)0;`), stmt(`${k2}[${key()}, ${key()}] = ${constant(c)};`));
      out.push(print(c, [`${m}[${key()}]`, `${m}[${key()}]`, `${k2}[${key()}, ${key()}]`, '$v']));
      return out;
    },
  },
  'if-else': {
    weight: 4,
    gen: (c) => {
      const r = c.r;
      newInput(c);
      newInput(c);
      const a = newInput(c);
      const branch = (depth: number): Node[] => {
        const ns: Node[] = [stmt(r.pick([`$x = ${expr(c, 1)};`, `$x += ${leaf(c, false)};`, `$x = $x * 3;`, `$y = ${expr(c, 1)};`]))];
        if (depth > 0 && r.chance(0.5)) ns.push({ t: 'if', cond: cond(c), then: branch(depth - 1), ...(r.chance(0.6) ? { else: branch(depth - 1) } : {}) });
        if (r.chance(0.5)) ns.push(print(c, ['$x', '$y']));
        return ns;
      };
      return [
        stmt(`$x = ${r.chance(0.5) ? `(${r.pick(INT_TYPES)})` : ''}${a};`),
        stmt(`$y = (int64)0;`),
        { t: 'if', cond: cond(c), then: branch(2), ...(r.chance(0.7) ? { else: branch(2) } : {}) },
        print(c, ['$x', '$y']),
      ];
    },
  },
  'map-width': {
    weight: 2,
    gen: (c) => {
      const r = c.r;
      const ty = r.pick(INT_TYPES.filter((t) => bits(t) < 64));
      const v = r.pick(edgeValues(ty));
      const m = `@c${c.id}_w`;
      c.inputs.push(`${m}[1] = (${ty})${literal(v)};`);
      c.inputValues.push({ map: m, key: 1n, value: v });
      return [print(c, [`${m}[1]`, `bswap(${m}[1])`, `(${m}[1] >> 40)`, `((uint64)${m}[1] > 4294967295)`])];
    },
  },
  'map-rw': {
    weight: 2,
    gen: (c) => {
      // A map written and read back in one invocation: a run-time value for bpftrace (LLVM does
      // not see through map helpers), however constant the value written.
      const r = c.r;
      // A divisor or count that is 0 or >= 64 makes the case undefined (any-value); `w` makes the
      // divisor 1 instead of 0 in half of the cases, so that most cases print defined values.
      const v = r.pick([0n, 1n, 3n, 63n, 64n, 65n, 128n, -1n, 1n << 62n]);
      const w = r.chance(0.5) ? v : v - 1n;
      const m = `@c${c.id}_v`;
      const shifts = v >= 0n && v < 64n ? [`(1 << ${m})`, `(${r.pick(['255', '-1', '3'])} >> ${m})`] : [`(${m} + 1)`];
      return [stmt(`${m} = ${literal(v)};`), print(c, [...shifts, `(7 % (${m} - ${literal(w)}))`, `(${m} / (${m} - ${literal(w)}))`])];
    },
  },
  // Opt-in (`--class literal-64`): 64-bit run-time values of both signednesses beside
  // non-negative literals on either side, the arithmetic that literals typed by their size (0.26
  // on) make version-specific (daemon/verifier/symbolic/integer-model.ts, literalArithmetic).
  'literal-64': {
    weight: 4,
    optIn: true,
    gen: (c) => {
      const r = c.r;
      const width = (): IntTy => (r.chance(0.5) ? 'int64' : 'uint64');
      const a = newInput(c, width());
      const b = newInput(c, width());
      // A shift count mostly below 64 (a count >= 64 is undefined: such a case proves nothing).
      const k = (op: string): string => literal(r.pick(op === '<<' || op === '>>' ? [0n, 1n, 2n, 3n, 7n, 8n, 31n, 32n, 33n, 63n, 64n] : NON_NEGATIVE_LITERALS));
      const x = (): string => r.pick([a, b, `(${a} - ${b})`, `(${a} + ${b})`, '$v']);
      const one = (): string => {
        const op = r.pick(ARITH);
        return r.chance(0.8) ? `(${x()} ${op} ${k(op)})` : `(${k(op)} ${op} ${x()})`;
      };
      const outer = r.pick(ARITH);
      return [stmt(`$v = ${a};`), print(c, [one(), one(), `(${one()} ${outer} ${k(outer)})`])];
    },
  },
  'printf-d': {
    weight: 2,
    gen: (c) => {
      const r = c.r;
      const a = newInput(c);
      return [print(c, [a, `(${a} + ${constant(c)})`, `(${r.pick(INT_TYPES)})${a}`], '%d')];
    },
  },
};

let classes: Record<string, GenClass> | undefined;

/**
 * Every class, the opt-in ones of gen-*.ts included. Built on first use: those modules import
 * this one, so their tables are not initialised yet while this module is evaluated.
 */
function allClasses(): Record<string, GenClass> {
  return (classes ??= { ...BASE_CLASSES, ...PRINTF_CLASSES, ...BUILTIN_CLASSES, ...ACCEPT_CLASSES, ...EVENTS_CLASSES });
}

/** The names of every generator class. */
export function classNames(): readonly string[] {
  return Object.keys(allClasses());
}

/** Generates case `id` of run `seed`; `only` restricts the class. */
export function generateCase(seed: number, id: number, only?: readonly string[]): Case {
  const r = new Rng(Math.imul(seed, 0x01000193) ^ Math.imul(id + 1, 0x9e3779b1));
  const CLASSES = allClasses();
  const names = only && only.length > 0 ? classNames().filter((n) => only.includes(n)) : classNames().filter((n) => !CLASSES[n]?.optIn);
  const total = names.reduce((s, n) => s + (CLASSES[n]?.weight ?? 0), 0);
  let x = r.below(total);
  let cls = names[0] as string;
  for (const n of names) {
    x -= CLASSES[n]?.weight ?? 0;
    if (x < 0) {
      cls = n;
      break;
    }
  }
  const c: Ctx = { r, id, inputs: [], inputValues: [], leaves: [], nextInput: 0, nextPrint: 0 };
  const body = (CLASSES[cls] as { gen: Gen }).gen(c);
  // The name getenv() is called with: letters and digits, 3 to 60 characters, starting KGD<id>.
  let trigger: Trigger = { kind: 'getppid' };
  if (cls === 'str' || STRING_TRIGGER_CLASSES.has(cls)) {
    let name = `KGD${id}`;
    const len = r.pick([3, 5, 8, 15, 16, 17, 31, 32, 33, 40, 60]);
    while (name.length < len) name += String.fromCharCode(r.chance(0.5) ? 65 + r.below(26) : 48 + r.below(10));
    trigger = { kind: 'getenv', name };
  }
  return { id, seed, cls, trigger, inputs: c.inputs, inputValues: c.inputValues, body, ...(c.events ? { events: c.events } : {}) };
}

/** Cases `from .. from+count-1` of run `seed`. */
export function generateCases(seed: number, count: number, from = 0, only?: readonly string[]): Case[] {
  const out: Case[] = [];
  for (let i = from; i < from + count; i++) out.push(generateCase(seed, i, only));
  return out;
}
