/**
 * From the kernel reader's BTF view to contract inputs: resolved function prototypes, enum
 * domains and struct layouts (with typedef names and byte order kept).
 */
import type { Btf, BtfFunction, MemberLayout, StructLayout as BtfStructLayout, TypeRef } from '../kernel-reader/btf/types.js';
import { fromBigInt } from './expr.js';
import type { ResolvedFunction, TypeInfo } from './derive.js';
import type { EnumDomain, StructLayout, StructMember, ValueKind } from './model.js';

function kindOf(t: TypeRef): ValueKind {
  switch (t.resolvedKind) {
    case 'INT':
      return /\bbool\b|_Bool/.test(t.text) ? 'bool' : /\bchar\b/.test(t.text) && t.size === 1 ? 'char' : 'int';
    case 'PTR':
      return 'pointer';
    case 'ARRAY':
      return 'array';
    case 'STRUCT':
      return 'struct';
    case 'UNION':
      return 'union';
    case 'ENUM':
    case 'ENUM64':
      return 'enum';
    case 'FLOAT':
      return 'float';
    case 'FUNC':
    case 'FUNC_PROTO':
      return 'func';
    case 'void':
      return 'void';
    default:
      return 'unknown';
  }
}

/** Enum domain of a type that resolves to a named enum. Cached per name by the caller. */
export function enumDomainOf(btf: Btf, name: string): EnumDomain | undefined {
  const e = btf.findEnum(name);
  if (!e || e.values.length === 0) return undefined;
  return { source: 'btf-enum', name: e.name, values: e.values.map((v) => ({ name: v.name, value: fromBigInt(v.value) })) };
}

/** Converts a TypeRef to the derivation's TypeInfo. */
export function typeInfoOf(btf: Btf, t: TypeRef, enums: Map<string, EnumDomain | undefined>): TypeInfo {
  const kind = kindOf(t);
  let enumDom: EnumDomain | undefined;
  if (kind === 'enum' && t.targetName) {
    if (!enums.has(t.targetName)) enums.set(t.targetName, enumDomainOf(btf, t.targetName));
    enumDom = enums.get(t.targetName);
  }
  const pointee = kind === 'pointer' ? t.text.replace(/\s*\*$/, '').replace(/^const\s+/, '').trim() : undefined;
  return {
    type: t.text,
    kind,
    bits: kind === 'pointer' ? 64 : t.size * 8,
    signed: t.signed,
    byteOrder: t.byteOrder,
    size: t.size,
    ...(pointee ? { pointee } : {}),
    ...(enumDom ? { enum: enumDom } : {}),
  };
}

/** A BTF function as the derivation wants it. Unnamed parameters become `argN`. */
export function resolveFunction(btf: Btf, fn: BtfFunction, enums: Map<string, EnumDomain | undefined>): ResolvedFunction {
  const ret = fn.returnType.resolvedKind === 'void' ? undefined : typeInfoOf(btf, fn.returnType, enums);
  return {
    name: fn.name,
    module: fn.module,
    linkage: fn.linkage,
    variadic: fn.variadic,
    params: fn.params.map((p, i) => ({ name: p.name || `arg${i}`, type: typeInfoOf(btf, p.type, enums) })),
    ...(ret ? { ret } : {}),
  };
}

function memberOf(btf: Btf, m: MemberLayout, base: number, enums: Map<string, EnumDomain | undefined>): StructMember {
  const info = typeInfoOf(btf, m.type, enums);
  const nestedName = (info.kind === 'struct' || info.kind === 'union') && m.type.targetName ? `${info.kind} ${m.type.targetName}` : undefined;
  const arr = /\[(\d*)\]$/.exec(m.type.text);
  return {
    name: m.name,
    type: m.type.text,
    kind: info.kind,
    bits: m.bitfield ? m.bitSize : info.kind === 'pointer' ? 64 : info.kind === 'array' ? 0 : m.size * 8,
    signed: m.signed,
    byteOrder: m.type.byteOrder,
    bitOffset: m.bitOffset - base,
    ...(m.bitfield ? { bitSize: m.bitSize } : {}),
    size: m.size,
    ...(arr ? { arrayLength: arr[1] ? Number(arr[1]) : null } : {}),
    ...(info.pointee ? { pointee: info.pointee } : {}),
    ...(info.enum ? { enum: info.enum } : {}),
    ...(nestedName && m.name !== '' ? { nested: nestedName } : {}),
    ...(m.members ? { inline: m.members.map((x) => memberOf(btf, x, base, enums)) } : {}),
  };
}

/** A struct/union layout for the store (bit offsets relative to the struct's start). */
export function structLayoutOf(btf: Btf, s: BtfStructLayout, module: string, enums: Map<string, EnumDomain | undefined>): StructLayout {
  return { kind: s.kind, name: s.name, size: s.size, module, members: s.members.map((m) => memberOf(btf, m, 0, enums)) };
}
