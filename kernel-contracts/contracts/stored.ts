/**
 * Stored form of contracts. Everything derivable is left out of the database and recomputed on
 * lookup, which is cheap (microseconds) and keeps a full build's writes small (56k functions):
 * how each probe names a value, the structural conditions, and fields equal to their defaults
 * (`byteOrder: host`, `signed: false`, a pointer's `nullable: true` and pointee, `size` = bits/8,
 * `module: vmlinux`, the generation's default probe list). LLM conditions are stored separately
 * (per kernel identity) and merged by the service.
 */
import { argumentAccess, RETURN_ACCESS, valueConditions } from './derive.js';
import type { Contract, FunctionContract, HookProbeAvailability, TracepointContract, ValueContract } from './model.js';

/** Generation-wide defaults the stored form is relative to. */
export interface StoredDefaults {
  /** The probe list of a function that is traceable (the common case on this kernel). */
  readonly functionProbes?: readonly HookProbeAvailability[];
}

type Loose = Record<string, unknown>;

function pointeeOf(type: string): string {
  return type.replace(/\s*\*$/, '').replace(/^const\s+/, '').trim();
}

function stripValue(v: ValueContract): Loose {
  const o: Loose = { ...v };
  delete o['access'];
  if (o['byteOrder'] === 'host') delete o['byteOrder'];
  if (o['signed'] === false) delete o['signed'];
  if (o['size'] === v.bits / 8 && v.arrayLength === undefined) delete o['size'];
  if (v.kind === 'pointer') {
    if (o['nullable'] === true) delete o['nullable'];
    if (v.pointee !== undefined && v.pointee === pointeeOf(v.type)) delete o['pointee'];
  }
  return o;
}

function restoreValue(o: Loose): ValueContract {
  const v = o as unknown as ValueContract & Loose;
  const kind = v.kind;
  return {
    ...v,
    access: {},
    signed: v.signed ?? false,
    byteOrder: v.byteOrder ?? 'host',
    size: v.size ?? v.bits / 8,
    ...(kind === 'pointer' ? { nullable: v.nullable ?? true, pointee: v.pointee ?? pointeeOf(v.type) } : {}),
  };
}

const sameProbes = (a: readonly HookProbeAvailability[], b: readonly HookProbeAvailability[] | undefined): boolean =>
  !!b && a.length === b.length && a.every((p, i) => p.probe === b[i]!.probe && p.available === b[i]!.available && p.reason === b[i]!.reason);

/** Drops derivable parts (the result is what goes into the database as JSON). */
export function toStored(c: Contract, defaults: StoredDefaults = {}): Loose {
  const llm = c.conditions.filter((k) => k.source === 'llm');
  const o: Loose = { ...c };
  if (llm.length) o['conditions'] = llm;
  else delete o['conditions'];
  if (c.kind === 'function') {
    o['args'] = c.args.map(stripValue);
    if (c.ret) o['ret'] = stripValue(c.ret);
    if (c.module === 'vmlinux') delete o['module'];
    if (sameProbes(c.probes, defaults.functionProbes)) delete o['probes'];
  } else {
    o['fields'] = c.fields.map(stripValue);
  }
  return o;
}

/** Restores access names, defaults and structural conditions (before any stored LLM conditions). */
export function fromStored(o: Loose, defaults: StoredDefaults = {}): Contract {
  const stored = (o['conditions'] as Contract['conditions'] | undefined) ?? [];
  if (o['kind'] === 'function') {
    const c = o as unknown as FunctionContract;
    const args = (o['args'] as Loose[]).map((a, i) => {
      const v = restoreValue(a);
      return { ...v, access: argumentAccess(v.name, i) };
    });
    const ret = o['ret'] ? { ...restoreValue(o['ret'] as Loose), access: { ...RETURN_ACCESS } } : undefined;
    const conditions = [...args.flatMap((a) => valueConditions(a, 'pre')), ...(ret ? valueConditions(ret, 'post', { ret: true }) : []), ...stored];
    return {
      ...c,
      module: c.module ?? 'vmlinux',
      probes: c.probes ?? defaults.functionProbes ?? [],
      args,
      ...(ret ? { ret } : {}),
      conditions,
    } satisfies FunctionContract;
  }
  const c = o as unknown as TracepointContract;
  const fields = (o['fields'] as Loose[]).map((f) => {
    const v = restoreValue(f);
    return { ...v, access: { tracepoint: v.dataLoc ? `str(args->${v.name})` : `args->${v.name}` } };
  });
  return { ...c, fields, conditions: [...fields.flatMap((f) => valueConditions(f, 'pre')), ...stored] } satisfies TracepointContract;
}
