/**
 * Stored form of contracts. Everything derivable from the types alone (how each probe names a
 * value, the structural conditions) is left out of the database and recomputed on lookup, which
 * is cheap and keeps a full build's writes small. Conditions from the LLM are stored separately
 * (per kernel identity) and merged by the service.
 */
import { valueConditions } from './derive.js';
import type { Contract, FunctionContract, TracepointContract, ValueContract } from './model.js';

/** Drops derivable parts. */
export function toStored(c: Contract): Contract {
  const strip = (v: ValueContract): ValueContract => {
    const { access: _a, ...rest } = v;
    return rest as ValueContract;
  };
  if (c.kind === 'function') {
    return { ...c, args: c.args.map(strip), ...(c.ret ? { ret: strip(c.ret) } : {}), conditions: c.conditions.filter((k) => k.source === 'llm') };
  }
  return { ...c, fields: c.fields.map(strip), conditions: c.conditions.filter((k) => k.source === 'llm') };
}

/** Restores access names and structural conditions (before any stored LLM conditions). */
export function fromStored(c: Contract): Contract {
  if (c.kind === 'function') {
    const args = c.args.map((a, i) => ({ ...a, access: { kprobe: `arg${i}`, kfunc: `args->${a.name}`, kretfunc: `args->${a.name}` } }));
    const ret = c.ret ? { ...c.ret, access: { kretprobe: 'retval', kretfunc: 'retval' } } : undefined;
    const conditions = [...args.flatMap((a) => valueConditions(a, 'pre')), ...(ret ? valueConditions(ret, 'post', { ret: true }) : []), ...c.conditions];
    return { ...c, args, ...(ret ? { ret } : {}), conditions } satisfies FunctionContract;
  }
  const fields = c.fields.map((f) => ({ ...f, access: { tracepoint: f.dataLoc ? `str(args->${f.name})` : `args->${f.name}` } }));
  return { ...c, fields, conditions: [...fields.flatMap((f) => valueConditions(f, 'pre')), ...c.conditions] } satisfies TracepointContract;
}
