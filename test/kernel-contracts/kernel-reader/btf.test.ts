import t from 'tap';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { listModuleBtf, loadModuleBtf, loadVmlinuxBtf, parseBtf } from '../../../kernel-contracts/kernel-reader/btf/btf.js';
import type { Btf, BtfType } from '../../../kernel-contracts/kernel-reader/btf/types.js';
import { buildFixtureBtf } from './btf-builder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureRoot = path.resolve(here, '../../fixtures/kernel-contracts/host/kprobes-off');
const fixtureBtfDir = path.join(fixtureRoot, 'sys/kernel/btf');
const LIVE_VMLINUX = '/sys/kernel/btf/vmlinux';

/** Runs bpftool; undefined (with the reason) when it is missing or fails. */
async function bpftool(args: string[]): Promise<{ out?: string; why?: string }> {
  try {
    const r = await execa('bpftool', args, { reject: false, maxBuffer: 512 * 1024 * 1024 });
    if (r.exitCode !== 0) return { why: `bpftool ${args.join(' ')} failed: ${r.stderr.split('\n')[0]}` };
    return { out: r.stdout };
  } catch (err) {
    return { why: `bpftool not runnable: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Our decoded type in the shape of bpftool's `-j` dump. */
function bpftoolShape(x: BtfType): Record<string, unknown> {
  const name = x.name === '' ? '(anon)' : x.name;
  switch (x.kind) {
    case 'INT':
      return {
        id: x.id,
        kind: x.kind,
        name,
        size: x.size,
        bits_offset: x.bitOffset,
        nr_bits: x.bits,
        encoding: x.signed ? 'SIGNED' : x.char ? 'CHAR' : x.bool ? 'BOOL' : '(none)',
      };
    case 'PTR':
    case 'CONST':
    case 'VOLATILE':
    case 'RESTRICT':
    case 'TYPEDEF':
    case 'TYPE_TAG':
      return { id: x.id, kind: x.kind, name, type_id: x.type };
    case 'ARRAY':
      return { id: x.id, kind: x.kind, name, type_id: x.elemType, index_type_id: x.indexType, nr_elems: x.nelems };
    case 'STRUCT':
    case 'UNION':
      return {
        id: x.id,
        kind: x.kind,
        name,
        size: x.size,
        vlen: x.members.length,
        members: x.members.map((m) => ({
          name: m.name || '(anon)',
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitSize ? { bitfield_size: m.bitSize } : {}),
        })),
      };
    case 'ENUM':
    case 'ENUM64':
      return {
        id: x.id,
        kind: x.kind,
        name,
        encoding: x.signed ? 'SIGNED' : 'UNSIGNED',
        size: x.size,
        vlen: x.values.length,
        // bpftool prints 64-bit values that JSON.parse rounds to doubles: compare the same way.
        // bpftool 7.1 also sign-extends a 32-bit unsigned enum value before printing it as u64
        // (0xefffffff shows as 18446744073441116159); mimic that quirk, our value is the right one.
        values: x.values.map((v) => ({
          name: v.name,
          val: Number(x.kind === 'ENUM' && !x.signed && v.value >= 2n ** 31n ? BigInt.asUintN(64, BigInt.asIntN(32, v.value)) : v.value),
        })),
      };
    case 'FWD':
      return { id: x.id, kind: x.kind, name, fwd_kind: x.union ? 'union' : 'struct' };
    case 'FUNC':
    case 'VAR':
      return { id: x.id, kind: x.kind, name, type_id: x.type, linkage: x.linkage };
    case 'FUNC_PROTO':
      return {
        id: x.id,
        kind: x.kind,
        name,
        ret_type_id: x.returnType,
        vlen: x.params.length + (x.variadic ? 1 : 0),
        params: [...x.params.map((p) => ({ name: p.name || '(anon)', type_id: p.type })), ...(x.variadic ? [{ name: '(anon)', type_id: 0 }] : [])],
      };
    case 'DATASEC':
      return { id: x.id, kind: x.kind, name, size: x.size, vlen: x.vars.length, vars: x.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'FLOAT':
      return { id: x.id, kind: x.kind, name, size: x.size };
    case 'DECL_TAG':
      return { id: x.id, kind: x.kind, name, type_id: x.type, component_idx: x.componentIdx };
    case 'UNKN':
      return { id: x.id, kind: x.kind };
  }
}

/** Compares every type of `btf` with bpftool's JSON; returns mismatch descriptions (at most 10). */
function compareAll(btf: Btf, json: { types: Record<string, unknown>[] }): { compared: number; mismatches: string[] } {
  const mismatches: string[] = [];
  let compared = 0;
  for (const theirs of json.types) {
    const ours = bpftoolShape(btf.resolve(theirs.id as number));
    compared++;
    const a = JSON.stringify(ours);
    const b = JSON.stringify(theirs);
    if (a !== b && mismatches.length < 10) mismatches.push(`ours ${a.slice(0, 300)}\ntheirs ${b.slice(0, 300)}`);
  }
  return { compared, mismatches };
}

function kindCounts(json: { types: { kind: string }[] }): Record<string, number> {
  const c: Record<string, number> = {};
  for (const x of json.types) c[x.kind] = (c[x.kind] ?? 0) + 1;
  return c;
}

function nonZero(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v > 0));
}

/** Normalises C declaration spacing the way both libbpf and we may differ harmlessly. */
function normC(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/\*\s+/g, '*')
    .replace(/\s+\*/g, ' *')
    .replace(/\s*;\s*$/, '')
    .trim();
}

/**
 * Top-level member declarations of each `struct NAME {` / `union NAME {` block in bpftool's C
 * dump, skipping inline anonymous bodies.
 */
function membersFromC(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(struct|union) (\w+) \{$/.exec(lines[i] ?? '');
    if (!m) continue;
    const decls: string[] = [];
    let depth = 1;
    for (i++; i < lines.length && depth > 0; i++) {
      const l = lines[i] ?? '';
      const opens = (l.match(/\{/g) ?? []).length;
      const closes = (l.match(/\}/g) ?? []).length;
      // `long: 64;` lines are padding libbpf adds for alignment gaps, not members.
      if (depth === 1 && opens === 0 && closes === 0 && l.trim() && !/^\s*(unsigned |signed )?(long long|long|int|short|char): \d+;$/.test(l)) decls.push(normC(l));
      if (depth === 1 && opens > 0) decls.push('<inline>');
      depth += opens - closes;
    }
    i--;
    out.set(`${m[1]} ${m[2]}`, decls);
  }
  return out;
}

t.test('fixture BTF: every kind decodes as bpftool sees it', async (t) => {
  const vm = path.join(fixtureBtfDir, 'vmlinux');
  const mod = path.join(fixtureBtfDir, 'fixmod');
  // The checked-in blobs are what the builder makes today.
  const built = buildFixtureBtf();
  t.ok(built.vmlinux.equals(readFileSync(vm)), 'fixture vmlinux is up to date (make-fixtures.ts)');
  t.ok(built.module.equals(readFileSync(mod)), 'fixture module is up to date (make-fixtures.ts)');

  const host = fixtureHost(fixtureRoot);
  const base = await loadVmlinuxBtf(host);
  t.same(await listModuleBtf(host), ['fixmod']);
  const split = await loadModuleBtf(host, 'fixmod', base);
  t.equal(base.firstId, 1);
  t.equal(split.firstId, base.lastId + 1);
  t.equal(split.module, 'fixmod');

  const kinds = nonZero(base.countByKind());
  for (const k of ['INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64']) {
    t.ok((kinds[k] ?? 0) > 0, `fixture has kind ${k}`);
  }

  const a = await bpftool(['btf', 'dump', 'file', vm, '-j']);
  const b = await bpftool(['btf', 'dump', 'file', mod, '-B', vm, '-j']);
  if (!a.out || !b.out) {
    t.skip(`bpftool comparison skipped: ${a.why ?? b.why}`);
    return;
  }
  const ja = JSON.parse(a.out) as { types: Record<string, unknown>[] & { kind: string }[] };
  const jb = JSON.parse(b.out) as { types: Record<string, unknown>[] & { kind: string }[] };
  t.same(nonZero(base.countByKind()), kindCounts(ja), 'base counts per kind agree');
  t.same(nonZero(split.countByKind()), kindCounts(jb), 'module counts per kind agree');
  const ra = compareAll(base, ja);
  t.same(ra.mismatches, [], `all ${ra.compared} base types agree`);
  const rb = compareAll(split, jb);
  t.same(rb.mismatches, [], `all ${rb.compared} module types agree`);
});

t.test('fixture BTF: queries', async (t) => {
  const host = fixtureHost(fixtureRoot);
  const base = await loadVmlinuxBtf(host);
  const mod = await loadModuleBtf(host, 'fixmod', base);

  const fns = Object.fromEntries(base.functions().map((f) => [f.name, f]));
  t.same(Object.keys(fns).sort(), ['_printk', 'do_nothing', 'ptr_games', 'tcp_connect', 'weird']);
  const cases: [string, string][] = [
    ['tcp_connect', 'int tcp_connect(struct sock *sk, __be16 port)'],
    ['_printk', 'int _printk(const char *fmt, ...)'],
    ['do_nothing', 'void do_nothing(void)'],
    ['weird', 'double weird(int (*cb)(struct sock *sk, __be16 port), char *restrict dst, char *ubuf, _Bool flag)'],
    ['ptr_games', 'char ptr_games(char *const p, char (*arr)[16])'],
  ];
  for (const [name, text] of cases) {
    const f = fns[name];
    t.ok(f, name);
    if (f) t.equal(base.typeToC(f.id), text, `prototype of ${name}`);
  }
  const tc = fns.tcp_connect!;
  t.equal(tc.linkage, 'global');
  t.same(
    tc.params.map((p) => [p.name, p.type.text, p.type.size, p.type.byteOrder, p.type.pointer, p.type.targetName ?? null]),
    [
      ['sk', 'struct sock *', 8, 'host', true, 'sock'],
      ['port', '__be16', 2, 'big', false, null],
    ],
  );
  t.equal(fns._printk!.variadic, true);
  t.equal(fns.weird!.linkage, 'extern');
  t.equal(base.functionCount(), 5);

  const sk = base.findStruct('sock');
  t.ok(sk);
  t.equal(sk?.size, 40);
  t.same(sk?.members.map((m) => [m.name, m.type.text, m.offset, m.size]), [
    ['__sk_common', 'struct sock_common', 0, 20],
    ['sk_next', 'struct sock *', 24, 8],
    ['sk_comm', 'char[16]', 32, 16],
  ]);
  const sc = base.findStruct('struct sock_common');
  t.same(
    sc?.members.map((m) => [m.name, m.bitOffset, m.bitSize, m.bitfield, m.members?.map((x) => x.name) ?? null]),
    [
      ['', 0, 64, false, ['skc_addrpair', '']],
      ['', 64, 32, false, ['skc_dport', 'skc_num']],
      ['skc_family', 96, 16, false, null],
      ['skc_state', 112, 8, false, null],
      ['skc_reuse', 120, 4, true, null],
      ['skc_reuseport', 124, 1, true, null],
      ['skc_bound_dev_if', 128, 32, false, null],
    ],
  );
  // Nested anonymous members carry absolute offsets.
  t.same(sc?.members[0]?.members?.[1]?.members?.map((m) => [m.name, m.bitOffset, m.type.text]), [
    ['skc_daddr', 0, '__be32'],
    ['skc_rcv_saddr', 32, '__be32'],
  ]);
  t.equal(base.findStruct('old_bits')?.kind, 'union', 'falls back to a union of that name');
  t.same(base.findStruct('old_bits')?.members.map((m) => [m.name, m.bitSize, m.bitfield, m.signed]), [
    ['a', 3, true, true],
    ['b', 32, false, true],
  ]);

  const fieldCases: [string, string, Record<string, unknown> | undefined][] = [
    ['sock', '__sk_common.skc_dport', { offset: 8, size: 2, type: '__be16', signed: false, byteOrder: 'big', bitfield: false }],
    ['sock', '__sk_common.skc_num', { offset: 10, size: 2, type: '__u16', signed: false, byteOrder: 'host', bitfield: false }],
    ['sock', '__sk_common.skc_daddr', { offset: 0, size: 4, type: '__be32', signed: false, byteOrder: 'big', bitfield: false }],
    ['sock', '__sk_common.skc_reuseport', { offset: 15, size: 1, type: 'unsigned char', signed: false, byteOrder: 'host', bitfield: true }],
    ['sock', '__sk_common.skc_bound_dev_if', { offset: 16, size: 4, type: 'int', signed: true, byteOrder: 'host', bitfield: false }],
    ['sock', 'sk_comm[3]', { offset: 35, size: 1, type: 'char', signed: false, byteOrder: 'host', bitfield: false }],
    ['sock', 'sk_next', { offset: 24, size: 8, type: 'struct sock *', signed: false, byteOrder: 'host', bitfield: false }],
    ['sock', 'sk_next.sk_comm', undefined],
    ['sock', 'nope', undefined],
    ['sock', 'sk_comm[16]', undefined],
    ['nosuch', 'x', undefined],
  ];
  for (const [s, p, want] of fieldCases) {
    const got = base.resolveFieldPath(s, p);
    if (want === undefined) t.equal(got, undefined, `${s}.${p} does not resolve`);
    else
      t.same(
        got && { offset: got.offset, size: got.size, type: got.type, signed: got.signed, byteOrder: got.byteOrder, bitfield: got.bitfield },
        want,
        `${s}.${p}`,
      );
  }

  t.same(base.findEnum('tcp_state')?.values.map((v) => [v.name, v.value]), [
    ['TCP_ESTABLISHED', 1n],
    ['TCP_SYN_SENT', 2n],
    ['TCP_CLOSE', 7n],
  ]);
  t.same(base.findEnum('enum signed_e')?.values.map((v) => v.value), [-1n, 1n]);
  t.equal(base.findEnum('signed_e')?.signed, true);
  t.same(base.findEnum('big_e')?.values.map((v) => v.value), [1n << 40n, 0xffffffffffffffffn]);
  t.equal(base.findEnumerator('TCP_CLOSE')?.value, 7n);
  t.equal(base.findEnumerator('TCP_CLOSE')?.enum.name, 'tcp_state');
  const be16 = base.findTypedef('__be16');
  t.equal(be16?.target.text, '__u16');
  t.equal(be16?.resolved.byteOrder, 'big');
  t.equal(be16?.resolved.size, 2);
  t.equal(base.typeToC(base.findByName('opaque_u', 'FWD')[0] ?? -1), 'union opaque_u');
  t.throws(() => base.resolve(9999), { code: 'not-found' });

  // Split BTF: module types resolve against the base.
  t.equal(mod.functionCount(), 1);
  const open = mod.functions()[0];
  t.equal(open?.module, 'fixmod');
  t.equal(open && mod.typeToC(open.id), 'int mod_conn_open(struct mod_conn *c, const char *name)');
  t.same(mod.resolveFieldPath('mod_conn', 'dport'), mod.resolveFieldPath('mod_conn', 'dport'));
  t.equal(mod.resolveFieldPath('mod_conn', 'dport')?.byteOrder, 'big');
  t.equal(mod.resolveFieldPath('mod_conn', 'flags')?.bitSize, 3);
  t.equal(mod.findStruct('sock')?.size, 40, 'base structs are visible from the module');
  t.equal(mod.findFunction('tcp_connect')?.module, 'vmlinux');
  t.equal(mod.findEnumerator('MOD_B')?.value, 1n);
  t.equal(mod.findEnumerator('TCP_ESTABLISHED')?.value, 1n);
});

t.test('malformed blobs are rejected with a reason', async (t) => {
  const good = buildFixtureBtf().vmlinux;
  const cases: [string, Buffer, RegExp][] = [
    ['too short', Buffer.alloc(10), /shorter than its header/],
    ['bad magic', Buffer.concat([Buffer.from([1, 2]), good.subarray(2)]), /bad magic/],
    ['truncated', good.subarray(0, 100), /section outside the blob/],
  ];
  for (const [name, buf, re] of cases) t.throws(() => parseBtf(buf), { message: re }, name);
  const noBtf = fixtureHost(path.resolve(here, '../../fixtures/kernel-contracts/host/kprobes-on'));
  await t.rejects(loadVmlinuxBtf(noBtf), { code: 'kernel-unsupported' });
  await t.rejects(loadModuleBtf(fixtureHost(fixtureRoot), '../x', await loadVmlinuxBtf(fixtureHost(fixtureRoot))), { code: 'bad-request' });
});

t.test('live vmlinux BTF against bpftool', async (t) => {
  if (!existsSync(LIVE_VMLINUX)) {
    t.skip(`${LIVE_VMLINUX} absent: kernel without BTF`);
    return;
  }
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const btf = await loadVmlinuxBtf(realHost());
  const t1 = performance.now();
  const fns = btf.functions();
  const t2 = performance.now();
  t.comment(
    `parse ${(t1 - t0).toFixed(0)} ms, ${btf.typeCount} types; functions() ${(t2 - t1).toFixed(0)} ms for ${fns.length}; rss +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB`,
  );

  const dump = await bpftool(['btf', 'dump', 'file', LIVE_VMLINUX, '-j']);
  if (!dump.out) {
    t.skip(`bpftool comparison skipped: ${dump.why}`);
    return;
  }
  const json = JSON.parse(dump.out) as { types: (Record<string, unknown> & { id: number; kind: string; name: string })[] };
  const theirCounts = kindCounts(json);
  t.same(nonZero(btf.countByKind()), theirCounts, 'counts per kind agree exactly');
  t.equal(fns.length, theirCounts.FUNC, `FUNC count agrees (${fns.length})`);
  t.equal(btf.typeCount, json.types.length);
  t.comment(`FUNC count on this kernel: ${fns.length}`);

  const all = compareAll(btf, json);
  t.same(all.mismatches, [], `every one of ${all.compared} types decodes as bpftool's JSON says`);

  // Prototypes: 200 random functions plus named ones, against bpftool's FUNC/FUNC_PROTO entries.
  const byId = new Map(json.types.map((x) => [x.id, x]));
  const funcs = json.types.filter((x) => x.kind === 'FUNC');
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const sample = new Set<string>(['tcp_connect', 'inet_csk_accept', 'vfs_read', 'do_sys_openat2']);
  while (sample.size < 204) sample.add(funcs[Math.floor(rand() * funcs.length)]!.name);
  const ourFns = new Map(fns.map((f) => [f.name, f]));
  let checked = 0;
  const protoMismatch: string[] = [];
  for (const name of sample) {
    const theirs = funcs.find((f) => f.name === name);
    const ours = ourFns.get(name);
    if (!theirs || !ours) {
      protoMismatch.push(`${name}: missing (${!theirs ? 'bpftool' : 'ours'})`);
      continue;
    }
    const proto = byId.get(theirs.type_id as number) as { ret_type_id: number; params: { name: string; type_id: number }[] };
    const want = {
      linkage: theirs.linkage,
      ret: proto.ret_type_id,
      params: proto.params.filter((p, i) => !(i === proto.params.length - 1 && p.type_id === 0 && p.name === '(anon)')).map((p) => [p.name, p.type_id]),
    };
    const got = { linkage: ours.linkage, ret: ours.returnType.id, params: ours.params.map((p) => [p.name || '(anon)', p.type.id]) };
    if (JSON.stringify(want) !== JSON.stringify(got)) protoMismatch.push(`${name}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    checked++;
  }
  t.same(protoMismatch, [], `${checked} sampled prototypes agree`);

  const named: [string, RegExp][] = [
    ['tcp_connect', /^int tcp_connect\(struct sock \*sk\)$/],
    ['inet_csk_accept', /^struct sock \*inet_csk_accept\(struct sock \*sk, /],
    ['vfs_read', /^ssize_t vfs_read\(struct file \*file, char \*buf, size_t count, loff_t \*pos\)$/],
    ['do_sys_openat2', /^\w+ do_sys_openat2\(int dfd, const char \*filename, struct open_how \*how\)$/],
  ];
  for (const [name, re] of named) {
    const f = ourFns.get(name);
    if (!f) {
      t.skip(`${name} not in this kernel's BTF`);
      continue;
    }
    t.match(btf.typeToC(f.id), re, `${name}: ${btf.typeToC(f.id)}`);
  }

  // Struct layouts: members, bit offsets and bitfield sizes of the structs contracts use most.
  for (const s of ['sock', 'sock_common', 'sk_buff', 'task_struct']) {
    const theirs = json.types.find((x) => x.kind === 'STRUCT' && x.name === s && (x.vlen as number) > 0) as
      | { id: number; size: number; members: { name: string; type_id: number; bits_offset: number; bitfield_size?: number }[] }
      | undefined;
    const ours = btf.findStruct(s);
    if (!theirs || !ours) {
      t.fail(`struct ${s} missing (${!theirs ? 'bpftool' : 'ours'})`);
      continue;
    }
    t.equal(ours.id, theirs.id, `struct ${s} id`);
    t.equal(ours.size, theirs.size, `struct ${s} size`);
    t.same(
      ours.members.map((m) => [m.name || '(anon)', m.type.id, m.bitOffset, m.bitfield ? m.bitSize : 0]),
      theirs.members.map((m) => [m.name, m.type_id, m.bits_offset, m.bitfield_size ?? 0]),
      `struct ${s}: ${ours.members.length} members agree`,
    );
  }
  const dport = btf.resolveFieldPath('sock', '__sk_common.skc_dport');
  t.match(dport, { type: '__be16', size: 2, signed: false, byteOrder: 'big', bitfield: false });
  const sc = json.types.find((x) => x.kind === 'STRUCT' && x.name === 'sock_common') as { members: { name: string; type_id: number; bits_offset: number }[] };
  // skc_dport lives in an anonymous struct inside an anonymous union of sock_common.
  const anon = sc.members.filter((m) => m.name === '(anon)').map((m) => ({ off: m.bits_offset, t: byId.get(m.type_id) as { members?: { name: string; type_id: number; bits_offset: number }[]; kind: string } }));
  let expected: number | undefined;
  for (const a of anon) {
    for (const m of a.t.members ?? []) {
      if (m.name === 'skc_dport') expected = a.off + m.bits_offset;
      const inner = byId.get(m.type_id) as { members?: { name: string; bits_offset: number }[] } | undefined;
      for (const n of m.name === '(anon)' ? (inner?.members ?? []) : []) if (n.name === 'skc_dport') expected = a.off + m.bits_offset + n.bits_offset;
    }
  }
  t.equal(dport?.bitOffset, expected, `skc_dport at bit ${expected} as bpftool's layout says`);
});

t.test('live vmlinux: C text agrees with bpftool format c for every struct member', async (t) => {
  if (!existsSync(LIVE_VMLINUX)) {
    t.skip(`${LIVE_VMLINUX} absent: kernel without BTF`);
    return;
  }
  const c = await bpftool(['btf', 'dump', 'file', LIVE_VMLINUX, 'format', 'c']);
  if (!c.out) {
    t.skip(`bpftool comparison skipped: ${c.why}`);
    return;
  }
  const btf = await loadVmlinuxBtf(realHost());
  const theirs = membersFromC(c.out);
  let structs = 0;
  let members = 0;
  const bad: string[] = [];
  for (const [key, decls] of theirs) {
    const [kw, name] = key.split(' ') as [string, string];
    const ids = btf.findByName(name, kw === 'struct' ? 'STRUCT' : 'UNION');
    // Names bpftool had to rename (`foo___2`) or that several types share are ambiguous: skip.
    if (ids.length !== 1 || name.includes('___')) continue;
    const layout = btf.structLayout(ids[0]!);
    if (!layout) continue;
    structs++;
    const ours = layout.members.map((m) =>
      m.type.text.includes('{...}') ? '<inline>' : normC(btf.typeToC(m.type.id, m.name) + (m.bitfield ? `: ${m.bitSize}` : '')),
    );
    // bpftool renames types whose name several distinct types share (`struct dma_chan___2`); BTF
    // itself has the plain name, which is what we print.
    const want = decls.map((d) => d.replace(/ __attribute__\(\(.*?\)\)/g, '').replace(/\b(\w+?)___\d+\b/g, '$1'));
    members += ours.length;
    if (JSON.stringify(ours) !== JSON.stringify(want) && bad.length < 10) {
      const i = ours.findIndex((o, k) => o !== want[k]);
      bad.push(`${key} member ${i}: ours '${ours[i]}' vs bpftool '${want[i]}'`);
    }
  }
  t.ok(structs > 1000, `${structs} structs/unions compared`);
  t.same(bad, [], `${members} member declarations render as libbpf's btf_dump does`);
});
