/**
 * A small BTF writer for tests: builds blobs with every kind, including split (module) BTF on top
 * of a base, so the reader can be checked against bpftool on files we control.
 */
import { BTF_KIND } from '../../../kernel-contracts/kernel-reader/btf/types.js';

// Kind numbers are the uapi constants (include/uapi/linux/btf.h), shared with the reader.
const KIND = BTF_KIND;

const LINK = { static: 0, global: 1, extern: 2 } as const;
type Linkage = keyof typeof LINK;

export interface MemberSpec {
  name: string;
  type: number;
  bitOffset: number;
  /** Bitfield width (sets kind_flag on the struct). */
  bitSize?: number;
}

export class BtfBuilder {
  private readonly records: number[][] = [];
  private readonly strs: string[] = [''];
  private readonly strOff = new Map<string, number>([['', 0]]);
  private strLen = 1;
  private readonly firstId: number;
  private readonly strBase: number;

  /** For split BTF pass the base's last type id and string section length. */
  constructor(base?: { lastId: number; strLen: number }) {
    this.firstId = base ? base.lastId + 1 : 1;
    this.strBase = base ? base.strLen : 0;
  }

  /** The id the next added type will get. */
  nextId(): number {
    return this.firstId + this.records.length;
  }

  str(s: string): number {
    if (s === '') return 0;
    const hit = this.strOff.get(s);
    if (hit !== undefined) return hit;
    const off = this.strBase + this.strLen;
    this.strs.push(s);
    this.strOff.set(s, off);
    this.strLen += Buffer.byteLength(s) + 1;
    return off;
  }

  private add(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[] = []): number {
    const info = ((kflag ? 1 : 0) << 31) | (kind << 24) | (vlen & 0xffff);
    this.records.push([this.str(name), info >>> 0, sizeOrType >>> 0, ...extra.map((x) => x >>> 0)]);
    return this.nextId() - 1;
  }

  int(name: string, size: number, o: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {}): number {
    const enc = (o.signed ? 1 : 0) | (o.char ? 2 : 0) | (o.bool ? 4 : 0);
    return this.add(name, KIND.INT, 0, false, size, [(enc << 24) | ((o.offset ?? 0) << 16) | (o.bits ?? size * 8)]);
  }
  ptr(type: number): number {
    return this.add('', KIND.PTR, 0, false, type);
  }
  array(elem: number, index: number, n: number): number {
    return this.add('', KIND.ARRAY, 0, false, 0, [elem, index, n]);
  }
  struct(name: string, size: number, members: MemberSpec[], union = false): number {
    const kflag = members.some((m) => m.bitSize !== undefined);
    const extra: number[] = [];
    for (const m of members) {
      extra.push(this.str(m.name), m.type, kflag ? ((m.bitSize ?? 0) << 24) | m.bitOffset : m.bitOffset);
    }
    return this.add(name, union ? KIND.UNION : KIND.STRUCT, members.length, kflag, size, extra);
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) extra.push(this.str(n), v);
    return this.add(name, KIND.ENUM, values.length, signed, size, extra);
  }
  enum64(name: string, values: [string, bigint][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      extra.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.add(name, KIND.ENUM64, values.length, signed, 8, extra);
  }
  fwd(name: string, union = false): number {
    return this.add(name, KIND.FWD, 0, union, 0);
  }
  typedef(name: string, type: number): number {
    return this.add(name, KIND.TYPEDEF, 0, false, type);
  }
  volatile(type: number): number {
    return this.add('', KIND.VOLATILE, 0, false, type);
  }
  const(type: number): number {
    return this.add('', KIND.CONST, 0, false, type);
  }
  restrict(type: number): number {
    return this.add('', KIND.RESTRICT, 0, false, type);
  }
  funcProto(ret: number, params: [string, number][], variadic = false): number {
    const extra: number[] = [];
    for (const [n, t] of params) extra.push(this.str(n), t);
    if (variadic) extra.push(0, 0);
    return this.add('', KIND.FUNC_PROTO, params.length + (variadic ? 1 : 0), false, ret, extra);
  }
  func(name: string, proto: number, linkage: Linkage = 'global'): number {
    return this.add(name, KIND.FUNC, LINK[linkage], false, proto);
  }
  var(name: string, type: number, linkage: Linkage = 'global'): number {
    return this.add(name, KIND.VAR, 0, false, type, [LINK[linkage]]);
  }
  datasec(name: string, size: number, vars: [number, number, number][]): number {
    return this.add(name, KIND.DATASEC, vars.length, false, size, vars.flat());
  }
  float(name: string, size: number): number {
    return this.add(name, KIND.FLOAT, 0, false, size);
  }
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.add(name, KIND.DECL_TAG, 0, false, type, [componentIdx]);
  }
  typeTag(name: string, type: number): number {
    return this.add(name, KIND.TYPE_TAG, 0, false, type);
  }

  /** Length of the string section this builder emits. */
  stringLength(): number {
    return this.strLen;
  }

  build(): Buffer {
    const words = this.records.flat();
    const types = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => types.writeUInt32LE(w >>> 0, i * 4));
    const strings = Buffer.from(this.strs.map((s) => `${s}\0`).join(''), 'latin1');
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr.writeUInt8(1, 2);
    hdr.writeUInt8(0, 3);
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(types.length, 12);
    hdr.writeUInt32LE(types.length, 16);
    hdr.writeUInt32LE(strings.length, 20);
    return Buffer.concat([hdr, types, strings]);
  }
}

/**
 * The fixture kernel: a base ("vmlinux") with every kind, and a module split on top of it.
 * Returns both blobs; make-fixtures.ts writes them under test/fixtures/kernel-contracts/host/.
 */
export function buildFixtureBtf(): { vmlinux: Buffer; module: Buffer; lastBaseId: number } {
  const b = new BtfBuilder();
  const ulong = b.int('long unsigned int', 8);
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1);
  const uchar = b.int('unsigned char', 1);
  const ushort = b.int('short unsigned int', 2);
  const uint = b.int('unsigned int', 4);
  const boolT = b.int('_Bool', 1, { bool: true });
  const u16 = b.typedef('__u16', ushort);
  const be16 = b.typedef('__be16', u16);
  const u32 = b.typedef('__u32', uint);
  const be32 = b.typedef('__be32', u32);
  const constChar = b.const(char);
  const constCharPtr = b.ptr(constChar);
  const charArr16 = b.array(char, int, 16);
  const volatileUchar = b.volatile(uchar);
  // struct sock_common { union { __be32 skc_daddr; ... }; struct { __be16 skc_dport; __u16 skc_num; }; short family; bitfields; }
  const anonPorts = b.struct('', 4, [
    { name: 'skc_dport', type: be16, bitOffset: 0 },
    { name: 'skc_num', type: u16, bitOffset: 16 },
  ]);
  const anonAddr = b.struct('', 8, [
    { name: 'skc_daddr', type: be32, bitOffset: 0 },
    { name: 'skc_rcv_saddr', type: be32, bitOffset: 32 },
  ]);
  const addrUnion = b.struct('', 8, [{ name: 'skc_addrpair', type: ulong, bitOffset: 0 }, { name: '', type: anonAddr, bitOffset: 0 }], true);
  const sockCommon = b.struct('sock_common', 20, [
    { name: '', type: addrUnion, bitOffset: 0 },
    { name: '', type: anonPorts, bitOffset: 64 },
    { name: 'skc_family', type: ushort, bitOffset: 96 },
    { name: 'skc_state', type: volatileUchar, bitOffset: 112 },
    { name: 'skc_reuse', type: uchar, bitOffset: 120, bitSize: 4 },
    { name: 'skc_reuseport', type: uchar, bitOffset: 124, bitSize: 1 },
    { name: 'skc_bound_dev_if', type: int, bitOffset: 128 },
  ]);
  const sockId = b.nextId() + 1; // struct sock follows its pointer
  const sockPtr = b.ptr(sockId);
  const sock = b.struct('sock', 40, [
    { name: '__sk_common', type: sockCommon, bitOffset: 0 },
    { name: 'sk_next', type: sockPtr, bitOffset: 192 },
    { name: 'sk_comm', type: charArr16, bitOffset: 256 },
  ]);
  if (sock !== sockId) throw new Error('fixture id arithmetic is off');
  // Old-style bitfield: an INT with nr_bits/offset, no kind_flag.
  const int3 = b.int('int', 4, { signed: true, bits: 3, offset: 0 });
  b.struct('old_bits', 4, [
    { name: 'a', type: int3, bitOffset: 0 },
    { name: 'b', type: int, bitOffset: 0 },
  ], true);
  b.enum('tcp_state', 4, [['TCP_ESTABLISHED', 1], ['TCP_SYN_SENT', 2], ['TCP_CLOSE', 7]]);
  b.enum('signed_e', 4, [['NEG', -1], ['POS', 1]], true);
  b.enum64('big_e', [['BIG', 1n << 40n], ['MAXU', 0xffffffffffffffffn]]);
  b.fwd('opaque');
  b.fwd('opaque_u', true);
  const restrictPtr = b.restrict(b.ptr(char));
  const dbl = b.float('double', 8);
  const userTag = b.typeTag('user', char);
  const userPtr = b.ptr(userTag);
  const protoConnect = b.funcProto(int, [['sk', sockPtr], ['port', be16]]);
  const tcpConnect = b.func('tcp_connect', protoConnect, 'global');
  b.declTag('bpf_kfunc', tcpConnect, -1);
  b.declTag('nonnull', tcpConnect, 0);
  const protoPrintk = b.funcProto(int, [['fmt', constCharPtr]], true);
  b.func('_printk', protoPrintk, 'static');
  const protoVoid = b.funcProto(0, []);
  b.func('do_nothing', protoVoid, 'static');
  const cbPtr = b.ptr(protoConnect);
  const protoCb = b.funcProto(dbl, [['cb', cbPtr], ['dst', restrictPtr], ['ubuf', userPtr], ['flag', boolT]]);
  b.func('weird', protoCb, 'extern');
  const constPtr = b.const(b.ptr(char));
  const protoCp = b.funcProto(char, [['p', constPtr], ['arr', b.ptr(charArr16)]]);
  b.func('ptr_games', protoCp, 'global');
  const v = b.var('jiffies', ulong, 'global');
  b.datasec('.data', 8, [[v, 0, 8]]);
  const vmlinux = b.build();
  const lastBaseId = b.nextId() - 1;

  const m = new BtfBuilder({ lastId: lastBaseId, strLen: b.stringLength() });
  const modStruct = m.struct('mod_conn', 16, [
    { name: 'sk', type: sockPtr, bitOffset: 0 },
    { name: 'dport', type: be16, bitOffset: 64 },
    { name: 'flags', type: uint, bitOffset: 80, bitSize: 3 },
  ]);
  const modPtr = m.ptr(modStruct);
  const modProto = m.funcProto(int, [['c', modPtr], ['name', constCharPtr]]);
  m.func('mod_conn_open', modProto, 'global');
  // Reuse of a base string ("sk") and a new one.
  m.enum('mod_mode', 4, [['MOD_A', 0], ['MOD_B', 1]]);
  return { vmlinux, module: m.build(), lastBaseId };
}
