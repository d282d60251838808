/**
 * Adapter from kernel contracts to the symbolic verifier's contracts seam
 * (daemon/verifier/contracts.ts): tracepoint fields, kernel struct members and extra
 * preconditions, translated from the contract language into the verifier's `ContractExpr`.
 */
import type { ContractExpr, FieldContract, ProbeContractProvider, ProbeRef } from '../daemon/verifier/contracts.js';
import type { Cond, Condition, Term } from './contracts/expr.js';
import type { Contract, MemberContract, ValueContract } from './contracts/model.js';

/** What the adapter needs from the service; all synchronous except member lookups. */
export interface ContractSource {
  contract(id: string): Contract | undefined;
  member(structName: string, path: readonly string[]): Promise<MemberContract | undefined>;
}

/** A contract value as the verifier's FieldContract (bpftrace's view of it). */
export function fieldContractOf(v: ValueContract): FieldContract {
  const base = { name: v.name, cType: v.type } as const;
  const byteOrder = v.byteOrder === 'big' ? 'big' : 'host';
  if (v.dataLoc) return { ...base, kind: 'string', size: 64, signed: false, byteOrder: 'host' };
  if (v.arrayLength !== undefined) {
    if (v.kind === 'char' || /^(const )?char\[/.test(v.type)) return { ...base, kind: 'string', size: v.size ?? 0, signed: false, byteOrder: 'host' };
    return { ...base, kind: 'array', size: v.size ?? 0, signed: v.signed, byteOrder, elementSize: Math.max(1, v.bits / 8) };
  }
  if (v.kind === 'pointer') return { ...base, kind: 'pointer', size: 8, signed: false, byteOrder: 'host', nullable: v.nullable !== false, ...(v.pointee ? { pointee: v.pointee } : {}) };
  if (v.kind === 'struct' || v.kind === 'union') return { ...base, kind: 'struct', size: v.size ?? 0, signed: false, byteOrder: 'host' };
  const enumDomain = v.enum && !v.enum.flags ? v.enum.values.map((e) => ({ value: BigInt(e.value), name: e.name })) : undefined;
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

/** The conditions of a contract that apply on one probe, as verifier expressions. */
export function preconditionsFor(c: Contract, provider: string): ContractExpr[] {
  let name: NameMap;
  let applies: (k: Condition) => boolean;
  if (c.kind === 'tracepoint') {
    // Types and print-fmt domains already reach the verifier through FieldContract.
    name = (f) => ({ field: f });
    applies = (k) => k.kind === 'pre' && (k.source === 'doc' || k.source === 'llm');
  } else {
    const idx = new Map(c.args.map((a, i) => [a.name, i]));
    if (provider === 'kprobe') {
      name = (f) => (idx.has(f) ? { builtin: `arg${idx.get(f)}` } : undefined);
      applies = (k) => k.kind === 'pre';
    } else if (provider === 'kretprobe') {
      name = () => undefined; // arguments are not readable at return in a kretprobe
      applies = (k) => k.kind === 'post';
    } else if (provider === 'kfunc') {
      name = (f) => (idx.has(f) ? { field: f } : undefined);
      applies = (k) => k.kind === 'pre';
    } else if (provider === 'kretfunc') {
      name = (f) => (idx.has(f) ? { field: f } : undefined);
      applies = () => true;
    } else return [];
  }
  const out: ContractExpr[] = [];
  for (const k of c.conditions) {
    if (!applies(k)) continue;
    // A top-level conjunction may lose only its untranslatable conjuncts.
    const parts = k.expr.op === 'and' ? k.expr.args : [k.expr];
    for (const p of parts) {
      const e = toContractExpr(p, name);
      if (e) out.push(e);
    }
  }
  return out;
}

/** The verifier's provider over a contract source. */
export function verifierProvider(src: ContractSource): ProbeContractProvider {
  return {
    tracepointFields(category, event) {
      const c = src.contract(`tracepoint:${category}:${event}`);
      return c && c.kind === 'tracepoint' ? c.fields.map(fieldContractOf) : undefined;
    },
    async kernelField(structName, fieldPath) {
      const m = await src.member(structName.replace(/^struct\s+/, ''), fieldPath);
      return m ? { ...fieldContractOf(m.value), name: fieldPath.at(-1) ?? m.value.name } : undefined;
    },
    preconditions(probe: ProbeRef) {
      if (probe.provider === 'tracepoint') {
        const [cat, ev] = probe.target;
        const c = cat && ev ? src.contract(`tracepoint:${cat}:${ev}`) : undefined;
        return c ? preconditionsFor(c, 'tracepoint') : [];
      }
      const fn = probe.target[0];
      const c = fn ? src.contract(`function:${fn}`) : undefined;
      return c ? preconditionsFor(c, probe.provider) : [];
    },
  };
}
