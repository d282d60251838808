/**
 * Counterexamples in bpftrace terms: the concrete inputs, what the program computed, and one line
 * for humans and for LLM feedback (`args->dport = 20480 (0x5000) -> printed $dport = 20480, expected 80`).
 */
import type { Counterexample } from '../report.js';
import { freeSymbols, type Term } from '../smt/term.js';
import type { Obligation } from './executor.js';
import { decodeString, type Val } from './values.js';

export type ValueOf = (t: Term) => bigint | boolean | undefined;

function toSigned(v: bigint, w: number): bigint {
  return v >= 1n << BigInt(w - 1) ? v - (1n << BigInt(w)) : v;
}

/** A value as bpftrace would print it: signed decimal for signed types, strings quoted. */
export function formatVal(val: Val, value: ValueOf): string | undefined {
  const ty = val.ty;
  if (ty.k === 'tuple' && val.parts) {
    const parts = val.parts.map((p) => formatVal(p, value) ?? '?');
    return `(${parts.join(', ')})`;
  }
  const v = value(val.t);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  switch (ty.k) {
    case 'int':
      return (ty.signed ? toSigned(v, 64) : v).toString();
    case 'bool':
      return v !== 0n ? 'true' : 'false';
    case 'str':
      return JSON.stringify(decodeString(v, ty.size));
    case 'ptr':
      return `0x${v.toString(16)}`;
    case 'array': {
      const out: string[] = [];
      for (let i = 0; i < ty.count; i++) {
        const e = (v >> BigInt(i * ty.elemSize * 8)) & ((1n << BigInt(ty.elemSize * 8)) - 1n);
        out.push((ty.signed ? toSigned(e, ty.elemSize * 8) : e).toString());
      }
      return `[${out.join(', ')}]`;
    }
    case 'inet': {
      const tag = Number(v >> 128n);
      const addr = v & ((1n << 128n) - 1n);
      if (tag === 2) {
        const bytes = [0, 1, 2, 3].map((i) => Number((addr >> BigInt(8 * i)) & 0xffn));
        return bytes.join('.');
      }
      return `inet(${tag}, 0x${addr.toString(16)})`;
    }
    default:
      return v.toString();
  }
}

/** Adds the hex form for integers where it helps (wide values, network-order fields). */
function withHex(val: Val, text: string): string {
  if (val.ty.k !== 'int' || !/^\d+$/.test(text)) return text;
  const n = BigInt(text);
  return n >= 256n ? `${text} (0x${n.toString(16)})` : text;
}

/**
 * Builds the counterexample of an obligation from a model. `inputs` are all input values the
 * executor saw; only those the failing formula mentions are shown.
 */
export function renderCounterexample(
  ob: Obligation,
  formula: Term,
  inputs: ReadonlyMap<string, Val>,
  value: ValueOf,
): Counterexample {
  const syms = new Set(freeSymbols([formula]).keys());
  const inRec: Record<string, string> = {};
  const inText: string[] = [];
  for (const [name, val] of inputs) {
    const used = [...freeSymbols([val.t]).keys()];
    if (used.length === 0 || !used.every((s) => syms.has(s))) continue;
    const f = formatVal(val, value);
    if (f === undefined) continue;
    inRec[name] = f;
    inText.push(`${name} = ${withHex(val, f)}`);
  }
  const computed: Record<string, string> = {};
  for (const c of ob.computed) {
    const f = formatVal(c.val, value);
    if (f !== undefined) computed[c.name] = f;
  }
  let outcome: string;
  const sides = ob.sides;
  const l = sides ? formatVal(sides.left.val, value) : undefined;
  const r = sides ? formatVal(sides.right.val, value) : undefined;
  if (sides && l !== undefined && r !== undefined) {
    if (sides.op === '==') outcome = `${sides.left.name} = ${l}, expected ${r}`;
    else outcome = `${sides.left.name} = ${l}, ${sides.right.name} = ${r}, so ${ob.site.text} is false`;
  } else {
    const shown = Object.entries(computed).map(([k, v]) => `${k} = ${v}`);
    outcome = shown.length > 0 ? `${shown.join(', ')}, so ${ob.site.text} is false` : `${ob.site.text} is false`;
  }
  const summary = inText.length > 0 ? `${inText.join(', ')} -> ${outcome}` : outcome;
  return { inputs: inRec, computed, summary };
}
