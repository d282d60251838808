/**
 * kgent's own BTF reader: header, type and string sections, every kind, split (module) BTF on top
 * of vmlinux. It indexes type records into typed arrays in one pass and decodes a type only when
 * asked, so loading vmlinux (~130k types) costs tens of milliseconds and little memory.
 */
import { ContractsError } from '../../errors.js';
import type { KernelHost } from '../host.js';
import { BTF_KIND, BTF_KIND_NAMES } from './types.js';
import type {
  Btf,
  BtfFunction,
  BtfKindCounts,
  BtfKindName,
  BtfLinkage,
  BtfMember,
  BtfParam,
  BtfType,
  ByteOrder,
  EnumInfo,
  FieldInfo,
  MemberLayout,
  StructLayout,
  TypedefInfo,
  TypeRef,
} from './types.js';

/** BTF magic, as the first two bytes read in host (little-endian) order. */
export const BTF_MAGIC = 0xeb9f;

const LINKAGES: readonly BtfLinkage[] = ['static', 'global', 'extern'];

const K = BTF_KIND;

/** Options of {@link parseBtf}. */
export interface ParseBtfOptions {
  /** `vmlinux` or a module name; default `vmlinux` without base, `module` with one. */
  readonly name?: string;
  /** Base BTF for split BTF (a module's /sys/kernel/btf/<module>). */
  readonly base?: Btf;
}

/** Parses a BTF blob. Throws `ContractsError('io')` on a malformed blob. */
export function parseBtf(data: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  return new BtfImpl(data, opts);
}

/** Reads and parses /sys/kernel/btf/vmlinux. Throws `ContractsError('kernel-unsupported')` when the kernel has no BTF. */
export async function loadVmlinuxBtf(host: KernelHost): Promise<Btf> {
  const buf = await host.readBytes('/sys/kernel/btf/vmlinux');
  if (!buf) {
    throw new ContractsError(
      'kernel-unsupported',
      'this kernel exposes no BTF (/sys/kernel/btf/vmlinux absent); it needs CONFIG_DEBUG_INFO_BTF=y',
      { host: host.description },
    );
  }
  return parseBtf(buf, { name: 'vmlinux' });
}

/** Names of modules with BTF (/sys/kernel/btf/* except vmlinux). */
export async function listModuleBtf(host: KernelHost): Promise<string[]> {
  return (await host.list('/sys/kernel/btf')).filter((n) => n !== 'vmlinux');
}

/** Reads and parses /sys/kernel/btf/<module>, split on top of `base` (vmlinux). */
export async function loadModuleBtf(host: KernelHost, name: string, base: Btf): Promise<Btf> {
  if (!name || name.includes('/') || name === '.' || name === '..') {
    throw new ContractsError('bad-request', `invalid module name '${name}'`, { name });
  }
  const buf = await host.readBytes(`/sys/kernel/btf/${name}`);
  if (!buf) throw new ContractsError('not-found', `module ${name} has no BTF (/sys/kernel/btf/${name} absent)`, { name });
  return parseBtf(buf, { name, base });
}

function malformed(what: string, data?: Record<string, unknown>): ContractsError {
  return new ContractsError('io', `malformed BTF: ${what}`, data);
}

const BE_RE = /^__be(16|32|64)$/;
const LE_RE = /^__le(16|32|64)$/;

class BtfImpl implements Btf {
  readonly module: string;
  readonly base: BtfImpl | undefined;
  readonly firstId: number;
  readonly lastId: number;
  readonly typeCount: number;

  /** The type section as 32-bit words. */
  private readonly words: Uint32Array;
  /**
   * The string section decoded once as latin1: names are then cheap substrings of it instead of
   * one Buffer decode each.
   */
  private readonly strText: string;
  /** Offsets >= this index into our own string section (split BTF); 0 for vmlinux. */
  private readonly strBase: number;
  /** Word index of each own type's record. */
  private readonly offsets: Uint32Array;
  /** Kind of each own type. */
  private readonly kinds: Uint8Array;
  private readonly nameCache: (string | undefined)[];
  private nameIndex: Map<string, number | number[]> | undefined;
  private readonly refCache = new Map<number, TypeRef>();
  private funcs: BtfFunction[] | undefined;
  private funcCount = -1;
  private enumeratorIndex: Map<string, { id: number; value: bigint }> | undefined;
  private readonly ptrSize: number;

  constructor(data: Uint8Array, opts: ParseBtfOptions) {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length < 24) throw malformed('shorter than its header');
    const magic = buf.readUInt16LE(0);
    if (magic !== BTF_MAGIC) {
      if (magic === 0x9feb) throw new ContractsError('kernel-unsupported', 'big-endian BTF is not supported by this reader');
      throw malformed(`bad magic 0x${magic.toString(16)}`);
    }
    const version = buf.readUInt8(2);
    if (version !== 1) throw malformed(`unsupported version ${version}`);
    const hdrLen = buf.readUInt32LE(4);
    const typeOff = buf.readUInt32LE(8);
    const typeLen = buf.readUInt32LE(12);
    const strOff = buf.readUInt32LE(16);
    const strLen = buf.readUInt32LE(20);
    const tStart = hdrLen + typeOff;
    const sStart = hdrLen + strOff;
    if (tStart + typeLen > buf.length || sStart + strLen > buf.length || typeLen % 4 !== 0) {
      throw malformed('section outside the blob', { hdrLen, typeOff, typeLen, strOff, strLen, size: buf.length });
    }
    // Copy the type section into an aligned word array: Buffers from the pool need not be 4-aligned.
    this.words = new Uint32Array(typeLen / 4);
    new Uint8Array(this.words.buffer).set(buf.subarray(tStart, tStart + typeLen));
    this.strText = buf.toString('latin1', sStart, sStart + strLen);
    this.base = opts.base as BtfImpl | undefined;
    if (this.base && !(this.base instanceof BtfImpl)) throw new ContractsError('internal', 'base BTF must come from parseBtf');
    this.module = opts.name ?? (this.base ? 'module' : 'vmlinux');
    this.strBase = this.base ? this.base.stringSectionEnd() : 0;
    this.firstId = this.base ? this.base.lastId + 1 : 1;

    // One pass: record where each type starts and its kind.
    const w = this.words;
    let cap = Math.max(16, Math.ceil(w.length / 4));
    let offsets = new Uint32Array(cap);
    let kinds = new Uint8Array(cap);
    let n = 0;
    let i = 0;
    while (i < w.length) {
      if (i + 3 > w.length) throw malformed(`truncated type record at word ${i}`);
      const info = w[i + 1] ?? 0;
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      if (n === cap) {
        cap *= 2;
        const o2 = new Uint32Array(cap);
        o2.set(offsets);
        offsets = o2;
        const k2 = new Uint8Array(cap);
        k2.set(kinds);
        kinds = k2;
      }
      offsets[n] = i;
      kinds[n] = kind;
      n++;
      i += 3;
      switch (kind) {
        case K.INT:
        case K.VAR:
        case K.DECL_TAG:
          i += 1;
          break;
        case K.ARRAY:
          i += 3;
          break;
        case K.STRUCT:
        case K.UNION:
        case K.DATASEC:
        case K.ENUM64:
          i += 3 * vlen;
          break;
        case K.ENUM:
        case K.FUNC_PROTO:
          i += 2 * vlen;
          break;
        case K.PTR:
        case K.FWD:
        case K.TYPEDEF:
        case K.VOLATILE:
        case K.CONST:
        case K.RESTRICT:
        case K.FUNC:
        case K.FLOAT:
        case K.TYPE_TAG:
          break;
        default:
          throw malformed(`unknown kind ${kind} at type ${this.firstId + n - 1}`);
      }
    }
    if (i !== w.length) throw malformed('type section ends inside a record');
    this.offsets = offsets.subarray(0, n);
    this.kinds = kinds.subarray(0, n);
    this.typeCount = n;
    this.lastId = this.firstId + n - 1;
    this.nameCache = new Array<string | undefined>(n);
    this.ptrSize = this.base ? this.base.ptrSize : this.guessPointerSize();
  }

  /** End of the string offsets this object answers for (base strings included). */
  private stringSectionEnd(): number {
    return this.strBase + this.strText.length;
  }

  private guessPointerSize(): number {
    // Pointers are as wide as `long`; look for the INT named "long unsigned int" / "long int".
    for (let k = 0; k < Math.min(this.typeCount, 200); k++) {
      if (this.kinds[k] !== K.INT) continue;
      const nm = this.name(this.firstId + k);
      if (nm === 'long unsigned int' || nm === 'long int' || nm === 'unsigned long' || nm === 'long') {
        return this.words[(this.offsets[k] ?? 0) + 2] ?? 8;
      }
    }
    return 8;
  }

  /** Resolves a string offset (split BTF: offsets past the base's strings are ours). */
  str(off: number): string {
    if (off < this.strBase) return this.base ? this.base.str(off) : '';
    const start = off - this.strBase;
    if (start >= this.strText.length) throw malformed(`string offset ${off} out of range`);
    let end = this.strText.indexOf('\0', start);
    if (end < 0) end = this.strText.length;
    return this.strText.slice(start, end);
  }

  private owner(id: number): BtfImpl {
    if (id >= this.firstId && id <= this.lastId) return this;
    if (id < this.firstId && this.base) return this.base.owner(id);
    throw new ContractsError('not-found', `BTF type id ${id} does not exist in ${this.module}`, { id });
  }

  /** Word index of a type record (id must be own). */
  private at(id: number): number {
    return this.offsets[id - this.firstId] ?? 0;
  }

  private kindNum(id: number): number {
    if (id === 0) return K.UNKN;
    const o = this.owner(id);
    return o.kinds[id - o.firstId] ?? 0;
  }

  // Raw field accessors, valid for any id (own or base).
  private info(id: number): { o: BtfImpl; p: number; kind: number; vlen: number; kflag: boolean; sizeOrType: number } {
    const o = this.owner(id);
    const p = o.at(id);
    const info = o.words[p + 1] ?? 0;
    return { o, p, kind: (info >>> 24) & 0x1f, vlen: info & 0xffff, kflag: info >>> 31 === 1, sizeOrType: o.words[p + 2] ?? 0 };
  }

  /** Word `k` of type `id`'s record (0 name, 1 info, 2 size/type, 3.. kind data); no allocation. */
  private w(id: number, k: number): number {
    const o = id >= this.firstId ? this : this.owner(id);
    if (id > o.lastId) this.owner(id);
    return o.words[(o.offsets[id - o.firstId] ?? 0) + k] ?? 0;
  }

  countByKind(): BtfKindCounts {
    const counts = Object.fromEntries(BTF_KIND_NAMES.map((k) => [k, 0])) as Record<BtfKindName, number>;
    for (let k = 0; k < this.typeCount; k++) {
      const nm = BTF_KIND_NAMES[this.kinds[k] ?? 0] ?? 'UNKN';
      counts[nm]++;
    }
    return counts;
  }

  kind(id: number): BtfKindName {
    return BTF_KIND_NAMES[this.kindNum(id)] ?? 'UNKN';
  }

  name(id: number): string {
    if (id === 0) return '';
    const o = this.owner(id);
    const k = id - o.firstId;
    let nm = o.nameCache[k];
    if (nm === undefined) {
      nm = o.str(o.words[o.at(id)] ?? 0);
      o.nameCache[k] = nm;
    }
    return nm;
  }

  resolve(id: number): BtfType {
    if (id === 0) return { id: 0, kind: 'UNKN', name: '' };
    const { o, p, kind, vlen, kflag, sizeOrType } = this.info(id);
    const w = o.words;
    const name = this.name(id);
    const m = p + 3;
    switch (kind) {
      case K.INT: {
        const v = w[m] ?? 0;
        const enc = (v >>> 24) & 0x0f;
        return {
          id,
          kind: 'INT',
          name,
          size: sizeOrType,
          signed: (enc & 1) !== 0,
          char: (enc & 2) !== 0,
          bool: (enc & 4) !== 0,
          bitOffset: (v >>> 16) & 0xff,
          bits: v & 0xff,
        };
      }
      case K.PTR:
        return { id, kind: 'PTR', name: '', type: sizeOrType };
      case K.ARRAY:
        return { id, kind: 'ARRAY', name: '', elemType: w[m] ?? 0, indexType: w[m + 1] ?? 0, nelems: w[m + 2] ?? 0 };
      case K.STRUCT:
      case K.UNION: {
        const members: BtfMember[] = [];
        for (let j = 0; j < vlen; j++) {
          const q = m + 3 * j;
          const off = w[q + 2] ?? 0;
          members.push({
            name: o.str(w[q] ?? 0),
            type: w[q + 1] ?? 0,
            bitOffset: kflag ? off & 0xffffff : off,
            bitSize: kflag ? off >>> 24 : 0,
          });
        }
        return { id, kind: kind === K.STRUCT ? 'STRUCT' : 'UNION', name, size: sizeOrType, kindFlag: kflag, members };
      }
      case K.ENUM: {
        const values: { name: string; value: bigint }[] = [];
        for (let j = 0; j < vlen; j++) {
          const q = m + 2 * j;
          const raw = w[q + 1] ?? 0;
          values.push({ name: o.str(w[q] ?? 0), value: kflag ? BigInt(raw | 0) : BigInt(raw) });
        }
        return { id, kind: 'ENUM', name, size: sizeOrType, signed: kflag, values };
      }
      case K.ENUM64: {
        const values: { name: string; value: bigint }[] = [];
        for (let j = 0; j < vlen; j++) {
          const q = m + 3 * j;
          const u = (BigInt(w[q + 2] ?? 0) << 32n) | BigInt(w[q + 1] ?? 0);
          values.push({ name: o.str(w[q] ?? 0), value: kflag ? BigInt.asIntN(64, u) : u });
        }
        return { id, kind: 'ENUM64', name, size: sizeOrType, signed: kflag, values };
      }
      case K.FWD:
        return { id, kind: 'FWD', name, union: kflag };
      case K.TYPEDEF:
        return { id, kind: 'TYPEDEF', name, type: sizeOrType };
      case K.VOLATILE:
        return { id, kind: 'VOLATILE', name: '', type: sizeOrType };
      case K.CONST:
        return { id, kind: 'CONST', name: '', type: sizeOrType };
      case K.RESTRICT:
        return { id, kind: 'RESTRICT', name: '', type: sizeOrType };
      case K.TYPE_TAG:
        return { id, kind: 'TYPE_TAG', name, type: sizeOrType };
      case K.FUNC:
        return { id, kind: 'FUNC', name, type: sizeOrType, linkage: LINKAGES[vlen] ?? 'static' };
      case K.FUNC_PROTO: {
        const params: { name: string; type: number }[] = [];
        let variadic = false;
        for (let j = 0; j < vlen; j++) {
          const q = m + 2 * j;
          const pn = w[q] ?? 0;
          const pt = w[q + 1] ?? 0;
          // A last parameter with no name and type void marks `...`.
          if (j === vlen - 1 && pn === 0 && pt === 0) {
            variadic = true;
            break;
          }
          params.push({ name: o.str(pn), type: pt });
        }
        return { id, kind: 'FUNC_PROTO', name: '', returnType: sizeOrType, params, variadic };
      }
      case K.VAR:
        return { id, kind: 'VAR', name, type: sizeOrType, linkage: LINKAGES[w[m] ?? 0] ?? 'static' };
      case K.DATASEC: {
        const vars: { type: number; offset: number; size: number }[] = [];
        for (let j = 0; j < vlen; j++) {
          const q = m + 3 * j;
          vars.push({ type: w[q] ?? 0, offset: w[q + 1] ?? 0, size: w[q + 2] ?? 0 });
        }
        return { id, kind: 'DATASEC', name, size: sizeOrType, vars };
      }
      case K.FLOAT:
        return { id, kind: 'FLOAT', name, size: sizeOrType };
      case K.DECL_TAG:
        return { id, kind: 'DECL_TAG', name, type: sizeOrType, componentIdx: (w[m] ?? 0) | 0 };
      default:
        throw malformed(`unknown kind ${kind} for type ${id}`);
    }
  }

  /** The referenced type of a PTR/TYPEDEF/qualifier/TYPE_TAG/FUNC/VAR, or of an ARRAY's element. */
  private target(id: number): number {
    return this.kindNum(id) === K.ARRAY ? this.w(id, 3) : this.w(id, 2);
  }

  skipModifiers(id: number, opts: { readonly typedefs?: boolean } = {}): number {
    const skipTypedefs = opts.typedefs !== false;
    let cur = id;
    for (let guard = 0; guard < 64 && cur !== 0; guard++) {
      const k = this.kindNum(cur);
      if (k === K.CONST || k === K.VOLATILE || k === K.RESTRICT || k === K.TYPE_TAG || (skipTypedefs && k === K.TYPEDEF)) {
        cur = this.target(cur);
      } else break;
    }
    return cur;
  }

  sizeOf(id: number): number {
    let cur = id;
    let mult = 1;
    for (let guard = 0; guard < 64; guard++) {
      if (cur === 0) return 0;
      const kind = this.kindNum(cur);
      const sizeOrType = this.w(cur, 2);
      switch (kind) {
        case K.INT:
        case K.ENUM:
        case K.ENUM64:
        case K.STRUCT:
        case K.UNION:
        case K.FLOAT:
        case K.DATASEC:
          return mult * sizeOrType;
        case K.PTR:
          return mult * this.ptrSize;
        case K.ARRAY:
          mult *= this.w(cur, 5);
          cur = this.w(cur, 3);
          break;
        case K.TYPEDEF:
        case K.CONST:
        case K.VOLATILE:
        case K.RESTRICT:
        case K.TYPE_TAG:
        case K.VAR:
          cur = sizeOrType;
          break;
        default:
          return 0;
      }
    }
    return 0;
  }

  // ---- C rendering ----

  /** Base name of a named/leaf type as C text. */
  private baseName(id: number): string {
    if (id === 0) return 'void';
    const kind = this.kindNum(id);
    const nm = this.name(id);
    switch (kind) {
      case K.STRUCT:
        return nm ? `struct ${nm}` : 'struct {...}';
      case K.UNION:
        return nm ? `union ${nm}` : 'union {...}';
      case K.ENUM:
      case K.ENUM64:
        return nm ? `enum ${nm}` : 'enum {...}';
      case K.FWD:
        return `${this.w(id, 1) >>> 31 ? 'union' : 'struct'} ${nm}`;
      default:
        return nm || '(anon)';
    }
  }

  typeToC(id: number, declName = ''): string {
    return this.render(id, declName, 0);
  }

  private render(id: number, inner: string, depth: number): string {
    if (depth > 64) return `/* cycle */ ${inner}`.trim();
    // `__u16[2]` reads better than `__u16 [2]`; `void (*)(int)` keeps its space.
    const join = (base: string, decl: string): string => (decl ? (decl.startsWith('[') ? base + decl : `${base} ${decl}`) : base);
    if (id === 0) return join('void', inner);
    const kind = this.kindNum(id);
    switch (kind) {
      case K.PTR:
        return this.render(this.target(id), `*${inner}`, depth + 1);
      case K.CONST:
      case K.VOLATILE:
      case K.RESTRICT: {
        const q = kind === K.CONST ? 'const' : kind === K.VOLATILE ? 'volatile' : 'restrict';
        const t = this.target(id);
        const tk = this.kindNum(this.skipTags(t));
        // Qualifier on a pointer (or array) goes right of the `*`; on a base type, in front.
        if (tk === K.PTR) return this.render(t, inner ? `${q} ${inner}` : q, depth + 1);
        // A qualified function type means nothing in C; a qualified array qualifies its elements.
        if (tk === K.FUNC_PROTO) return this.render(t, inner, depth + 1);
        const rest = this.render(t, inner, depth + 1);
        // `const` on an array of `const char` (how BTF spells `const char x[]`) is said once.
        return rest.startsWith(`${q} `) ? rest : `${q} ${rest}`;
      }
      case K.TYPE_TAG:
        // Type tags (`__user`, `__rcu`) are attributes, invisible in plain C text.
        return this.render(this.target(id), inner, depth + 1);
      case K.ARRAY: {
        const elem = this.w(id, 3);
        const n = this.w(id, 5);
        const d = inner.startsWith('*') ? `(${inner})` : inner;
        return this.render(elem, `${d}[${n}]`, depth + 1);
      }
      case K.FUNC_PROTO: {
        const fp = this.resolve(id);
        if (fp.kind !== 'FUNC_PROTO') return join('void', inner);
        const ps = fp.params.map((x) => this.render(x.type, x.name, depth + 1));
        if (fp.variadic) ps.push('...');
        const d = inner.startsWith('*') ? `(${inner})` : inner;
        return this.render(fp.returnType, `${d}(${ps.length ? ps.join(', ') : 'void'})`, depth + 1);
      }
      case K.FUNC:
        return this.render(this.target(id), inner || this.name(id), depth + 1);
      case K.VAR:
        return this.render(this.target(id), inner || this.name(id), depth + 1);
      default:
        return join(this.baseName(id), inner);
    }
  }

  private skipTags(id: number): number {
    let cur = id;
    for (let g = 0; g < 64 && cur !== 0 && this.kindNum(cur) === K.TYPE_TAG; g++) cur = this.target(cur);
    return cur;
  }

  typeRef(id: number): TypeRef {
    const cached = this.refCache.get(id);
    if (cached) return cached;
    const text = this.typeToC(id);
    let byteOrder: ByteOrder = 'host';
    let cur = id;
    for (let guard = 0; guard < 64 && cur !== 0; guard++) {
      const k = this.kindNum(cur);
      if (k === K.TYPEDEF) {
        const nm = this.name(cur);
        if (BE_RE.test(nm)) {
          byteOrder = 'big';
          break;
        }
        if (LE_RE.test(nm)) {
          byteOrder = 'little';
          break;
        }
        cur = this.target(cur);
      } else if (k === K.CONST || k === K.VOLATILE || k === K.RESTRICT || k === K.TYPE_TAG) {
        cur = this.target(cur);
      } else break;
    }
    const r = this.skipModifiers(id);
    const rk = r === 0 ? 'void' : this.kind(r);
    let signed = false;
    if (rk === 'INT') signed = ((this.w(r, 3) >>> 24) & 1) !== 0;
    else if (rk === 'ENUM' || rk === 'ENUM64') signed = this.w(r, 1) >>> 31 === 1;
    let targetName: string | undefined;
    const named = rk === 'PTR' ? this.skipModifiers(this.target(r)) : r;
    if (named !== 0) {
      const nk = this.kindNum(named);
      if (nk === K.STRUCT || nk === K.UNION || nk === K.ENUM || nk === K.ENUM64 || nk === K.FWD) {
        const nm = this.name(named);
        if (nm) targetName = nm;
      }
    }
    const ref: TypeRef = {
      id,
      text,
      resolvedKind: rk,
      size: rk === 'FUNC_PROTO' || rk === 'FUNC' ? 0 : this.sizeOf(r),
      signed,
      byteOrder,
      pointer: rk === 'PTR',
      ...(targetName !== undefined ? { targetName } : {}),
    };
    this.refCache.set(id, ref);
    return ref;
  }

  // ---- names ----

  private buildNameIndex(): Map<string, number | number[]> {
    if (this.nameIndex) return this.nameIndex;
    // Most names are unique: store a bare id, and an array only for shared names.
    const idx = new Map<string, number | number[]>();
    for (let k = 0; k < this.typeCount; k++) {
      const p = this.offsets[k] ?? 0;
      if ((this.words[p] ?? 0) === 0) continue;
      const id = this.firstId + k;
      const nm = this.name(id);
      const prev = idx.get(nm);
      if (prev === undefined) idx.set(nm, id);
      else if (typeof prev === 'number') idx.set(nm, [prev, id]);
      else prev.push(id);
    }
    this.nameIndex = idx;
    return idx;
  }

  findByName(name: string, kind?: BtfKindName): number[] {
    const hit = this.buildNameIndex().get(name);
    const own = hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit;
    const all = this.base ? [...own, ...this.base.findByName(name)] : own;
    if (kind === undefined) return [...all];
    const kn = BTF_KIND[kind];
    return all.filter((id) => this.kindNum(id) === kn);
  }

  // ---- functions ----

  functionCount(): number {
    if (this.funcCount < 0) {
      let c = 0;
      for (let k = 0; k < this.typeCount; k++) if (this.kinds[k] === K.FUNC) c++;
      this.funcCount = c;
    }
    return this.funcCount;
  }

  private makeFunction(id: number): BtfFunction {
    const vlen = this.w(id, 1) & 0xffff;
    const protoId = this.w(id, 2);
    const params: BtfParam[] = [];
    let returnType = this.typeRef(0);
    let variadic = false;
    if (protoId !== 0 && this.kindNum(protoId) === K.FUNC_PROTO) {
      // Read the prototype's words directly: this runs for every kernel function.
      const po = this.owner(protoId);
      returnType = this.typeRef(this.w(protoId, 2));
      const pv = this.w(protoId, 1) & 0xffff;
      for (let j = 0; j < pv; j++) {
        const pn = this.w(protoId, 3 + 2 * j);
        const pt = this.w(protoId, 4 + 2 * j);
        if (j === pv - 1 && pn === 0 && pt === 0) {
          variadic = true;
          break;
        }
        params.push({ name: po.str(pn), type: this.typeRef(pt) });
      }
    }
    const owner = this.owner(id);
    return { id, name: this.name(id), linkage: LINKAGES[vlen] ?? 'static', protoId, returnType, params, variadic, module: owner.module };
  }

  functions(): BtfFunction[] {
    if (!this.funcs) {
      const out: BtfFunction[] = [];
      for (let k = 0; k < this.typeCount; k++) if (this.kinds[k] === K.FUNC) out.push(this.makeFunction(this.firstId + k));
      this.funcs = out;
    }
    return this.funcs;
  }

  /** Every FUNC, made one at a time and not kept: for a single pass over 56k functions without holding them all. */
  *iterFunctions(): Generator<BtfFunction> {
    if (this.funcs) {
      yield* this.funcs;
      return;
    }
    for (let k = 0; k < this.typeCount; k++) if (this.kinds[k] === K.FUNC) yield this.makeFunction(this.firstId + k);
  }

  findFunction(name: string): BtfFunction | undefined {
    const id = this.findByName(name, 'FUNC')[0];
    return id === undefined ? undefined : this.makeFunction(id);
  }

  // ---- structs ----

  private pickComposite(name: string, union: boolean | undefined): number | undefined {
    const bare = name.replace(/^(struct|union)\s+/, '');
    const wantUnion = union ?? name.startsWith('union ');
    const kinds: BtfKindName[] = name.startsWith('struct ') || name.startsWith('union ') || union !== undefined ? [wantUnion ? 'UNION' : 'STRUCT'] : ['STRUCT', 'UNION'];
    for (const k of kinds) {
      const ids = this.findByName(bare, k);
      // Prefer a complete definition (members present) when several share the name.
      const best = ids.find((x) => (this.w(x, 1) & 0xffff) > 0) ?? ids[0];
      if (best !== undefined) return best;
    }
    return undefined;
  }

  findStruct(name: string, opts: { readonly union?: boolean } = {}): StructLayout | undefined {
    const id = this.pickComposite(name, opts.union);
    return id === undefined ? undefined : this.structLayout(id);
  }

  structLayout(id: number): StructLayout | undefined {
    const r = this.skipModifiers(id);
    const t = r === 0 ? undefined : this.resolve(r);
    if (!t || (t.kind !== 'STRUCT' && t.kind !== 'UNION')) return undefined;
    return { id: r, name: t.name, kind: t.kind === 'STRUCT' ? 'struct' : 'union', size: t.size, members: this.layoutMembers(t.members, 0, 0) };
  }

  /** Bit offset and width of a member, handling both bitfield encodings. */
  private memberBits(m: BtfMember, base: number): { bitOffset: number; bitSize: number; bitfield: boolean; size: number } {
    const size = this.sizeOf(m.type);
    if (m.bitSize > 0) return { bitOffset: base + m.bitOffset, bitSize: m.bitSize, bitfield: true, size };
    // Without kind_flag, a bitfield is an INT whose nr_bits/offset say so.
    const r = this.skipModifiers(m.type);
    if (r !== 0 && this.kindNum(r) === K.INT) {
      const v = this.w(r, 3);
      const bits = v & 0xff;
      const off = (v >>> 16) & 0xff;
      if (bits !== size * 8 || off !== 0) return { bitOffset: base + m.bitOffset + off, bitSize: bits, bitfield: true, size };
    }
    return { bitOffset: base + m.bitOffset, bitSize: size * 8, bitfield: false, size };
  }

  private layoutMembers(members: readonly BtfMember[], base: number, depth: number): MemberLayout[] {
    const out: MemberLayout[] = [];
    for (const m of members) {
      const bits = this.memberBits(m, base);
      const type = this.typeRef(m.type);
      let nested: MemberLayout[] | undefined;
      if (m.name === '' && depth < 32) {
        const r = this.skipModifiers(m.type);
        const t = r === 0 ? undefined : this.resolve(r);
        if (t && (t.kind === 'STRUCT' || t.kind === 'UNION')) nested = this.layoutMembers(t.members, bits.bitOffset, depth + 1);
      }
      out.push({
        name: m.name,
        type,
        bitOffset: bits.bitOffset,
        bitSize: bits.bitSize,
        bitfield: bits.bitfield,
        offset: Math.floor(bits.bitOffset / 8),
        size: bits.size,
        signed: type.signed,
        ...(nested ? { members: nested } : {}),
      });
    }
    return out;
  }

  // ---- enums and typedefs ----

  private enumInfo(id: number): EnumInfo | undefined {
    const t = this.resolve(id);
    if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return undefined;
    return { id, name: t.name, size: t.size, signed: t.signed, values: t.values };
  }

  findEnum(name: string): EnumInfo | undefined {
    const bare = name.replace(/^enum\s+/, '');
    const ids = [...this.findByName(bare, 'ENUM'), ...this.findByName(bare, 'ENUM64')];
    const best = ids.find((x) => (this.w(x, 1) & 0xffff) > 0) ?? ids[0];
    return best === undefined ? undefined : this.enumInfo(best);
  }

  findEnumerator(name: string): { readonly enum: EnumInfo; readonly value: bigint } | undefined {
    if (!this.enumeratorIndex) {
      const idx = new Map<string, { id: number; value: bigint }>();
      for (let k = 0; k < this.typeCount; k++) {
        const kd = this.kinds[k];
        if (kd !== K.ENUM && kd !== K.ENUM64) continue;
        const id = this.firstId + k;
        const t = this.resolve(id);
        if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') continue;
        for (const v of t.values) if (!idx.has(v.name)) idx.set(v.name, { id, value: v.value });
      }
      this.enumeratorIndex = idx;
    }
    const hit = this.enumeratorIndex.get(name);
    if (hit) {
      const e = this.enumInfo(hit.id);
      return e ? { enum: e, value: hit.value } : undefined;
    }
    return this.base?.findEnumerator(name);
  }

  findTypedef(name: string): TypedefInfo | undefined {
    const id = this.findByName(name, 'TYPEDEF')[0];
    if (id === undefined) return undefined;
    const target = this.target(id);
    return { id, name, target: this.typeRef(target), resolved: this.typeRef(id) };
  }

  // ---- field paths ----

  resolveFieldPath(struct: string | number, path: string): FieldInfo | undefined {
    let cur: number | undefined = typeof struct === 'number' ? struct : this.pickComposite(struct, undefined);
    if (cur === undefined) return undefined;
    const parts = path.split('.').map((s) => s.trim());
    if (parts.some((p) => p === '')) return undefined;
    let bitOffset = 0;
    let lastBits: { bitSize: number; bitfield: boolean } = { bitSize: 0, bitfield: false };
    let typeId = cur;
    for (const part of parts) {
      const m = /^([A-Za-z_]\w*)((?:\[\d+\])*)$/.exec(part);
      if (!m || m[1] === undefined) return undefined;
      const r = this.skipModifiers(typeId);
      const t = r === 0 ? undefined : this.resolve(r);
      if (!t || (t.kind !== 'STRUCT' && t.kind !== 'UNION')) return undefined;
      const found = this.findMember(t.members, m[1], 0);
      if (!found) return undefined;
      const bits = this.memberBits(found.member, found.bitOffset);
      bitOffset += bits.bitOffset;
      lastBits = bits;
      typeId = found.member.type;
      for (const ix of (m[2] ?? '').match(/\d+/g) ?? []) {
        const a = this.skipModifiers(typeId);
        if (this.kindNum(a) !== K.ARRAY) return undefined;
        const n = this.w(a, 5);
        const i = Number(ix);
        if (i >= n && n !== 0) return undefined;
        const elem = this.w(a, 3);
        bitOffset += i * this.sizeOf(elem) * 8;
        typeId = elem;
        lastBits = { bitSize: this.sizeOf(elem) * 8, bitfield: false };
      }
    }
    const ref = this.typeRef(typeId);
    return {
      path,
      offset: Math.floor(bitOffset / 8),
      bitOffset,
      bitSize: lastBits.bitSize,
      bitfield: lastBits.bitfield,
      size: this.sizeOf(typeId),
      type: ref.text,
      typeRef: ref,
      signed: ref.signed,
      byteOrder: ref.byteOrder,
    };
  }

  /** Finds a named member, searching anonymous struct/union members; bitOffset of the member's container. */
  private findMember(members: readonly BtfMember[], name: string, base: number): { member: BtfMember; bitOffset: number } | undefined {
    for (const mem of members) if (mem.name === name) return { member: mem, bitOffset: base };
    for (const mem of members) {
      if (mem.name !== '') continue;
      const r = this.skipModifiers(mem.type);
      const t = r === 0 ? undefined : this.resolve(r);
      if (t && (t.kind === 'STRUCT' || t.kind === 'UNION')) {
        const hit = this.findMember(t.members, name, base + mem.bitOffset);
        if (hit) return hit;
      }
    }
    return undefined;
  }
}
