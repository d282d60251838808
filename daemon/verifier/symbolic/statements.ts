/**
 * Statements: blocks, assignments, `if`, loops (`unroll`, bounded `while`, constant-range `for`),
 * control flow, printf/delete/exit and the annotations: an `assume` adds to the path's
 * assumptions, an `assert` becomes one proof obligation per path reaching it.
 */
import type { AssertStmt, Block, Expr, Stmt } from '../frontend/ast.js';
import { printExpr } from '../frontend/index.js';
import type { Term } from '../smt/term.js';
import { cloneState, type EvalCtx, type ExecCore, type PathState, type ProbeCtx, splitLoopExits, Unsupported } from './core.js';
import { deleteEntry } from './map-state.js';
import { execForMap } from './for-map.js';
import { assignMap, keyTerm, mapInfo, update } from './maps.js';
import { asBool, binary, cast, constInt } from './operators.js';
import type { Obligation, Shown } from './results.js';
import { asPrinted, conversions, dialectConversions } from './printf.js';
import { assignVar } from './variables.js';
import { isLiteral } from './expressions.js';
import { CAST_TYPES, intTy, S64, type Val } from './values.js';

/** Statement-level calls with no effect on the modelled state (all are observable effects). */
const NO_EFFECT_CALLS = new Set(['print', 'time', 'cat', 'join', 'system', 'signal', 'override', 'printf', 'debugf', 'errorf', 'warnf']);

export function execBlock(ex: ExecCore, block: Block, states: PathState[], pc: ProbeCtx, pre: Term): PathState[] {
  if (!ex.dialect.blockScoping) return execStatements(ex, block, states, pc, pre);
  // Block scoping (0.22 and later): a variable first declared or assigned in this block ends with
  // it, and its type with it (a sibling block may declare it again with another type).
  const outer = new Set(ex.varTypes.keys());
  for (const st of states) for (const name of st.vars.keys()) outer.add(name);
  const out = execStatements(ex, block, states, pc, pre);
  for (const name of [...ex.varTypes.keys()]) if (!outer.has(name)) ex.varTypes.delete(name);
  for (const st of out) for (const name of [...st.vars.keys()]) if (!outer.has(name)) st.vars.delete(name);
  return out;
}

function execStatements(ex: ExecCore, block: Block, states: PathState[], pc: ProbeCtx, pre: Term): PathState[] {
  let cur = states;
  for (const stmt of block.statements) {
    const live = cur.filter((s) => s.flow === 'normal');
    const done = cur.filter((s) => s.flow !== 'normal');
    const next: PathState[] = [];
    for (const s of live) next.push(...execStmt(ex, stmt, s, pc, pre));
    if (next.length > ex.maxPaths) {
      ex.markIncomplete(pc.index, `more than ${ex.maxPaths} paths`);
      next.length = ex.maxPaths;
    }
    cur = [...done, ...next];
  }
  return cur;
}

export function execStmt(ex: ExecCore, stmt: Stmt, s: PathState, pc: ProbeCtx, pre: Term): PathState[] {
  const b = ex.b;
  const real: EvalCtx = { mode: 'real', havoc: new Map() };
  try {
    switch (stmt.kind) {
      case 'Block':
        return execBlock(ex, stmt, [s], pc, pre);
      case 'ExprStmt':
        execExprStmt(ex, stmt.expr, s, pc, real);
        return [s];
      case 'AssignStmt': {
        if (stmt.target.kind === 'Variable') {
          let v = ex.evalLoose(stmt.value, s, pc, real);
          if (stmt.op !== '=') {
            const old = ex.readVar(stmt.target.name, s);
            v = binary(ex, stmt.op.slice(0, -1), old, v);
          }
          assignVar(ex, s, stmt.target.name, strictAssignment(ex, stmt, v));
        } else {
          assignMap(ex, stmt.target, stmt.op, stmt.value, s, pc, real);
        }
        return [s];
      }
      case 'VarDeclStmt': {
        let v: Val;
        if (stmt.value) {
          v = ex.evalLoose(stmt.value, s, pc, real);
          // `let $x: uint16 = e` converts like a cast.
          if (stmt.type && CAST_TYPES[stmt.type.name] && stmt.type.pointerLevel === 0 && stmt.type.arraySize === undefined) {
            v = cast(ex, { kind: 'Cast', type: stmt.type, operand: stmt.value, span: stmt.span }, v);
          }
        } else {
          const ct = stmt.type ? CAST_TYPES[stmt.type.name] : undefined;
          v = { ty: ct ? intTy(ct.size, ct.signed) : S64, t: b.bv(0, 64) };
        }
        // The declaration fixes the variable's type, as a first assignment does (`variables.ts`).
        // Only newer bpftrace has `let` (0.17 rejects it, so verifyProgram never runs this); how
        // newer versions treat a later wider assignment has not been checked here.
        if (!ex.varTypes.has(stmt.variable.name)) ex.varTypes.set(stmt.variable.name, v.ty);
        s.vars.set(stmt.variable.name, v);
        return [s];
      }
      case 'IfStmt': {
        const c = asBool(ex, ex.evalLoose(stmt.condition, s, pc, real));
        const out: PathState[] = [];
        if (c !== b.F) {
          const t = cloneState(s);
          if (c !== b.T) t.pc.push(c);
          out.push(...execBlock(ex, stmt.then, [t], pc, pre));
        }
        if (c !== b.T) {
          const e = cloneState(s);
          if (c !== b.F) e.pc.push(b.not(c));
          if (stmt.else) {
            out.push(...(stmt.else.kind === 'Block' ? execBlock(ex, stmt.else, [e], pc, pre) : execStmt(ex, stmt.else, e, pc, pre)));
          } else out.push(e);
        }
        return out;
      }
      case 'UnrollStmt': {
        const n = constInt(ex, stmt.count, s, pc);
        if (n === undefined) throw new Unsupported('unroll with a non-constant count');
        // bpftrace accepts 1..100.
        if (n < 1 || n > 100) throw new Unsupported(`unroll(${n}): bpftrace accepts counts from 1 to 100`);
        let states = [s];
        for (let i = 0; i < n; i++) states = execBlock(ex, stmt.body, states, pc, pre);
        return states;
      }
      case 'WhileStmt':
        return execWhile(ex, stmt, s, pc, pre);
      case 'ForStmt':
        return execFor(ex, stmt, s, pc, pre);
      case 'ReturnStmt':
        s.flow = 'return';
        return [s];
      case 'BreakStmt':
        s.flow = 'break';
        return [s];
      case 'ContinueStmt':
        s.flow = 'continue';
        return [s];
      case 'AssumeStmt': {
        const ctx: EvalCtx = { mode: 'real', havoc: new Map(), assume: { span: stmt.span }, reads: new Map(), annotation: true };
        if (ex.opts.excluding) return excludeAssume(ex, stmt, s, pc, ctx);
        const a = asBool(ex, ex.evalExpr(stmt.expr, s, pc, ctx));
        s.assumptions.push(a);
        ex.assumes.push({
          span: stmt.span,
          text: printExpr(stmt.expr),
          pre,
          pc: b.and(...s.pc),
          pred: ex.predicate,
          assumptions: b.and(...s.assumptions),
        });
        return [s];
      }
      case 'AssertStmt':
        if (!ex.opts.excluding) collectAssert(ex, stmt, s, pc, pre);
        return [s];
    }
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    ex.markIncomplete(pc.index, `line ${stmt.span.line}: ${err.message}`);
    return [];
  }
  return [s];
}


/** `for ($k, $v : @map)` over what the map may hold; `for ($i : a..b)` unrolled when a and b are constants. */
function execFor(ex: ExecCore, stmt: Extract<Stmt, { kind: 'ForStmt' }>, s: PathState, pc: ProbeCtx, pre: Term): PathState[] {
  const b = ex.b;
  if (stmt.iterable.kind === 'Map') return execForMap(ex, stmt, s, pc, pre, execBlock);
  if (stmt.iterable.kind === 'Range') {
    // `for ($i : a..b)` with constant bounds runs b - a times with $i = a .. b-1.
    const lo = constInt(ex, stmt.iterable.start, s, pc);
    const hi = constInt(ex, stmt.iterable.end, s, pc);
    if (lo !== undefined && hi !== undefined && hi - lo <= ex.maxLoop) {
      let states = [s];
      const exits: PathState[] = [];
      for (let i = lo; i < hi && states.length > 0; i++) {
        for (const st of states) st.vars.set(stmt.variable.name, { ty: S64, t: b.bv(i, 64) });
        const after = execBlock(ex, stmt.body, states, pc, pre);
        states = splitLoopExits(after, exits);
      }
      return [...exits, ...states];
    }
  }
  ex.unmodelled.add('for loops over ranges without constant bounds');
  ex.markIncomplete(pc.index, `for loop at line ${stmt.span.line} is not modelled`);
  return [];
}

/**
 * The value a variable assignment stores under a dialect with strict assignments (0.22 and later):
 * the compiler has refused a wider value or one of the other signedness (`dialect-acceptance.ts`),
 * and an integer literal that fits the variable is stored whole (run here on 0.23.2: `$x =
 * (uint8)1; $x = 200;` prints 200, where 0.17 drops the int64 literal). From 0.25 a value of
 * another type is not modelled (the variable widens: see below).
 */
function strictAssignment(ex: ExecCore, stmt: Extract<Stmt, { kind: 'AssignStmt' }>, v: Val): Val {
  const slot = ex.varTypes.get((stmt.target as { name: string }).name);
  if (!slot) return v;
  if (ex.dialect.integerModel === 'unmodelled-narrow' && !sameType(slot, v.ty)) {
    // Run here on 0.27.1: a variable widens to what is assigned (`$x = (uint8)250; $x = $x +
    // (uint8)10;` prints 260, `$a = (uint16)0x1234; $a = (uint8)0x56;` prints 86): not modelled.
    throw new Unsupported(`assigning a value of another type to ${(stmt.target as { name: string }).name} in bpftrace ${ex.dialect.version} is not modelled`);
  }
  if (!ex.dialect.strictVariableAssignment || slot.k !== 'int') return v;
  if (stmt.op === '=' && isLiteral(stmt.value) && v.ty.k === 'int') {
    return { ty: slot, t: ex.b.resize(ex.b.extract(slot.size * 8 - 1, 0, v.t), 64, slot.signed) };
  }
  return v;
}

function sameType(a: Val['ty'], b: Val['ty']): boolean {
  if (a.k === 'int' && b.k === 'int') return a.size === b.size && a.signed === b.signed;
  return a.k === b.k && a.k !== 'int';
}

/**
 * At the assume under test ({@link ExecOptions.excluding}): the path forks a copy that takes the
 * assume's negation, from which every effect is an action on excluded inputs (as is an effect the
 * path has already had); the path itself goes on under the assume (it may be met again in a
 * loop). Every other assume is skipped: each is tested on its own.
 */
function excludeAssume(ex: ExecCore, stmt: Extract<Stmt, { kind: 'AssumeStmt' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): PathState[] {
  if (stmt !== ex.opts.excluding || s.excluded !== undefined) return [s];
  const b = ex.b;
  const a = asBool(ex, ex.evalExpr(stmt.expr, s, pc, ctx));
  if (a === b.T) return [s];
  const out = cloneState(s);
  out.excluded = b.not(a);
  out.pc.push(out.excluded);
  if (s.acted !== undefined) ex.noteEffect(out, `${s.acted} before the assume`, s.actedWhen);
  if (a !== b.F) s.pc.push(a);
  return a === b.F ? [out] : [s, out];
}

export function execWhile(ex: ExecCore, stmt: Extract<Stmt, { kind: 'WhileStmt' }>, s: PathState, pc: ProbeCtx, pre: Term): PathState[] {
  const b = ex.b;
  const exits: PathState[] = [];
  let looping: PathState[] = [s];
  // Iterations whose condition depends on inputs fork; those are capped lower than iterations
  // with a known condition (a counter loop), which cost nothing extra.
  let forking = 0;
  for (let i = 0; i < ex.maxLoop && forking < ex.maxForkingIterations && looping.length > 0; i++) {
    const next: PathState[] = [];
    let forked = false;
    for (const st of looping) {
      const c = asBool(ex, ex.evalLoose(stmt.condition, st, pc, { mode: 'real', havoc: new Map() }));
      if (c !== b.T && c !== b.F) forked = true;
      if (c !== b.T) {
        const e = cloneState(st);
        if (c !== b.F) e.pc.push(b.not(c));
        exits.push(e);
      }
      if (c !== b.F) {
        const t = cloneState(st);
        if (c !== b.T) t.pc.push(c);
        next.push(t);
      }
    }
    if (forked) forking++;
    const after = execBlock(ex, stmt.body, next, pc, pre);
    looping = splitLoopExits(after, exits);
    if (exits.length + looping.length > ex.maxPaths) {
      ex.markIncomplete(pc.index, `more than ${ex.maxPaths} paths in the while loop at line ${stmt.span.line}`);
      return exits.slice(0, ex.maxPaths);
    }
  }
  if (looping.length > 0) {
    const bound = forking >= ex.maxForkingIterations ? ex.maxForkingIterations : ex.maxLoop;
    ex.unmodelled.add(`while loops whose iteration count depends on inputs beyond ${ex.maxForkingIterations} iterations (or beyond ${ex.maxLoop} in all)`);
    ex.markIncomplete(pc.index, `while loop at line ${stmt.span.line} may run more than ${bound} iterations (explored exactly up to that bound)`);
  }
  return exits;
}

export function collectAssert(ex: ExecCore, stmt: AssertStmt, s: PathState, pc: ProbeCtx, pre: Term): void {
  const b = ex.b;
  const site = ex.sites.find((x) => x.stmt === stmt);
  if (!site) return;
  const reads = new Map<Expr, Val>();
  let goal: Term;
  let havocGoal: Term;
  try {
    goal = asBool(ex, ex.evalExpr(stmt.expr, s, pc, { mode: 'real', havoc: new Map(), reads, annotation: true }));
    havocGoal = asBool(ex, ex.evalExpr(stmt.expr, s, pc, { mode: 'havoc', havoc: new Map(), reads, annotation: true }));
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    if (!ex.unknowns.has(stmt)) ex.unknowns.set(stmt, err.message);
    return;
  }
  const computed: Shown[] = [];
  const seen = new Set<string>();
  const real: EvalCtx = { mode: 'real', havoc: new Map(), reads, annotation: true };
  const visit = (e: Expr): void => {
    if (e.kind === 'Variable' || (e.kind === 'Call' && ['printed', 'mapkey', 'mapval'].includes(e.callee))) {
      const name = printExpr(e);
      if (!seen.has(name)) {
        seen.add(name);
        try {
          computed.push({ name, val: ex.evalExpr(e, s, pc, real) });
        } catch {
          // Already reported through the goal.
        }
      }
      return;
    }
    for (const c of exprChildren(e)) visit(c);
  };
  visit(stmt.expr);
  let sides: Obligation['sides'];
  const e = stmt.expr;
  if (e.kind === 'Binary' && ['==', '!=', '<', '<=', '>', '>='].includes(e.op)) {
    try {
      sides = {
        op: e.op,
        left: { name: describe(ex, e.left, s), val: ex.evalExpr(e.left, s, pc, real) },
        right: { name: describe(ex, e.right, s), val: ex.evalExpr(e.right, s, pc, real) },
      };
    } catch {
      sides = undefined;
    }
  }
  ex.obligations.push({
    site,
    pre,
    pc: b.and(...s.pc),
    pred: ex.predicate,
    assumptions: b.and(...s.assumptions),
    goal,
    havocGoal,
    computed,
    ...(sides ? { sides } : {}),
  });
}

/** `printed(1)` -> `printed $dport` when the printf argument is known, else the source text. */
export function describe(ex: ExecCore, e: Expr, s: PathState): string {
  if (e.kind === 'Call' && e.callee === 'printed' && e.args[0]?.kind === 'Integer') {
    const i = Number(e.args[0].value);
    const text = s.printed?.texts[i];
    if (text !== undefined && text !== printExpr(e)) return `printed ${text}`;
  }
  return printExpr(e);
}

export function execExprStmt(ex: ExecCore, e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): void {
  if (e.kind === 'Update') {
    update(ex, e, s, pc, ctx);
    return;
  }
  if (e.kind === 'Call') {
    switch (e.callee) {
      case 'printf': {
        const args = e.args.slice(1);
        const fmt = e.args[0]?.kind === 'String' ? e.args[0].value : undefined;
        const specs = fmt === undefined ? [] : (dialectConversions(fmt, ex.dialect) ?? conversions(fmt));
        const vals = args.map((a, i) => {
          const v = ex.evalLoose(a, s, pc, ctx);
          return asPrinted(ex, v.asStored ?? v, specs[i]);
        });
        s.printed = { vals, texts: args.map((a) => printExpr(a)) };
        ex.noteEffect(s, `printf (line ${e.span.line})`);
        return;
      }
      case 'delete': {
        for (const target of deleteTargets(e)) {
          const info = mapInfo(ex, target.name);
          const key = keyTerm(ex, target.name, target.keys.map((k) => ex.evalLoose(k, s, pc, ctx)));
          deleteEntry(ex, target.name, info, key, s);
          s.updated.add(target.name);
          ex.noteEffect(s, `delete(${target.name}) (line ${e.span.line})`);
        }
        return;
      }
      case 'clear':
      case 'zero':
        // bpftrace 0.17 carries these out later, in user space (checked on this machine: @m[1]
        // still reads 5 right after clear(@m)); within the invocation nothing changes, and the
        // next invocation's contents are unknown anyway.
        ex.noteEffect(s, `${e.callee}() (line ${e.span.line})`);
        return;
      case 'exit':
        // exit() ends the action (checked on this machine: a map update after it does not happen).
        s.flow = 'return';
        ex.noteEffect(s, `exit() (line ${e.span.line})`);
        return;
      default:
        break;
    }
    if (NO_EFFECT_CALLS.has(e.callee)) {
      // Evaluate arguments for their own effects (none modelled) and to surface unsupported ones.
      for (const a of e.args) {
        if (a.kind !== 'Map') tryEval(ex, a, s, pc, ctx);
      }
      ex.noteEffect(s, `${e.callee}() (line ${e.span.line})`);
      return;
    }
  }
  tryEval(ex, e, s, pc, ctx);
}

export function tryEval(ex: ExecCore, e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): void {
  try {
    ex.evalExpr(e, s, pc, ctx);
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    // A value computed and thrown away cannot affect an assertion.
  }
}

function deleteTargets(e: Extract<Expr, { kind: 'Call' }>): { name: string; keys: readonly Expr[] }[] {
  const out: { name: string; keys: readonly Expr[] }[] = [];
  const first = e.args[0];
  if (first?.kind === 'Map') {
    if (e.args.length >= 2 && first.keys.length === 0) {
      // delete(@m, key) (bpftrace >= 0.21); a tuple key spreads.
      const k = e.args[1] as Expr;
      out.push({ name: first.name, keys: k.kind === 'Tuple' ? k.elements : [k] });
    } else {
      for (const a of e.args) if (a.kind === 'Map') out.push({ name: a.name, keys: a.keys });
    }
  }
  return out;
}

function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'Map':
      return [...e.keys];
    case 'Call':
      return [...e.args];
    case 'Unary':
    case 'Update':
      return [e.operand];
    case 'Binary':
      return [e.left, e.right];
    case 'Ternary':
      return [e.condition, e.then, e.else];
    case 'Cast':
      return [e.operand];
    case 'Field':
      return [e.object];
    case 'Index':
      return [e.object, e.index];
    case 'Tuple':
      return [...e.elements];
    case 'Range':
      return [e.start, e.end];
    default:
      return [];
  }
}

/** Every `assert` statement inside a block, in source order. */
export function collectAsserts(block: Block): AssertStmt[] {
  const out: AssertStmt[] = [];
  const visit = (s: Stmt): void => {
    switch (s.kind) {
      case 'AssertStmt':
        out.push(s);
        return;
      case 'Block':
        s.statements.forEach(visit);
        return;
      case 'IfStmt':
        visit(s.then);
        if (s.else) visit(s.else);
        return;
      case 'UnrollStmt':
      case 'WhileStmt':
      case 'ForStmt':
        visit(s.body);
        return;
      default:
        return;
    }
  };
  block.statements.forEach(visit);
  return out;
}

