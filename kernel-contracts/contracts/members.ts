/**
 * Member paths through BTF: `struct:sock:__sk_common.skc_dport` walks `struct sock` -> member
 * `__sk_common` (a `struct sock_common`) -> `skc_dport`, searching anonymous members on the way
 * and never crossing a pointer (the kernel reader's `resolveFieldPath`).
 */
import type { Btf } from '../kernel-reader/btf/types.js';
import { valueConditions } from './derive.js';
import { typeInfoOf } from './btf-adapter.js';
import type { EnumDomain, MemberContract, ValueContract } from './model.js';

/** The contract of a member reached through a path in a struct (or union) of this BTF. */
export function memberContract(btf: Btf, structName: string, union: boolean, path: readonly string[], enums = new Map<string, EnumDomain | undefined>()): MemberContract | undefined {
  const ids = btf.findByName(structName, union ? 'UNION' : 'STRUCT');
  const id = ids[0];
  if (id === undefined) return undefined;
  const f = btf.resolveFieldPath(id, path.join('.'));
  if (!f) return undefined;
  const t = typeInfoOf(btf, f.typeRef, enums);
  const arr = /\[(\d*)\]$/.exec(f.type);
  const key = `${union ? 'union' : 'struct'} ${structName}`;
  const value: ValueContract = {
    name: path.at(-1)!,
    access: { bpftrace: `((${key} *)PTR)->${path.join('.')}` },
    type: f.type,
    kind: f.bitfield ? 'int' : t.kind,
    bits: f.bitfield ? f.bitSize : t.kind === 'pointer' ? 64 : t.kind === 'array' ? 0 : f.size * 8,
    signed: f.signed,
    byteOrder: f.byteOrder,
    size: f.size,
    ...(arr ? { arrayLength: arr[1] ? Number(arr[1]) : null } : {}),
    offset: f.offset,
    ...(f.bitfield ? { bitOffset: f.bitOffset, bitSize: f.bitSize } : {}),
    ...(t.kind === 'pointer' ? { nullable: true } : {}),
    ...(t.pointee ? { pointee: t.pointee } : {}),
    ...(t.enum ? { enum: t.enum } : {}),
  };
  return {
    kind: 'member',
    id: `${union ? 'union' : 'struct'}:${structName}:${path.join('.')}`,
    struct: key,
    path,
    value,
    offset: f.offset,
    bitOffset: f.bitOffset,
    conditions: valueConditions(value, 'pre', { field: structName, path }),
  };
}
