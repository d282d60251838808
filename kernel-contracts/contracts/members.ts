/**
 * Member paths through stored struct layouts: `struct:sock:__sk_common.skc_dport` walks
 * `struct sock` -> member `__sk_common` (a `struct sock_common`) -> `skc_dport`, searching
 * anonymous struct/union members on the way, never crossing a pointer.
 */
import { valueConditions } from './derive.js';
import type { MemberContract, StructLayout, StructMember, ValueContract } from './model.js';

/** Looks up a layout by key (`struct sock`, `union bpf_attr`). */
export type LayoutLookup = (key: string) => StructLayout | undefined;

/** Finds a named member, looking through anonymous members; returns it with its bit offset from the layout's start. */
function findMember(members: readonly StructMember[], name: string, base = 0): { m: StructMember; bitOffset: number } | undefined {
  for (const m of members) {
    if (m.name === name) return { m, bitOffset: base + m.bitOffset };
  }
  for (const m of members) {
    if (m.name === '' && m.inline) {
      // Inline members carry offsets relative to the outer layout already.
      const hit = findMember(m.inline, name, base);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Resolves a member path; undefined when any step is missing or would cross a pointer. */
export function resolveMemberPath(lookup: LayoutLookup, structKey: string, path: readonly string[]): { member: StructMember; bitOffset: number } | undefined {
  let layout = lookup(structKey);
  let members = layout?.members;
  let offset = 0;
  let found: { member: StructMember; bitOffset: number } | undefined;
  for (let i = 0; i < path.length; i++) {
    if (!members) return undefined;
    const hit = findMember(members, path[i]!);
    if (!hit) return undefined;
    offset += hit.bitOffset;
    found = { member: hit.m, bitOffset: offset };
    if (i < path.length - 1) {
      if (hit.m.inline && hit.m.name !== '') members = hit.m.inline.map((x) => ({ ...x, bitOffset: x.bitOffset - hit.m.bitOffset }));
      else if (hit.m.nested) {
        layout = lookup(hit.m.nested);
        members = layout?.members;
      } else return undefined;
    }
  }
  return found;
}

/** The contract of a member reached through a path. */
export function memberContract(lookup: LayoutLookup, structName: string, union: boolean, path: readonly string[]): MemberContract | undefined {
  const key = `${union ? 'union' : 'struct'} ${structName}`;
  const r = resolveMemberPath(lookup, key, path);
  if (!r) return undefined;
  const m = r.member;
  const value: ValueContract = {
    name: path.at(-1)!,
    access: { bpftrace: `((${key} *)PTR)->${path.join('.')}` },
    type: m.type,
    kind: m.kind,
    bits: m.bits,
    signed: m.signed,
    byteOrder: m.byteOrder,
    size: m.size,
    offset: Math.floor(r.bitOffset / 8),
    ...(m.bitSize ? { bitOffset: r.bitOffset, bitSize: m.bitSize } : {}),
    ...(m.kind === 'pointer' ? { nullable: true } : {}),
    ...(m.pointee ? { pointee: m.pointee } : {}),
    ...(m.arrayLength !== undefined ? { arrayLength: m.arrayLength } : {}),
    ...(m.enum ? { enum: m.enum } : {}),
  };
  const conditions = valueConditions(value, 'pre', { field: structName, path });
  return {
    kind: 'member',
    id: `${union ? 'union' : 'struct'}:${structName}:${path.join('.')}`,
    struct: key,
    path,
    value,
    offset: Math.floor(r.bitOffset / 8),
    bitOffset: r.bitOffset,
    conditions,
  };
}
