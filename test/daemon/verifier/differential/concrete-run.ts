/**
 * Concrete mode of the executor: runs a program with every input given a known value and reads
 * off what each `assert(printed(I) OP ...)` site would see, without a solver. Used by the
 * differential tests against real bpftrace: the same program text is run by bpftrace and here,
 * and the printed values are compared.
 *
 * Built on the executor's public result only (obligations, their path conditions and the terms of
 * the assertion's left side), evaluated with `smt/term.ts`'s `evaluate` under the caller's input
 * assignment, so it survives refactors of the executor's internals.
 */
import type { Program } from '../../../../daemon/verifier/frontend/ast.js';
import { evaluate, type Leaf, type Term, TermBuilder } from '../../../../daemon/verifier/smt/term.js';
import type { ProbeContractProvider } from '../../../../daemon/verifier/contract-seam.js';
import { ContractCache } from '../../../../daemon/verifier/symbolic/contract-cache.js';
import { bpftraceTarget } from './target.js';
import { Executor, type ExecResult, type Obligation } from '../../../../daemon/verifier/symbolic/executor.js';
import type { Ty } from '../../../../daemon/verifier/symbolic/values.js';

/** A value the executor computed, as it would be printed. */
export type ConcreteValue =
  /** `bits`: the value's 64-bit (or wider) term as an unsigned number; `ty` its bpftrace type. */
  | { readonly kind: 'int'; readonly bits: bigint; readonly ty: Ty }
  | { readonly kind: 'bool'; readonly value: boolean }
  /** Bytes up to the first NUL. */
  | { readonly kind: 'str'; readonly text: string };

/** What one `assert` site sees in concrete mode. */
export type SiteOutcome =
  | { readonly status: 'reached'; readonly value: ConcreteValue }
  /** No path reaching the site has a true path condition under the inputs. */
  | { readonly status: 'not-reached' }
  | { readonly status: 'error'; readonly reason: string };

/** The outcome per `assert` site, in the order of `ExecResult.sites` (source order). */
export interface ConcreteRun {
  readonly sites: readonly SiteOutcome[];
  readonly exec: ExecResult;
}

/**
 * Values of inputs: return a value for a leaf term (a builtin like `pid`, a field, an uninterpreted
 * read, an element of a map's contents before the invocation), or undefined when the caller does
 * not know it (the site then reports an error naming the input).
 */
export type InputAssignment = (t: Term, args: readonly bigint[]) => bigint | boolean | undefined;

class UnassignedInput extends Error {}

function describeLeaf(t: Term, args: readonly bigint[]): string {
  const name = t.name ?? `#${t.id}`;
  return args.length > 0 ? `${name}(${args.join(', ')})` : name;
}

function decodeString(bits: bigint, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) {
    const c = Number((bits >> BigInt(8 * i)) & 0xffn);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Runs `program` in concrete mode. Each assertion site's left side (for `a OP b` assertions; the
 * whole assertion otherwise) is evaluated on the one path whose contract preconditions, path
 * condition and assumptions are true under `inputs`.
 */
export async function runConcrete(program: Program, contracts: ProbeContractProvider, inputs: InputAssignment): Promise<ConcreteRun> {
  const cache = new ContractCache(contracts);
  let exec = new Executor(new TermBuilder(), { contracts: cache, dialect: bpftraceTarget().dialect }).run(program);
  for (let round = 0; round < 3 && cache.hasPending; round++) {
    await cache.settle();
    exec = new Executor(new TermBuilder(), { contracts: cache, dialect: bpftraceTarget().dialect }).run(program);
  }
  const memo = new Map<number, bigint | boolean>();
  const leaves = new Map<string, bigint | boolean>();
  const leaf: Leaf = (t, args) => {
    const key = `${t.id}(${args.join(',')})`;
    const hit = leaves.get(key);
    if (hit !== undefined) return hit;
    const def = t.op === 'var' && t.name !== undefined ? exec.definitions.get(t.name) : undefined;
    const v = def ? evaluate(def, leaf, memo) : inputs(t, args);
    if (v === undefined) {
      const why = t.name !== undefined ? exec.opaque.get(t.name) : undefined;
      throw new UnassignedInput(`the value depends on ${describeLeaf(t, args)}${why ? ` (${why})` : ', an input with no assigned value'}`);
    }
    leaves.set(key, v);
    return v;
  };
  const ev = (t: Term): bigint | boolean => evaluate(t, leaf, memo);
  const sites: SiteOutcome[] = exec.sites.map((site) => {
    const unknown = exec.unknowns.get(site.stmt);
    if (unknown !== undefined) return { status: 'error', reason: `not modelled: ${unknown}` };
    const live: Obligation[] = [];
    try {
      for (const ob of exec.obligations) {
        if (ob.site !== site) continue;
        if (ev(ob.pre) === true && ev(ob.pc) === true && ev(ob.assumptions) === true) live.push(ob);
      }
    } catch (err) {
      return { status: 'error', reason: `path condition: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (live.length > 1) return { status: 'error', reason: `${live.length} paths reach the assertion under the same inputs` };
    const ob = live[0];
    if (!ob) {
      const why = exec.incomplete.get(site.probeIndex);
      return why !== undefined ? { status: 'error', reason: `probe not fully explored: ${why}` } : { status: 'not-reached' };
    }
    try {
      if (!ob.sides) return { status: 'reached', value: { kind: 'bool', value: ev(ob.goal) === true } };
      const val = ob.sides.left.val;
      const v = ev(val.t);
      if (typeof v === 'boolean') return { status: 'reached', value: { kind: 'bool', value: v } };
      if (val.ty.k === 'str') return { status: 'reached', value: { kind: 'str', text: decodeString(v, val.ty.size) } };
      return { status: 'reached', value: { kind: 'int', bits: v, ty: val.ty } };
    } catch (err) {
      return { status: 'error', reason: err instanceof Error ? err.message : String(err) };
    }
  });
  return { sites, exec };
}
