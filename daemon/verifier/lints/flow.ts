/**
 * A small forward data-flow over probe bodies for the lints: what is known about each `$var` and
 * `@map` value at each statement — its C type (tracepoint field types, casts, kernel struct
 * members from BTF), whether it is in network byte order, whether it is an absolute nanosecond
 * timestamp, or a nanosecond difference divided by some factor. Deliberately modest: it tracks
 * direct flows, forgets anything it cannot follow, and merges branches by keeping only facts that
 * hold on every path, so the lints built on it warn only when sure.
 */
import type { Block, Expr, Probe, Program, Stmt } from '../frontend/ast.js';
import { printType } from '../frontend/printer.js';
import { collect } from '../frontend/walk.js';
import type { LintContext } from './context.js';

export interface ValueFacts {
  /** C type text when known: `const char *`, `__be16`, `struct sock *`, `string`. */
  readonly ctype?: string;
  /** In network byte order (`__be16`/`__be32`/`__be64`); the type named. */
  readonly networkOrder?: string;
  /** An absolute time in ns (`nsecs`, `elapsed`, or a value stored from them). */
  readonly timestamp?: boolean;
  /** A difference of ns timestamps divided by `divisor` (1: still ns). */
  readonly delta?: { readonly divisor: bigint };
}

const NONE: ValueFacts = {};

/** `[category, event]` of each non-wildcard tracepoint attach point of a probe. */
export function probeTracepoints(probe: Probe): [string, string][] {
  const out: [string, string][] = [];
  for (const ap of probe.attachPoints) {
    if (ap.provider !== 'tracepoint' || ap.wildcard || ap.target.length !== 2) continue;
    out.push([ap.target[0] ?? '', ap.target[1] ?? '']);
  }
  return out;
}

function networkOrderOf(ctype: string): string | undefined {
  const m = /\b__be(16|32|64)\b/.exec(ctype);
  return m ? `__be${m[1]}` : undefined;
}

function sameFacts(a: ValueFacts, b: ValueFacts): boolean {
  return (
    a.ctype === b.ctype &&
    a.networkOrder === b.networkOrder &&
    a.timestamp === b.timestamp &&
    a.delta?.divisor === b.delta?.divisor
  );
}

type Env = Map<string, ValueFacts>;

function intersect(a: Env, b: Env): Env {
  const out: Env = new Map();
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w && sameFacts(v, w)) out.set(k, v);
  }
  return out;
}

/** Called for every simple statement, with a way to ask the facts of any expression at that point. */
export type StatementHook = (stmt: Stmt, probe: Probe, facts: (e: Expr) => ValueFacts) => void;

export class FlowAnalysis {
  /** Facts of each map's values, agreed by every plain assignment to it in the program. */
  private mapFacts = new Map<string, ValueFacts>();

  constructor(
    private readonly program: Program,
    private readonly ctx: LintContext,
  ) {
    // Two rounds: the second sees map facts the first derived (`@start[tid] = nsecs` in one probe,
    // `nsecs - @start[tid]` in another).
    for (let round = 0; round < 2; round++) {
      const seen = new Map<string, ValueFacts | null>();
      this.run((stmt, _probe, facts) => {
        if (stmt.kind !== 'AssignStmt' || stmt.target.kind !== 'Map') return;
        const name = stmt.target.name;
        const f = stmt.op === '=' ? facts(stmt.value) : NONE;
        const prev = seen.get(name);
        if (prev === undefined) seen.set(name, f);
        else if (prev !== null && !sameFacts(prev, f)) seen.set(name, null);
      });
      this.mapFacts = new Map([...seen].filter((e): e is [string, ValueFacts] => e[1] !== null));
    }
  }

  /** Walks every probe body in order, calling `hook` on each simple statement. */
  run(hook: StatementHook): void {
    for (const probe of this.program.probes) {
      const env: Env = new Map();
      this.block(probe.body, probe, env, hook);
    }
  }

  private block(b: Block, probe: Probe, env: Env, hook: StatementHook): Env {
    let cur = env;
    for (const s of b.statements) cur = this.stmt(s, probe, cur, hook);
    return cur;
  }

  private stmt(s: Stmt, probe: Probe, env: Env, hook: StatementHook): Env {
    const facts = (e: Expr): ValueFacts => this.facts(e, probe, env);
    switch (s.kind) {
      case 'IfStmt': {
        const t = this.block(s.then, probe, new Map(env), hook);
        const e = s.else ? this.stmt(s.else, probe, new Map(env), hook) : env;
        return intersect(t, e);
      }
      case 'Block':
        return this.block(s, probe, env, hook);
      case 'WhileStmt':
      case 'UnrollStmt':
      case 'ForStmt': {
        const after = this.block(s.body, probe, new Map(env), hook);
        return intersect(env, after);
      }
      case 'AssumeStmt':
      case 'AssertStmt':
        return env;
      case 'AssignStmt': {
        hook(s, probe, facts);
        if (s.target.kind === 'Variable') {
          const out = new Map(env);
          if (s.op === '=') out.set(s.target.name, facts(s.value));
          else out.delete(s.target.name);
          return out;
        }
        return env;
      }
      case 'VarDeclStmt': {
        hook(s, probe, facts);
        const out = new Map(env);
        if (s.value) out.set(s.variable.name, facts(s.value));
        else out.delete(s.variable.name);
        return out;
      }
      default:
        hook(s, probe, facts);
        return env;
    }
  }

  /** Facts of an expression in a probe under an environment. */
  facts(e: Expr, probe: Probe, env: ReadonlyMap<string, ValueFacts>): ValueFacts {
    switch (e.kind) {
      case 'Builtin':
        if (e.name === 'nsecs') return { timestamp: true };
        if (e.name === 'curtask') return { ctype: 'struct task_struct *' };
        // elapsed is a time and also already a difference (ns since the program started).
        if (e.name === 'elapsed') return { timestamp: true, delta: { divisor: 1n } };
        return NONE;
      case 'Call':
        if (e.callee === 'nsecs') return { timestamp: true };
        if (e.callee === 'str') return { ctype: 'string' };
        return NONE;
      case 'Variable':
        return env.get(e.name) ?? NONE;
      case 'Map':
        return this.mapFacts.get(e.name) ?? NONE;
      case 'Field': {
        if (e.object.kind === 'Builtin' && e.object.name === 'args') {
          for (const [cat, ev] of probeTracepoints(probe)) {
            const ft = this.ctx.fields?.fieldType(cat, ev, e.field);
            if (ft) {
              const be = networkOrderOf(ft.type);
              return be ? { ctype: ft.type, networkOrder: be } : { ctype: ft.type };
            }
          }
          return NONE;
        }
        // A member of a struct the program reached through a cast or curtask: its BTF type.
        const owner = this.facts(e.object, probe, env).ctype;
        const struct = owner ? /^(?:struct|union) (\w+)(?: \*)?$/.exec(owner)?.[1] : undefined;
        const ctype = struct ? this.ctx.members?.memberType(struct, e.field) : undefined;
        if (!ctype) return NONE;
        const be = networkOrderOf(ctype);
        return be ? { ctype, networkOrder: be } : { ctype };
      }
      case 'Cast': {
        const ctype = printType(e.type);
        const inner = this.facts(e.operand, probe, env);
        const be = networkOrderOf(ctype);
        if (be) return { ctype, networkOrder: be };
        const integer = e.type.pointerLevel === 0 && e.type.arraySize === undefined && !/^(struct|union|enum) /.test(e.type.name);
        if (!integer) return { ctype };
        return {
          ctype,
          ...(inner.networkOrder ? { networkOrder: inner.networkOrder } : {}),
          ...(inner.timestamp ? { timestamp: true } : {}),
          ...(inner.delta ? { delta: inner.delta } : {}),
        };
      }
      case 'Binary': {
        const l = this.facts(e.left, probe, env);
        if (e.op === '-' && l.timestamp) {
          const r = this.facts(e.right, probe, env);
          const rightIsTime = r.timestamp || e.right.kind === 'Map' || e.right.kind === 'Variable';
          return rightIsTime ? { delta: { divisor: 1n } } : NONE;
        }
        const lit = e.right.kind === 'Integer' ? e.right.value : undefined;
        if (l.delta && lit !== undefined && lit > 0n) {
          if (e.op === '/') return { delta: { divisor: l.delta.divisor * lit } };
          if (e.op === '*' && l.delta.divisor % lit === 0n) return { delta: { divisor: l.delta.divisor / lit } };
        }
        return NONE;
      }
      default:
        return NONE;
    }
  }
}

/** Every call under an expression (itself included), in source order. */
export function callsIn(e: Expr): Extract<Expr, { kind: 'Call' }>[] {
  return collect(e, 'Call');
}

/** The expressions directly inside a simple statement (for hooks that look for calls). */
export function statementExprs(s: Stmt): Expr[] {
  switch (s.kind) {
    case 'ExprStmt':
      return [s.expr];
    case 'AssignStmt':
      return [s.target, s.value];
    case 'VarDeclStmt':
      return s.value ? [s.value] : [];
    case 'ReturnStmt':
      return s.value ? [s.value] : [];
    default:
      return [];
  }
}
