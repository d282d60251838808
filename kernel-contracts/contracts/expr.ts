/**
 * The contract condition language (schema: `schema.json`, documented in kernel-contracts/README.md).
 * Types mirror the schema one to one; {@link checkConditions} adds the checks a schema cannot
 * express (names exist on this hook, `ret` only after return, constants fit the value's type).
 */
import schemaJson from './schema.json' with { type: 'json' };
import { validateSchema, type JsonSchema, type SchemaError } from './json-schema.js';

/** The JSON Schema of the language, as loaded from `schema.json`. */
export const CONDITION_SCHEMA = schemaJson as unknown as JsonSchema;

/** An exact integer: JSON integer, or a decimal / `0x` hex string for values beyond 2^53. */
export type IntLit = number | string;

export interface FieldRef {
  /** Argument (function) or field (tracepoint) name. */
  readonly field: string;
  /** Members read through `field` (a pointer to a struct), outermost first. */
  readonly path?: readonly string[];
}
export interface RetRef {
  readonly ret: true;
}
export interface ConstTerm {
  readonly const: IntLit;
}
export type ArithOp = 'add' | 'sub' | 'band' | 'bor' | 'shl' | 'shr';
export interface ArithTerm {
  readonly op: ArithOp;
  readonly lhs: Term;
  readonly rhs: Term;
}
export type Term = IntLit | FieldRef | RetRef | ConstTerm | ArithTerm;

export type CmpOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type Cond =
  | { readonly op: CmpOp; readonly lhs: Term; readonly rhs: Term }
  | { readonly op: 'in'; readonly lhs: Term; readonly rhs: readonly IntLit[] }
  | { readonly op: 'range'; readonly lhs: Term; readonly min: IntLit; readonly max: IntLit }
  | { readonly op: 'byteOrder'; readonly lhs: Term; readonly order: 'big' | 'little' }
  | { readonly op: 'and' | 'or'; readonly args: readonly Cond[] }
  | { readonly op: 'not'; readonly arg: Cond }
  | { readonly op: 'implies'; readonly lhs: Cond; readonly rhs: Cond };

/** Where a condition came from. Structural sources need no LLM. */
export type ConditionSource = 'type' | 'btf-enum' | 'typedef' | 'print-fmt' | 'doc' | 'llm';

/**
 * Sources of conditions the kernel guarantees: type widths and signedness, values of a field whose
 * BTF type is the enum, byte order of `__be*` typedefs. Only these may become preconditions of a
 * proof. The others are hints for the LLM and for people: a tracepoint's `__print_symbolic` table
 * names only the values the kernel pretty-prints (UDP's 17 reaches `sock:sock_send_length`
 * although its table lists 6, 132 and 262), documentation is prose, and an LLM's reading of it
 * can be wrong.
 */
const KERNEL_GUARANTEED: ReadonlySet<ConditionSource> = new Set(['type', 'btf-enum', 'typedef']);

/** True when conditions from `source` are guaranteed by the kernel (see above); false for hints. */
export function isKernelGuarantee(source: ConditionSource): boolean {
  return KERNEL_GUARANTEED.has(source);
}

/** A condition of a contract: `pre` holds when the hook fires, `post` when the function returns. */
export interface Condition {
  readonly kind: 'pre' | 'post';
  readonly expr: Cond;
  readonly source: ConditionSource;
  readonly note?: string;
}

/** The LLM's enrichment answer (`#/$defs/enrichment`). */
export interface EnrichmentAnswer {
  readonly summary?: string;
  readonly pre: readonly { readonly expr: Cond; readonly note?: string }[];
  readonly post: readonly { readonly expr: Cond; readonly note?: string }[];
}

/** Parses an {@link IntLit} into an exact bigint. */
export function toBigInt(v: IntLit): bigint {
  if (typeof v === 'number') return BigInt(v);
  const neg = v.startsWith('-');
  const body = neg ? v.slice(1) : v;
  const n = BigInt(body); // BigInt accepts decimal and 0x hex
  return neg ? -n : n;
}

/** Writes a bigint as an {@link IntLit}: a JSON number when exact, else a decimal string. */
export function fromBigInt(n: bigint): IntLit {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** Validates any value against a `$defs` entry of the schema (default: the enrichment answer). */
export function validateAgainstSchema(value: unknown, def: 'enrichment' | 'cond' | 'condition' | 'term' = 'enrichment'): SchemaError[] {
  return validateSchema(CONDITION_SCHEMA, value, { $ref: `#/$defs/${def}` });
}

/** What a name in a condition refers to, for semantic checks. */
export interface ScopeValue {
  readonly bits: number;
  readonly signed: boolean;
  /** True for pointers (may carry a member `path`). */
  readonly pointer?: boolean;
  /** For a `path`, resolve the member chain to its width/signedness (undefined: no such member). */
  readonly member?: (path: readonly string[]) => { bits: number; signed: boolean } | undefined;
}

export interface Scope {
  readonly values: ReadonlyMap<string, ScopeValue>;
  /** The return value, when the hook has one (functions); undefined for tracepoints and void functions. */
  readonly ret?: ScopeValue;
}

function typeRange(bits: number, signed: boolean): [bigint, bigint] {
  const b = BigInt(Math.max(1, Math.min(bits, 64)));
  return signed ? [-(1n << (b - 1n)), (1n << (b - 1n)) - 1n] : [0n, (1n << b) - 1n];
}

/**
 * Semantic checks of one condition against the hook: every `field` exists (and `path` resolves),
 * `ret` appears only in `post` conditions of a function that returns a value, and literal
 * constants compared with a value fit that value's type. Returns messages with JSON paths.
 */
export function checkCondition(cond: Cond, kind: 'pre' | 'post', scope: Scope, path = '$'): SchemaError[] {
  const errs: SchemaError[] = [];
  const termInfo = (t: Term, p: string): { bits: number; signed: boolean } | undefined => {
    if (typeof t === 'number' || typeof t === 'string') return undefined;
    if ('field' in t) {
      const v = scope.values.get(t.field);
      if (!v) {
        errs.push({ path: `${p}.field`, message: `no argument or field "${t.field}" on this hook (have: ${[...scope.values.keys()].join(', ') || 'none'})` });
        return undefined;
      }
      if (t.path) {
        if (!v.pointer || !v.member) {
          errs.push({ path: `${p}.path`, message: `"${t.field}" is not a pointer to a struct; it has no members` });
          return undefined;
        }
        const m = v.member(t.path);
        if (!m) errs.push({ path: `${p}.path`, message: `no member ${t.path.join('.')} in the struct "${t.field}" points to` });
        return m;
      }
      return v;
    }
    if ('ret' in t) {
      if (kind !== 'post') errs.push({ path: p, message: 'the return value can only be used in a post-condition' });
      else if (!scope.ret) errs.push({ path: p, message: 'this hook has no return value' });
      return scope.ret;
    }
    if ('const' in t) return undefined;
    termInfo(t.lhs, `${p}.lhs`);
    termInfo(t.rhs, `${p}.rhs`);
    return { bits: 64, signed: false };
  };
  const fits = (info: { bits: number; signed: boolean } | undefined, lit: IntLit, p: string): void => {
    if (!info) return;
    const [lo, hi] = typeRange(info.bits, info.signed);
    const n = toBigInt(lit);
    if (n < lo || n > hi) errs.push({ path: p, message: `${String(lit)} is outside the ${info.bits}-bit ${info.signed ? 'signed' : 'unsigned'} range ${lo}..${hi}` });
  };
  switch (cond.op) {
    case 'and':
    case 'or':
      cond.args.forEach((a, i) => errs.push(...checkCondition(a, kind, scope, `${path}.args[${i}]`)));
      break;
    case 'not':
      errs.push(...checkCondition(cond.arg, kind, scope, `${path}.arg`));
      break;
    case 'implies':
      errs.push(...checkCondition(cond.lhs, kind, scope, `${path}.lhs`));
      errs.push(...checkCondition(cond.rhs, kind, scope, `${path}.rhs`));
      break;
    case 'in': {
      const info = termInfo(cond.lhs, `${path}.lhs`);
      cond.rhs.forEach((v, i) => fits(info, v, `${path}.rhs[${i}]`));
      break;
    }
    case 'range': {
      const info = termInfo(cond.lhs, `${path}.lhs`);
      fits(info, cond.min, `${path}.min`);
      fits(info, cond.max, `${path}.max`);
      if (toBigInt(cond.min) > toBigInt(cond.max)) errs.push({ path, message: `empty range: min ${cond.min} > max ${cond.max}` });
      break;
    }
    case 'byteOrder':
      termInfo(cond.lhs, `${path}.lhs`);
      break;
    default: {
      const li = termInfo(cond.lhs, `${path}.lhs`);
      const ri = termInfo(cond.rhs, `${path}.rhs`);
      const isLit = (t: Term): t is IntLit | ConstTerm => typeof t === 'number' || typeof t === 'string' || (typeof t === 'object' && 'const' in t);
      const litOf = (t: IntLit | ConstTerm): IntLit => (typeof t === 'object' ? t.const : t);
      if (isLit(cond.rhs)) fits(li, litOf(cond.rhs), `${path}.rhs`);
      if (isLit(cond.lhs)) fits(ri, litOf(cond.lhs), `${path}.lhs`);
    }
  }
  return errs;
}

/** Renders a term in bpftrace-like syntax, naming values the way the hook's probes do. */
export function renderTerm(t: Term, name: (field: string) => string = (f) => f): string {
  if (typeof t === 'number' || typeof t === 'string') return String(t);
  if ('field' in t) return name(t.field) + (t.path ? `->${t.path.join('.')}` : '');
  if ('ret' in t) return 'retval';
  if ('const' in t) return String(t.const);
  const sym = { add: '+', sub: '-', band: '&', bor: '|', shl: '<<', shr: '>>' }[t.op];
  return `(${renderTerm(t.lhs, name)} ${sym} ${renderTerm(t.rhs, name)})`;
}

/** Renders a condition for humans (`kgentctl contracts show`). */
export function renderCond(c: Cond, name?: (field: string) => string): string {
  const r = (t: Term): string => renderTerm(t, name);
  switch (c.op) {
    case 'and':
    case 'or':
      return c.args.map((a) => (a.op === 'and' || a.op === 'or' ? `(${renderCond(a, name)})` : renderCond(a, name))).join(c.op === 'and' ? ' && ' : ' || ');
    case 'not':
      return `!(${renderCond(c.arg, name)})`;
    case 'implies':
      return `(${renderCond(c.lhs, name)}) => (${renderCond(c.rhs, name)})`;
    case 'in':
      return `${r(c.lhs)} in {${c.rhs.join(', ')}}`;
    case 'range':
      return `${c.min} <= ${r(c.lhs)} <= ${c.max}`;
    case 'byteOrder':
      return `${r(c.lhs)} is ${c.order}-endian`;
    default: {
      const sym = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' }[c.op];
      return `${r(c.lhs)} ${sym} ${r(c.rhs)}`;
    }
  }
}

/**
 * Evaluates a condition on concrete values (for tests and tooling; the verifier works
 * symbolically). `values` maps field names (and `field.path.joined`) to integers; `ret` is the
 * return value. `byteOrder` conditions are facts about storage and evaluate to true.
 */
export function evalCond(c: Cond, values: ReadonlyMap<string, bigint>, ret?: bigint): boolean {
  const term = (t: Term): bigint => {
    if (typeof t === 'number' || typeof t === 'string') return toBigInt(t);
    if ('field' in t) {
      const key = t.path ? `${t.field}.${t.path.join('.')}` : t.field;
      const v = values.get(key);
      if (v === undefined) throw new Error(`no value for ${key}`);
      return v;
    }
    if ('ret' in t) {
      if (ret === undefined) throw new Error('no return value');
      return ret;
    }
    if ('const' in t) return toBigInt(t.const);
    const a = term(t.lhs);
    const b = term(t.rhs);
    switch (t.op) {
      case 'add':
        return a + b;
      case 'sub':
        return a - b;
      case 'band':
        return a & b;
      case 'bor':
        return a | b;
      case 'shl':
        return a << b;
      case 'shr':
        return a >> b;
    }
  };
  switch (c.op) {
    case 'and':
      return c.args.every((a) => evalCond(a, values, ret));
    case 'or':
      return c.args.some((a) => evalCond(a, values, ret));
    case 'not':
      return !evalCond(c.arg, values, ret);
    case 'implies':
      return !evalCond(c.lhs, values, ret) || evalCond(c.rhs, values, ret);
    case 'in': {
      const v = term(c.lhs);
      return c.rhs.some((x) => toBigInt(x) === v);
    }
    case 'range': {
      const v = term(c.lhs);
      return v >= toBigInt(c.min) && v <= toBigInt(c.max);
    }
    case 'byteOrder':
      return true;
    case 'eq':
      return term(c.lhs) === term(c.rhs);
    case 'ne':
      return term(c.lhs) !== term(c.rhs);
    case 'lt':
      return term(c.lhs) < term(c.rhs);
    case 'le':
      return term(c.lhs) <= term(c.rhs);
    case 'gt':
      return term(c.lhs) > term(c.rhs);
    case 'ge':
      return term(c.lhs) >= term(c.rhs);
  }
}

/** The inclusive value range of an integer type of `bits` width. */
export function integerRange(bits: number, signed: boolean): { min: IntLit; max: IntLit } {
  const [lo, hi] = typeRange(bits, signed);
  return { min: fromBigInt(lo), max: fromBigInt(hi) };
}
