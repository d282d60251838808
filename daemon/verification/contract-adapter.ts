/**
 * The daemon's adapter from kernel contracts (KernelCompDataset) to the symbolic verifier's
 * contracts seam (`daemon/verifier/contract-seam.ts`): tracepoint fields, kernel struct members and
 * preconditions, translated from the contract language into the verifier's `ContractExpr`.
 *
 * Soundness rule: the verifier assumes only what the kernel guarantees. Field types, widths,
 * signedness and byte order come through; enum domains only when BTF types the value as that enum;
 * conditions only from guaranteed sources (`isKernelGuarantee`). Print tables, documentation and
 * LLM-derived conditions stay hints in the contract (for the comprehension prompt), never
 * preconditions of a proof.
 */
import { documentedHints } from '../../kernel-contracts/contracts/documented.js';
import { isKernelGuarantee, type Cond, type Condition, type Term } from '../../kernel-contracts/contracts/expr.js';
import type { Contract, MemberContract, ValueContract } from '../../kernel-contracts/contracts/model.js';
import type { ContractExpr, ContractHint, FieldContract, ProbeContractProvider, ProbeRef } from '../verifier/contract-seam.js';

/** What the adapter needs to look contracts up: hooks by id, struct members by path. */
export interface ContractSource {
  contract(id: string): Contract | undefined | Promise<Contract | undefined>;
  member(structName: string, path: readonly string[]): Promise<MemberContract | undefined>;
}

/** A contract value as the verifier's FieldContract (bpftrace's view of it). */
export function fieldContractOf(v: ValueContract): FieldContract {
  const base = { name: v.name, cType: v.type, ...(v.offset !== undefined ? { offset: v.offset } : {}) } as const;
  const byteOrder = v.byteOrder === 'big' ? 'big' : 'host';
  // A `__data_loc char[]` field: the record holds a 32-bit locator (offset | length << 16), but
  // bpftrace 0.17 gives `args->f` as the 64-bit address of the data inside the event record
  // (checked here: sched_process_exec's filename prints 0xffffe8ffffc1ed14), and `str(args->f)`
  // as the string there.
  if (v.dataLoc) return { ...base, kind: 'int', size: 8, signed: false, byteOrder: 'host', dataLoc: true };
  if (v.arrayLength !== undefined) {
    if (v.kind === 'char' || /^(const )?char\[/.test(v.type)) return { ...base, kind: 'string', size: v.size ?? 0, signed: false, byteOrder: 'host' };
    return { ...base, kind: 'array', size: v.size ?? 0, signed: v.signed, byteOrder, elementSize: Math.max(1, v.bits / 8) };
  }
  if (v.kind === 'pointer') return { ...base, kind: 'pointer', size: 8, signed: false, byteOrder: 'host', nullable: v.nullable !== false, ...(v.pointee ? { pointee: v.pointee } : {}) };
  if (v.kind === 'struct' || v.kind === 'union') return { ...base, kind: 'struct', size: v.size ?? 0, signed: false, byteOrder: 'host' };
  const enumDomain = v.enum?.source === 'btf-enum' && !v.enum.flags ? v.enum.values.map((e) => ({ value: BigInt(e.value), name: e.name })) : undefined;
  return { ...base, kind: 'int', size: Math.max(1, Math.ceil(v.bits / 8)), signed: v.signed, byteOrder, ...(enumDomain ? { enumDomain } : {}) };
}

type NameMap = (field: string) => ContractExpr | undefined;

function term(t: Term, name: NameMap): ContractExpr | undefined {
  if (typeof t === 'number' || typeof t === 'string') return { int: String(t) };
  if ('field' in t) return t.path ? undefined : name(t.field);
  if ('ret' in t) return { builtin: 'retval' };
  if ('const' in t) return { int: String(t.const) };
  const op = ({ add: '+', sub: '-', band: '&', bor: '|' } as const)[t.op as 'add'];
  if (!op) return undefined;
  const l = term(t.lhs, name);
  const r = term(t.rhs, name);
  return l && r ? { op, left: l, right: r } : undefined;
}

/** Translates a condition; undefined when any part has no equivalent (then the whole condition is left out, which is sound for an assumption). */
export function toContractExpr(c: Cond, name: NameMap): ContractExpr | undefined {
  const all = (xs: (ContractExpr | undefined)[], op: '&&' | '||'): ContractExpr | undefined => {
    if (xs.some((x) => x === undefined) || xs.length === 0) return undefined;
    return (xs as ContractExpr[]).reduce((a, b) => ({ op, left: a, right: b }));
  };
  switch (c.op) {
    case 'and':
      return all(c.args.map((a) => toContractExpr(a, name)), '&&');
    case 'or':
      return all(c.args.map((a) => toContractExpr(a, name)), '||');
    case 'not': {
      const a = toContractExpr(c.arg, name);
      return a ? { op: '!', arg: a } : undefined;
    }
    case 'implies': {
      const a = toContractExpr(c.lhs, name);
      const b = toContractExpr(c.rhs, name);
      return a && b ? { op: '||', left: { op: '!', arg: a }, right: b } : undefined;
    }
    case 'byteOrder':
      return undefined; // carried by FieldContract.byteOrder, not an expression
    case 'in': {
      const l = term(c.lhs, name);
      return l ? all(c.rhs.map((v) => ({ op: '==', left: l, right: { int: String(v) } })), '||') : undefined;
    }
    case 'range': {
      const l = term(c.lhs, name);
      return l ? { op: '&&', left: { op: '>=', left: l, right: { int: String(c.min) } }, right: { op: '<=', left: l, right: { int: String(c.max) } } } : undefined;
    }
    default: {
      const op = ({ eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const)[c.op];
      const l = term(c.lhs, name);
      const r = term(c.rhs, name);
      return l && r ? { op, left: l, right: r } : undefined;
    }
  }
}

/**
 * The conditions of a contract that the verifier may assume on one probe: guaranteed by the
 * kernel (see the module comment) and about values that probe can read.
 */
export function preconditionsFor(c: Contract, provider: string): ContractExpr[] {
  return conditionsFor(c, provider, (k) => isKernelGuarantee(k.source)).map((x) => x.expr);
}

/**
 * The hints of a contract on one probe: a tracepoint's print tables (`print-fmt`) and documented
 * facts (`doc`, `documented.ts`), never an LLM's reading. The verifier uses them only to accept an
 * `assume` they imply, and reports each one it used ("proved under hints").
 */
export function hintsFor(c: Contract, provider: string): ContractHint[] {
  const all = { ...c, conditions: [...c.conditions, ...documentedHints(c)] } as Contract;
  return conditionsFor(all, provider, (k) => k.source === 'print-fmt' || k.source === 'doc').map(({ expr, cond }) => ({
    expr,
    text: hintText(c, cond, expr),
    source: hintSource(c, cond),
  }));
}

function hintSource(c: Contract, k: Condition): string {
  if (k.source === 'print-fmt') return `print table of ${c.id} (__print_symbolic in its format; it names the values the kernel pretty-prints, other values can occur)`;
  return k.note ? `kernel documentation: ${k.note}` : `kernel documentation of ${c.id}`;
}

function hintText(c: Contract, k: Condition, expr: ContractExpr): string {
  const e = k.expr;
  if (e.op === 'in' && typeof e.lhs === 'object' && 'field' in e.lhs && !e.lhs.path) {
    const field = e.lhs.field;
    const v = c.kind === 'tracepoint' ? c.fields.find((f) => f.name === field) : undefined;
    const names = new Map((v?.enum?.values ?? []).map((x) => [String(x.value), x.name]));
    const vals = e.rhs.map((x) => (names.has(String(x)) ? `${names.get(String(x))} (${String(x)})` : String(x)));
    return `${exprText(expr).split(' == ')[0] ?? field} is one of ${vals.join(', ')}`;
  }
  return exprText(expr);
}

const PRECEDENCE = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 3, '<=': 3, '>': 3, '>=': 3, '|': 4, '&': 5, '+': 6, '-': 6 } as const;

/** A contract expression as bpftrace text (`args->ret >= -4095`). */
export function exprText(e: ContractExpr): string {
  if ('field' in e) return `args->${e.field}`;
  if ('builtin' in e) return e.builtin;
  if ('int' in e) return e.int;
  if (e.op === '!') return `!(${exprText(e.arg)})`;
  const prec = (x: ContractExpr): number => ('op' in x && x.op !== '!' ? PRECEDENCE[x.op] : 9);
  const side = (x: ContractExpr): string => (prec(x) < PRECEDENCE[e.op] ? `(${exprText(x)})` : exprText(x));
  return `${side(e.left)} ${e.op} ${side(e.right)}`;
}

function conditionsFor(c: Contract, provider: string, wanted: (k: Condition) => boolean): { expr: ContractExpr; cond: Condition }[] {
  let name: NameMap;
  let applies: (k: Condition) => boolean;
  if (c.kind === 'tracepoint') {
    name = (f) => ({ field: f });
    applies = (k) => k.kind === 'pre';
  } else {
    const idx = new Map(c.args.map((a, i) => [a.name, i]));
    // kprobe's argN and kretprobe's retval are whole 64-bit registers. The ABI leaves the upper
    // bits of a narrower argument or return value undefined (an `int` -1 often arrives as
    // 0xffffffff), so a condition over a narrower value says nothing about the register.
    const fullRegister = (v: ValueContract | undefined): boolean => v !== undefined && v.bits === 64;
    const byName = new Map(c.args.map((a) => [a.name, a]));
    if (provider === 'kprobe') {
      name = (f) => (idx.has(f) && fullRegister(byName.get(f)) ? { builtin: `arg${idx.get(f)}` } : undefined);
      applies = (k) => k.kind === 'pre';
    } else if (provider === 'kretprobe') {
      // Arguments are not readable at return in a kretprobe.
      name = () => undefined;
      applies = (k) => k.kind === 'post' && fullRegister(c.ret);
    } else if (provider === 'kfunc') {
      name = (f) => (idx.has(f) ? { field: f } : undefined);
      applies = (k) => k.kind === 'pre';
    } else if (provider === 'kretfunc') {
      name = (f) => (idx.has(f) ? { field: f } : undefined);
      applies = () => true;
    } else return [];
  }
  const out: { expr: ContractExpr; cond: Condition }[] = [];
  for (const k of c.conditions) {
    if (!applies(k) || !wanted(k)) continue;
    // A top-level conjunction may lose only its untranslatable conjuncts.
    const parts = k.expr.op === 'and' ? k.expr.args : [k.expr];
    for (const p of parts) {
      const e = toContractExpr(p, name);
      if (e) out.push({ expr: e, cond: parts.length === 1 ? k : { ...k, expr: p } });
    }
  }
  return out;
}

/** The verifier's provider over a contract source (the daemon's ContractService, or the host directly). */
export function verifierProvider(src: ContractSource): ProbeContractProvider {
  const tracepoint = (category: string, event: string): Contract | undefined | Promise<Contract | undefined> =>
    src.contract(`tracepoint:${category}:${event}`);
  return {
    async tracepointFields(category, event) {
      const c = await tracepoint(category, event);
      return c && c.kind === 'tracepoint' ? c.fields.map(fieldContractOf) : undefined;
    },
    async kernelField(structName, fieldPath) {
      const m = await src.member(structName.replace(/^(struct|union)\s+/, ''), fieldPath);
      return m ? { ...fieldContractOf(m.value), name: fieldPath.at(-1) ?? m.value.name, offset: m.offset } : undefined;
    },
    async preconditions(probe: ProbeRef) {
      if (probe.provider === 'tracepoint') {
        const [cat, ev] = probe.target;
        const c = cat && ev ? await tracepoint(cat, ev) : undefined;
        return c ? preconditionsFor(c, 'tracepoint') : [];
      }
      const fn = probe.target[0];
      const c = fn ? await src.contract(`function:${fn}`) : undefined;
      return c ? preconditionsFor(c, probe.provider) : [];
    },
    async hints(probe: ProbeRef) {
      if (probe.provider === 'tracepoint') {
        const [cat, ev] = probe.target;
        const c = cat && ev ? await tracepoint(cat, ev) : undefined;
        return c ? hintsFor(c, 'tracepoint') : [];
      }
      const fn = probe.target[0];
      const c = fn ? await src.contract(`function:${fn}`) : undefined;
      return c ? hintsFor(c, probe.provider) : [];
    },
  };
}

/** The provider over the daemon's contract service (the running kernel's contracts). */
export function kernelContractProvider(service: {
  contract(id: string): Contract | undefined;
  member(structName: string, path: readonly string[]): Promise<MemberContract | undefined>;
}): ProbeContractProvider {
  return verifierProvider({ contract: (id) => service.contract(id), member: (s, p) => service.member(s, p).catch(() => undefined) });
}
