/**
 * The host's real vmlinux BTF, parsed once per test process, with `functions()` narrowed to a
 * chosen few (plus the first `extra`): builds in tests then take a fraction of a second while
 * every type, struct and enum stays the real kernel's.
 */
import fs from 'node:fs';
import { parseBtf } from '../../../kernel-contracts/kernel-reader/btf/btf.js';
import type { Btf } from '../../../kernel-contracts/kernel-reader/btf/types.js';
import type { BtfLoader } from '../../../kernel-contracts/rebuild/build.js';
import { REAL_BTF } from './fake-kernel.js';

let parsed: Btf | undefined;

export function realBtf(): Btf {
  parsed ??= parseBtf(fs.readFileSync(REAL_BTF), { name: 'vmlinux' });
  return parsed;
}

/** A Btf whose functions() (and iterFunctions()) lists only `names` (and the first `extra` functions). */
export function subsetBtf(btf: Btf, names: readonly string[], extra = 200): Btf {
  const want = new Set(names);
  const all = btf.functions();
  const fns = [...all.slice(0, extra), ...all.filter((f) => want.has(f.name) && all.indexOf(f) >= extra)];
  const wrapper: Record<string, unknown> = {};
  let proto: object | null = btf;
  while (proto && proto !== Object.prototype) {
    for (const k of Object.getOwnPropertyNames(proto)) {
      if (k === 'constructor' || k in wrapper) continue;
      const v = (btf as unknown as Record<string, unknown>)[k];
      wrapper[k] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(btf) : v;
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  wrapper['functions'] = () => fns;
  wrapper['iterFunctions'] = function* () {
    yield* fns;
  };
  wrapper['functionCount'] = () => fns.length;
  return wrapper as unknown as Btf;
}

/** A loader serving the subset for the vmlinux of any fake kernel that has BTF. */
export function subsetLoader(names: readonly string[], extra = 200, gate?: () => Promise<void>): BtfLoader {
  return async (host, opts = {}) => {
    if (gate) await gate();
    if (opts.base) return { vmlinux: undefined, modules: [] };
    const has = await host.exists('/sys/kernel/btf/vmlinux');
    return { vmlinux: has ? subsetBtf(realBtf(), names, extra) : undefined, modules: [] };
  };
}
