/**
 * Field access: tracepoint `args` fields (one input symbol per tracepoint and field) and kernel
 * memory reads through pointers (an uninterpreted function of the base pointer and field path),
 * typed by the contracts.
 */
import type { FieldContract } from '../contract-seam.js';
import type { Expr } from '../frontend/ast.js';
import { printExpr } from '../frontend/index.js';
import { bvSort, type Term } from '../smt/term.js';
import { type EvalCtx, type ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { canonicalStringAxiom, intTy, U64, type Place, type Val } from './values.js';

export function field(ex: ExecCore, e: Extract<Expr, { kind: 'Field' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const obj = ex.evalExpr(e.object, s, pc, ctx);
  if (obj.ty.k === 'tuple' && obj.parts && /^\d+$/.test(e.field)) {
    const p = obj.parts[Number(e.field)];
    if (!p) throw new Unsupported(`tuple has no element ${e.field}`);
    return p;
  }
  if (obj.place?.struct === '<args>') return argsField(ex, e.field, pc, printExpr(e));
  let place: Place;
  if (obj.place) {
    // Embedded struct or a pointer read on the way: either way the read is a function of
    // (base pointer, field path), since memory does not change within one invocation.
    place = { ...obj.place, path: [...obj.place.path, e.field] };
  } else if (obj.ty.k === 'ptr') {
    const struct = obj.ty.pointee.replace(/^(struct|union) /, '');
    place = { base: obj.t, struct, path: [e.field] };
  } else if (obj.ty.k === 'int') {
    // bpftrace rejects `->` on integers; a cast is needed.
    throw new Unsupported(`field access ${printExpr(e)} on an integer`);
  } else throw new Unsupported(`field access on ${obj.ty.k}`);
  return readPlace(ex, place, printExpr(e));
}

/** Reads a struct field: a known scalar becomes an uninterpreted read of (pointer, path). */
export function readPlace(ex: ExecCore, place: Place, text: string): Val {
  const b = ex.b;
  const c = place.struct.startsWith('?') ? undefined : ex.opts.contracts.kernelField(place.struct, place.path);
  const ufName = `kmem:${place.struct}.${place.path.join('.')}`;
  if (!c) {
    // Unknown type: keep it a place (a later `.f` may complete it) but also readable as 64 bits.
    // A 64-bit unconstrained read over-approximates any real width, so proofs stay sound;
    // counterexamples through it are reported as unknown.
    const t = b.uf(`${ufName}:?`, [place.base], bvSort(64));
    ex.opaque.set(`${ufName}:?`, `the type of ${place.struct}.${place.path.join('.')} is not known (no BTF contract)`);
    ex.unmodelled.add('kernel struct fields without a contract (BTF)');
    return { ty: U64, t, place };
  }
  return fromContract(ex, c, (w) => kernelRead(ex, place, c, w, ufName), text, place);
}

/**
 * The term of a kernel memory read of `w` bits. Memory does not change within one action, so a
 * read is a function of where it reads: (base pointer + byte offset, width) when BTF gives the
 * member's offset, so that `((struct sock *)p)->__sk_common.skc_dport` and `((struct sock_common
 * *)p)->skc_dport` are the same read; (base pointer, struct and field path) otherwise.
 */
function kernelRead(ex: ExecCore, place: Place, c: FieldContract, w: number, ufName: string): Term {
  const b = ex.b;
  const known = currentTaskId(ex, place, w);
  if (known) return known;
  if (c.offset !== undefined) return b.uf(`kmem@${w}`, [b.add(place.base, b.bv(c.offset, 64))], bvSort(w));
  return b.uf(`${ufName}:${w}`, [place.base], bvSort(w));
}

/**
 * `curtask->tgid` is the builtin `pid` and `curtask->pid` is `tid` (bpftrace's pid is the upper half
 * of bpf_get_current_pid_tgid(), the current task's tgid; checked on bpftrace 0.17 here: BEGIN
 * prints the same number for curtask->tgid, pid, curtask->pid and tid).
 */
function currentTaskId(ex: ExecCore, place: Place, w: number): Term | undefined {
  const b = ex.b;
  if (w !== 32 || place.struct !== 'task_struct' || place.path.length !== 1) return undefined;
  if (place.base !== ex.input('curtask', bvSort(64))) return undefined;
  const builtinName = place.path[0] === 'tgid' ? 'pid' : place.path[0] === 'pid' ? 'tid' : undefined;
  if (!builtinName) return undefined;
  return builtinTerm32(ex, builtinName);
}

/** The 32-bit kernel value behind the builtin `pid` or `tid` (see `calls.ts`). */
export function builtinTerm32(ex: ExecCore, name: 'pid' | 'tid'): Term {
  const b = ex.b;
  const t = ex.input(name, bvSort(32));
  // Pids and tids are allocated below pid_max (alloc_pid(), kernel/pid.c), which is at most
  // PID_MAX_LIMIT = 4194304 on 64-bit kernels (include/linux/threads.h).
  if (!ex.axioms.has(t.id)) ex.axioms.set(t.id, b.ult(t, b.bv(4194304, 32)));
  return t;
}

export function fromContract(ex: ExecCore, c: FieldContract, read: (w: number) => Term, text: string, place?: Place): Val {
  const b = ex.b;
  switch (c.kind) {
    case 'int': {
      const raw = read(c.size * 8);
      const v: Val = { ty: intTy(c.size, c.signed), t: b.resize(raw, 64, c.signed) };
      if (c.enumDomain && c.enumDomain.length > 0) {
        ex.axioms.set(raw.id, b.or(...c.enumDomain.map((d) => b.eq(v.t, b.bv(d.value, 64)))));
      }
      ex.noteInput(text, v);
      return v;
    }
    case 'pointer': {
      const t = read(64);
      if (c.nullable === false) ex.axioms.set(t.id, b.not(b.eq(t, b.bv(0, 64))));
      const v: Val = { ty: { k: 'ptr', pointee: c.pointee ?? 'void' }, t };
      ex.noteInput(text, v);
      return v;
    }
    case 'string': {
      const t = read(c.size * 8);
      ex.axioms.set(t.id, canonicalStringAxiom(b, t, c.size));
      const v: Val = { ty: { k: 'str', size: c.size }, t };
      ex.noteInput(text, v);
      return v;
    }
    case 'array': {
      const es = c.elementSize ?? 1;
      const t = read(c.size * 8);
      const v: Val = { ty: { k: 'array', elemSize: es, signed: c.signed, count: Math.max(1, Math.floor(c.size / es)) }, t };
      ex.noteInput(text, v);
      return v;
    }
    case 'struct':
      if (!place) throw new Unsupported(`struct-valued field ${text}`);
      return { ty: { k: 'place' }, t: b.T, place };
  }
}

export function argsField(ex: ExecCore, name: string, pc: ProbeCtx, text: string): Val {
  if (!pc.fields) throw new Unsupported(`${text}: ${pc.fieldsMissing ?? 'args are not known'}`);
  const c = pc.fields.find((f) => f.name === name);
  if (!c) throw new Unsupported(`${text}: tracepoint ${pc.ap.target.join(':')} has no field ${name}`);
  const b = ex.b;
  // One symbol per tracepoint and field: a probe with several attach points may see fields of
  // the same name with different types.
  const tp = pc.ap.target.join(':');
  if (c.dataLoc) {
    // Checked on bpftrace 0.17 here: `args->filename` of sched_process_exec (`__data_loc char[]`)
    // is neither a string nor the 32-bit locator but a 64-bit address (0xffffe8ffffc1ed14) into
    // the event record; `str(args->filename)` reads the string there.
    const v: Val = { ty: U64, t: ex.input(`args->${name}@${tp}`, bvSort(64)) };
    ex.noteInput(`args->${name}`, v);
    return v;
  }
  return fromContract(ex, c, (w) => ex.input(`args->${name}@${tp}`, bvSort(w)), `args->${name}`);
}
