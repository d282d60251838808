/**
 * Builtins (`pid`, `comm`, `nsecs` ...) and function calls (`bswap`, `str`, `ntop`, `strncmp`,
 * `sizeof`, the observables `printed`/`mapkey`/`mapval`); what is not modelled is opaque.
 */
import type { Expr } from '../frontend/ast.js';
import { collect, printExpr } from '../frontend/index.js';
import { bvSort, type Term } from '../smt/term.js';
import { type EvalCtx, type ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { cpuAxiom } from './builtin-facts.js';
import { builtinTerm32 } from './fields.js';
import { AGGS } from './maps.js';
import { asInt, constInt } from './operators.js';
import { CAST_TYPES, canonicalStringAxiom, intTy, U64, type Val } from './values.js';

/** Functions whose result the executor does not model: they yield an opaque value. */
const OPAQUE_FUNCTIONS = new Set([
  'kstack',
  'ustack',
  'ksym',
  'usym',
  'kaddr',
  'uaddr',
  'reg',
  'cgroupid',
  'buf',
  'macaddr',
  'path',
  'cgroup_path',
  'strftime',
  'pton',
  'len',
  'has_key',
  'percpu_kaddr',
  'strcontains',
  'nsecs',
  'skboutput',
  'socket_cookie',
  'strerror',
]);


export function builtin(ex: ExecCore, name: string): Val {
  const cached = ex.builtinCache.get(name);
  if (cached) return cached;
  const b = ex.b;
  let v: Val;
  const input32 = (): Val => ({ ty: U64, t: b.zext(32, ex.input(name, bvSort(32))) });
  switch (name) {
    case 'pid':
    case 'tid':
      // uint32 from 0.22 (run here on 0.23.2: sizeof(pid) is 4), uint64 before; 32 bits of value either way.
      v = { ty: ex.dialect.pidTid32 ? intTy(4, false) : U64, t: b.zext(32, builtinTerm32(ex, name)) };
      break;
    case 'cpu': {
      const t = ex.input('cpu', bvSort(32));
      const ax = cpuAxiom(ex, t);
      if (ax && !ex.axioms.has(t.id)) ex.axioms.set(t.id, ax);
      v = { ty: U64, t: b.zext(32, t) };
      break;
    }
    case 'uid':
    case 'gid':
    case 'numaid':
      // Typed uint64 by bpftrace 0.17 but the kernel value is 32 bits (e.g. pid = pid_tgid >> 32).
      v = input32();
      break;
    case 'nsecs':
    case 'elapsed':
    case 'jiffies':
    case 'cgroup':
    case 'ncpus':
    case 'cpid':
    case 'retval':
      v = { ty: U64, t: ex.input(name, bvSort(64)) };
      break;
    case 'rand': {
      // A new value at each use: fresh, not cached.
      const t = b.zext(32, b.fresh('rand', bvSort(32)));
      return { ty: U64, t };
    }
    case 'comm': {
      const t = ex.input('comm', bvSort(128));
      ex.axioms.set(t.id, canonicalStringAxiom(b, t, 16));
      v = { ty: { k: 'str', size: 16 }, t };
      break;
    }
    case 'curtask':
      v = { ty: { k: 'ptr', pointee: 'struct task_struct' }, t: ex.input('curtask', bvSort(64)) };
      break;
    case 'ctx':
      v = { ty: { k: 'ptr', pointee: 'void' }, t: ex.input('ctx', bvSort(64)) };
      break;
    case 'args':
      v = { ty: { k: 'place' }, t: b.T, place: { base: b.bv(0, 64), struct: '<args>', path: [] } };
      break;
    default:
      if (/^s?arg\d+$/.test(name)) {
        v = { ty: U64, t: ex.input(name, bvSort(64)) };
        break;
      }
      v = ex.opaqueVal(`builtin ${name}`, `builtin ${name.replace(/\d+$/, 'N')}`);
  }
  if (name !== 'args' && !(v.t.name ?? '').startsWith('opaque')) ex.noteInput(name, v);
  ex.builtinCache.set(name, v);
  return v;
}

export function call(ex: ExecCore, e: Extract<Expr, { kind: 'Call' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const b = ex.b;
  const arg = (i: number): Val => {
    const a = e.args[i];
    if (!a) throw new Unsupported(`${e.callee}() needs argument ${i + 1}`);
    return ex.evalExpr(a, s, pc, ctx);
  };
  switch (e.callee) {
    case 'printed':
    case 'mapkey':
    case 'mapval':
      return observable(ex, e, s, ctx);
    case 'bswap': {
      // From 0.26 a literal has the smallest type, and so the width bswap() swaps (run here on
      // 0.27.1: bswap(64) is 64): not modelled.
      if (ex.dialect.smallLiterals && e.args[0] !== undefined && collect(e.args[0], 'Integer').length > 0) {
        throw new Unsupported(`bswap() of an expression with a literal in bpftrace ${ex.dialect.version} is not modelled`);
      }
      const v = asInt(ex, arg(0));
      const size = v.ty.k === 'int' ? v.ty.size : 8;
      const bytes: Term[] = [];
      for (let i = 0; i < size; i++) bytes.push(b.extract(8 * i + 7, 8 * i, v.t));
      // bytes[0] (lowest) becomes the highest byte.
      const swapped = size === 1 ? (bytes[0] as Term) : b.concat(...bytes);
      // Unsigned whatever the argument's signedness (checked on bpftrace 0.17 here:
      // bswap((int16)0x0180) is 32769, bswap((int8)-1) is 255, bswap((int64)0x80) < 0 is false).
      return { ty: intTy(size, false), t: b.zext(64 - size * 8, swapped), ...(v.poison ? { poison: v.poison } : {}) };
    }
    case 'str': {
      const v = arg(0);
      let limit: number | undefined;
      if (e.args[1]) {
        limit = constInt(ex, e.args[1], s, pc);
        if (limit === undefined) return ex.opaqueVal(`str() with a variable length`, 'str() with a non-constant length');
      }
      let sv: Val;
      if (v.ty.k === 'str') sv = v;
      else if (v.ty.k === 'ptr' || v.ty.k === 'int') {
        const t = b.uf('str64', [asInt(ex, v).t], bvSort(512));
        ex.axioms.set(t.id, canonicalStringAxiom(b, t, 64));
        sv = { ty: { k: 'str', size: 64 }, t };
        ex.noteInput(printExpr(e), sv);
      } else throw new Unsupported(`str() of ${v.ty.k}`);
      if (limit !== undefined && ex.dialect.strLimit !== 'chars') {
        // 0.23 keeps limit - 1 characters (run here: str(p, 1) is ""); other versions are not modelled.
        if (ex.dialect.strLimit === 'unmodelled') return ex.opaqueVal(`str() with a length in bpftrace ${ex.dialect.version}`, 'str() with a length after 0.17 (not run here)');
        limit -= 1;
      }
      if (limit !== undefined && sv.ty.k === 'str' && limit < sv.ty.size) {
        // Keeps `limit` characters: bytes from `limit` on are NUL (checked on bpftrace 0.17 here:
        // str(p, 0) is "", str(p, 1) is "/", str(p, 2) is "/e"; a limit past the buffer keeps it all).
        const size = sv.ty.size;
        const t = limit <= 0 ? b.bv(0, size * 8) : b.resize(b.extract(8 * limit - 1, 0, sv.t), size * 8);
        return { ty: sv.ty, t };
      }
      return sv;
    }
    case 'ntop': {
      const af = e.args.length > 1 ? asInt(ex, arg(0)) : undefined;
      const addr = arg(e.args.length > 1 ? 1 : 0);
      const at = addr.ty.k === 'array' || addr.ty.k === 'int' ? (addr.ty.k === 'int' ? b.extract(31, 0, addr.t) : addr.t) : undefined;
      if (!at) throw new Unsupported(`ntop() of ${addr.ty.k}`);
      const w = at.sort.k === 'bv' ? at.sort.w : 32;
      const tag = af ? b.extract(7, 0, af.t) : b.bv(w <= 32 ? 2 : 10, 8);
      return { ty: { k: 'inet' }, t: b.concat(tag, b.resize(at, 128)) };
    }
    case 'kptr':
    case 'uptr':
      return arg(0);
    case 'strncmp': {
      const x = arg(0);
      const y = arg(1);
      const n = e.args[2] ? constInt(ex, e.args[2], s, pc) : undefined;
      if (x.ty.k !== 'str' || y.ty.k !== 'str' || n === undefined) {
        return ex.opaqueVal('strncmp() with a variable length', 'strncmp() with a non-constant length');
      }
      const size = Math.max(x.ty.size, y.ty.size);
      const nn = Math.min(n, size);
      if (nn <= 0) return { ty: U64, t: b.bv(0, 64) };
      const xe = b.extract(8 * nn - 1, 0, b.resize(x.t, size * 8));
      const ye = b.extract(8 * nn - 1, 0, b.resize(y.t, size * 8));
      return { ty: U64, t: b.ite(b.eq(xe, ye), b.bv(0, 64), b.bv(1, 64)) };
    }
    case 'sizeof': {
      const a = e.args[0];
      if (a?.kind === 'TypeExpr') {
        const c = CAST_TYPES[a.type.name];
        if (c && a.type.pointerLevel === 0) return { ty: U64, t: b.bv(c.size * (a.type.arraySize ?? 1), 64) };
        if (a.type.pointerLevel > 0) return { ty: U64, t: b.bv(8, 64) };
      }
      return ex.opaqueVal('sizeof() of this type', 'sizeof() of struct types');
    }
    default:
      if (AGGS.has(e.callee)) throw new Unsupported(`${e.callee}() outside a map assignment`);
      if (OPAQUE_FUNCTIONS.has(e.callee)) return ex.opaqueVal(`${e.callee}()`, `${e.callee}()`);
      return ex.opaqueVal(`${e.callee}()`, `${e.callee}()`);
  }
}

export function observable(ex: ExecCore, e: Extract<Expr, { kind: 'Call' }>, s: PathState, ctx: EvalCtx): Val {
  const text = printExpr(e);
  const idxOf = (a: Expr | undefined): number => {
    if (a?.kind !== 'Integer') throw new Unsupported(`${text}: the index must be an integer literal`);
    return Number(a.value);
  };
  let real: Val;
  if (e.callee === 'printed') {
    const i = idxOf(e.args[0]);
    if (!s.printed) throw new Unsupported(`${text}: no printf() runs before it on some path`);
    const v = s.printed.vals[i];
    if (!v) throw new Unsupported(`${text}: the last printf() has no argument ${i}`);
    real = v;
  } else {
    const m = e.args[0];
    if (m?.kind !== 'Map') throw new Unsupported(`${text}: the first argument must be a map`);
    const u = s.lastUpdate.get(m.name);
    if (!u) throw new Unsupported(`${text}: ${m.name} is not updated before it on some path`);
    if (e.callee === 'mapval') real = u.value;
    else {
      const i = idxOf(e.args[1]);
      const k = u.keys[i];
      if (!k) throw new Unsupported(`${text}: the key of ${m.name} has no element ${i}`);
      real = k;
    }
  }
  if (ctx.mode === 'real') return real;
  let h = ctx.havoc.get(text);
  if (!h) {
    h = ex.havocLike(real, text);
    ctx.havoc.set(text, h);
  }
  return h;
}
