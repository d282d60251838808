/**
 * Helpers for unit tests of the executor's modules: an {@link ExecCore} over no contracts (or the
 * given ones), a path state, and exact evaluation of terms with chosen leaf values.
 */
import { EMPTY_CONTRACTS, type ProbeContractProvider } from '../../../../daemon/verifier/contract-seam.js';
import { bvSort, evaluate, TermBuilder, type Term } from '../../../../daemon/verifier/smt/term.js';
import { ContractCache } from '../../../../daemon/verifier/symbolic/contract-cache.js';
import { ExecCore, type PathState } from '../../../../daemon/verifier/symbolic/core.js';
import { evalExpr } from '../../../../daemon/verifier/symbolic/expressions.js';
import { intTy, type Val } from '../../../../daemon/verifier/symbolic/values.js';

export function core(contracts: ProbeContractProvider = EMPTY_CONTRACTS): ExecCore {
  return new ExecCore(new TermBuilder(), { contracts: new ContractCache(contracts) }, evalExpr);
}

export function pathState(): PathState {
  return { pc: [], vars: new Map(), maps: new Map(), updated: new Set(), lastUpdate: new Map(), assumptions: [], flow: 'normal', clocks: new Map() };
}

/** A constant of a C integer type: the 64-bit term bpftrace works with, extended by signedness. */
export function constant(ex: ExecCore, value: bigint, size: number, signed: boolean): Val {
  const b = ex.b;
  return { ty: intTy(size, signed), t: b.resize(b.bv(BigInt.asUintN(size * 8, value), size * 8), 64, signed) };
}

/** A 64-bit input symbol of a C integer type (its low `size` bytes, extended). */
export function input(ex: ExecCore, name: string, size: number, signed: boolean): Val {
  const b = ex.b;
  return { ty: intTy(size, signed), t: b.resize(b.variable(name, bvSort(size * 8)), 64, signed) };
}

/** Evaluates `t` with named leaves; array and unknown leaves throw. */
export function value(t: Term, leaves: Readonly<Record<string, bigint | boolean>> = {}): bigint | boolean {
  return evaluate(t, (leaf) => {
    const v = leaf.name !== undefined ? leaves[leaf.name] : undefined;
    if (v === undefined) throw new Error(`no value for leaf ${leaf.name ?? leaf.op}`);
    return v;
  });
}

/** `t` evaluated as a signed 64-bit integer. */
export function signed64(t: Term, leaves: Readonly<Record<string, bigint | boolean>> = {}): bigint {
  return BigInt.asIntN(64, value(t, leaves) as bigint);
}
