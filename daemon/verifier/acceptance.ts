/**
 * Acceptance: the programs bpftrace 0.17 refuses to compile. Nothing about such a program may be
 * proved (it would never run), so each refusal found here is an error and the verdict is
 * `invalid`. A static pass over the AST, in source order as bpftrace's semantic analyser reads it;
 * it only refuses what 0.17 refuses for certain (an expression of a type it cannot tell, such as a
 * kernel struct field, is judged by nobody here). Every rule was checked on bpftrace 0.17 here,
 * with the message it prints quoted; difftest class `accept` compares the verdicts.
 */
import type { Diagnostic, Span } from '../protocol/diagnostic.js';
import { AGGREGATIONS, collect, printExpr, type AttachPoint, type Expr, type Probe, type Program, type Stmt } from './frontend/index.js';
import { stripAnnotations } from './frontend/walk.js';
import { dialectConversions } from './symbolic/printf.js';
import { DEFAULT_DIALECT, hasBuiltin, hasFunction, type Dialect } from './dialect/index.js';
import { checkDialectRules } from './dialect-acceptance.js';

/** A value's kind as far as acceptance needs it. `agg:NAME` is a map value of aggregation NAME. */
type Kind = 'int' | 'str' | 'other' | `agg:${string}`;

// Builtins and functions the front-end reads that a version does not know ("Unknown identifier:
// 'ncpus'", "Unknown function: has_key", checked here on 0.17 for each, and on 0.23.2 for ncpus and
// usermode) come from the dialect (`dialect/profiles.ts`).

/** Builtins whose value is a string for printf and comparisons. */
const STRING_BUILTINS = new Set(['comm', 'probe', 'func', 'username', 'kstack', 'ustack']);
/** Functions whose value is a string for printf (bpftrace prints symbols, addresses, stacks with %s). */
const STRING_FUNCTIONS = new Set(['str', 'ksym', 'usym', 'ntop', 'strftime', 'macaddr', 'path', 'kstack', 'ustack', 'cgroup_path', 'strerror']);
const INT_FUNCTIONS = new Set(['bswap', 'strncmp', 'sizeof', 'cgroupid', 'kaddr', 'uaddr', 'reg', 'pton', 'strcontains', 'kptr', 'uptr']);
/** Exact argument counts ("bswap() requires one argument (2 provided)"). */
const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  bswap: [1, 1],
  str: [1, 2],
  strncmp: [3, 3],
  ntop: [1, 2],
  count: [0, 0],
  sum: [1, 1],
  min: [1, 1],
  max: [1, 1],
  avg: [1, 1],
  stats: [1, 1],
  lhist: [4, 4],
  exit: [0, 0],
  ksym: [1, 1],
  usym: [1, 1],
  kptr: [1, 1],
  uptr: [1, 1],
};
/** Probe kinds in which `args`, `argN`, `retval`, `func` do not exist. */
const NO_ARGS = new Set(['BEGIN', 'END', 'interval', 'profile', 'software', 'hardware', 'kprobe', 'kretprobe']);
const NO_ARGN = new Set(['BEGIN', 'END', 'interval', 'profile', 'software', 'hardware', 'tracepoint', 'rawtracepoint']);
const NO_RETVAL = new Set(['BEGIN', 'END', 'interval', 'profile', 'software', 'hardware', 'tracepoint', 'kprobe', 'uprobe', 'usdt']);
const NO_FUNC = new Set(['BEGIN', 'END']);

const AGGS: ReadonlySet<string> = new Set(AGGREGATIONS);
const ARITH = new Set(['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>']);
const ORDER = new Set(['<', '<=', '>', '>=']);

/**
 * The refusals of the dialect's bpftrace (default 0.17) in `program`, as error diagnostics. The
 * rules below are 0.17's, which later versions keep; `dialect-acceptance.ts` adds theirs.
 */
export function checkAcceptance(program: Program, dialect: Dialect = DEFAULT_DIALECT): Diagnostic[] {
  const out: Diagnostic[] = [];
  const refuse = (span: Span, message: string): void => {
    if (out.some((d) => d.span?.line === span.line && d.span.column === span.column)) return;
    out.push({
      code: `parse.refused-by-bpftrace-${dialect.version}`,
      severity: 'error',
      stage: 'parse',
      message: `bpftrace ${dialect.version} refuses this program: ${message}; it would not load`,
      span,
    });
  };
  for (const probe of program.probes) checkDialectRules(probe, dialect, refuse);
  undefinedMaps(program, dialect, refuse);
  // From 0.27 a map that never gets a type reads 0 (`@a = @a` compiles): Dialect.unassignedMapReads.
  if (!dialect.unassignedMapReads) neverTypedMaps(program, refuse);
  // Map value kinds: the first assignment in source order fixes one ("Type mismatch for @m:
  // trying to assign value of type 'string[2]' when map already contains a value of type
  // 'int64'"), and reads anywhere take it, also reads before it (the analyser runs until types settle).
  const mapKinds = new Map<string, Kind>();
  const mapKeys = new Map<string, Kind[]>();
  const firstPass = (probe: Probe): void => {
    const vars = new Map<string, Kind>();
    for (const a of collect(probe.body, 'AssignStmt')) {
      if (a.op !== '=') continue;
      const k = kindOf(a.value, mapKinds, vars);
      if (a.target.kind === 'Variable') {
        if (!vars.has(a.target.name) && k !== 'other') vars.set(a.target.name, k);
      } else if (!mapKinds.has(a.target.name) && k !== 'other') mapKinds.set(a.target.name, k);
    }
  };
  // Twice: a map assigned from another map takes that map's kind.
  for (let i = 0; i < 2; i++) program.probes.forEach(firstPass);
  const assigned = new Map<string, Kind>();
  const order = new SourceOrderTypes();
  // From 0.27 a map read before any assignment in the text is an int64 (reads 0), never 'none':
  // run here on 0.27.1, `@a = 1; @a = @b;`, `(int64)@b`, `@a = @b[1]` with @b assigned in END compile.
  const orderRefuse = dialect.unassignedMapReads ? (): void => {} : refuse;
  for (const probe of program.probes) {
    const vars = new Map<string, Kind>();
    order.enterProbe();
    const kinds = probe.attachPoints.map((ap: AttachPoint) => ap.provider as string);
    const expr = (e: Expr): Kind => {
      order.checkCasts(e, orderRefuse);
      const k = checkExpr(e, { refuse, mapKinds, mapKeys, vars, kinds, dialect });
      order.noteUpdates(e);
      return k;
    };
    if (probe.predicate) condition(probe.predicate, expr, refuse);
    const stmt = (s: Stmt): void => {
      switch (s.kind) {
        case 'Block':
          s.statements.forEach(stmt);
          return;
        case 'ExprStmt':
          expr(s.expr);
          return;
        case 'AssignStmt': {
          const k = expr(s.value);
          order.assign(s, orderRefuse);
          if (s.target.kind === 'Map') {
            for (const key of s.target.keys) expr(key);
            keysOf(s.target.name, s.target.keys, { refuse, mapKinds, mapKeys, vars, kinds, dialect }, s.target.span);
            const mk = mapKinds.get(s.target.name);
            if (s.op !== '=') {
              if (mk?.startsWith('agg:') || k.startsWith('agg:')) refuse(s.span, `\`${s.op}\` on an aggregation (${(mk ?? k).slice(4)}) value`);
              else if (mk === 'str' || k === 'str') refuse(s.span, `\`${s.op}\` on a string`);
              return;
            }
            if (dialect.aggregationCopyRefused && s.value.kind === 'Map' && k.startsWith('agg:')) {
              refuse(s.span, `${s.target.name} is assigned the ${k.slice(4)}() aggregation of ${s.value.name} ("Map value '${k.slice(4)}_t' cannot be assigned from one map to another"): call ${k.slice(4)}() on ${s.target.name} directly`);
            }
            const first = assigned.get(s.target.name);
            if (first === undefined) {
              if (k !== 'other') assigned.set(s.target.name, k);
            } else if (k !== 'other' && clash(first, k)) {
              refuse(s.target.span, `${s.target.name} already holds ${describe(first)} and is assigned ${describe(k)} ("Type mismatch for ${s.target.name}")`);
            }
          } else {
            const prev = vars.get(s.target.name);
            if (s.op !== '=') {
              if (prev === 'str' || k === 'str' || prev?.startsWith('agg:') || k.startsWith('agg:')) refuse(s.span, `\`${s.op}\` on a ${prev === 'str' || k === 'str' ? 'string' : 'aggregation value'}`);
              return;
            }
            if (prev === undefined) {
              if (k !== 'other') vars.set(s.target.name, k);
            } else if (k !== 'other' && clash(prev, k)) {
              refuse(s.target.span, `${s.target.name} already holds ${describe(prev)} and is assigned ${describe(k)} ("Type mismatch for ${s.target.name}")`);
            }
          }
          return;
        }
        case 'IfStmt':
          condition(s.condition, expr, refuse);
          stmt(s.then);
          if (s.else) stmt(s.else);
          return;
        case 'WhileStmt':
          condition(s.condition, expr, refuse);
          stmt(s.body);
          return;
        case 'UnrollStmt':
          stmt(s.body);
          return;
        case 'ForStmt':
          stmt(s.body);
          return;
        case 'VarDeclStmt':
          if (s.value) expr(s.value);
          return;
        default:
          // Annotations are kgent's, not bpftrace's: they are stripped before bpftrace sees the program.
          return;
      }
    };
    stmt(probe.body);
  }
  return out;
}

/**
 * bpftrace 0.17's first pass over the program, in source order (probes in program order), gives a
 * value no type yet when it reads a map nothing earlier in the text assigned (with `=`, `+=` ...,
 * `++`/`--`), a variable holding such a value, or a `?:` whose first branch is one. Checked here:
 * `BEGIN { @a = 1; @a = @b; @b = 1; }` is refused ("Type mismatch for @a: trying to assign value of
 * type 'none' when map already contains a value of type 'int64'"), also when END assigns @b, also
 * `$y = 1; $y = $x` with `$x = @b` before, `@a = 1 ? @b : 2`, `@a = @b[1]`, and `(int64)@b` ("Cannot
 * cast from \"none\" type"); accepted are `@a = @b` when @a has no type yet, `@a = @b + 1`,
 * `@a = -@b`, `@a += @b`, `@a = 1 ? 2 : @b`, and any read after an assignment of @b in the text.
 */
class SourceOrderTypes {
  /** Maps given a type by an assignment earlier in the text. */
  private readonly maps = new Set<string>();
  /** Variables of the current probe holding a typed value, and those holding an untyped one. */
  private typedVars = new Set<string>();
  private untypedVars = new Set<string>();

  enterProbe(): void {
    this.typedVars = new Set();
    this.untypedVars = new Set();
  }

  /** True when `e` has no type yet at this point of the text. */
  private untyped(e: Expr): boolean {
    if (e.kind === 'Map') return !this.maps.has(e.name);
    if (e.kind === 'Variable') return this.untypedVars.has(e.name);
    if (e.kind === 'Ternary') return this.untyped(e.then);
    return false;
  }

  checkCasts(e: Expr, refuse: (span: Span, message: string) => void): void {
    for (const c of collect(e, 'Cast')) {
      if (c.operand.kind === 'Map' && this.untyped(c.operand)) refuse(c.span, `${c.operand.name} is cast before any assignment to it in the program text, where it has no type yet ("Cannot cast from \"none\" type")`);
    }
  }

  noteUpdates(e: Expr): void {
    for (const u of collect(e, 'Update')) if (u.operand.kind === 'Map') this.maps.add(u.operand.name);
  }

  assign(a: Extract<Stmt, { kind: 'AssignStmt' }>, refuse: (span: Span, message: string) => void): void {
    const none = a.op === '=' && this.untyped(a.value);
    const t = a.target;
    if (t.kind === 'Map') {
      if (none && this.maps.has(t.name)) {
        refuse(t.span, `${t.name} already has a type and is assigned ${printExpr(a.value)}, which no assignment earlier in the program text gave a type ("Type mismatch for ${t.name}: trying to assign value of type 'none'"): assign it before this line`);
      }
      if (!none) this.maps.add(t.name);
      return;
    }
    if (none && this.typedVars.has(t.name)) {
      refuse(t.span, `${t.name} already has a type and is assigned ${printExpr(a.value)}, which no assignment earlier in the program text gave a type ("Type mismatch for ${t.name}: trying to assign value of type 'none'"): assign it before this line`);
    }
    if (none) {
      if (!this.typedVars.has(t.name)) this.untypedVars.add(t.name);
    } else {
      this.typedVars.add(t.name);
      this.untypedVars.delete(t.name);
    }
  }
}

/**
 * A map the program uses but never writes ("Undefined map: @m", for a read, `delete`, `print`,
 * `clear`, `zero` alike). Any write anywhere defines it, in any probe and in any order (a read in
 * BEGIN of a map END assigns is accepted); `=`, `+=` and friends and `++`/`--` all write.
 * Annotations are stripped before bpftrace sees the program, so a map only they name counts for
 * nothing either way. With Dialect.unassignedMapReads (0.27) a map read as a value anywhere is
 * defined (it reads 0); one only passed to a whole-map function, `delete` or a `for` is refused.
 */
function undefinedMaps(program: Program, dialect: Dialect, refuse: (span: Span, message: string) => void): void {
  const plain = stripAnnotations(program);
  const written = new Set<string>();
  for (const a of collect(plain, 'AssignStmt')) if (a.target.kind === 'Map') written.add(a.target.name);
  for (const u of collect(plain, 'Update')) if (u.operand.kind === 'Map') written.add(u.operand.name);
  const needsMap = new Set<Expr>();
  for (const c of collect(plain, 'Call')) if (MAP_ARGUMENT_FUNCTIONS.has(c.callee) && c.args[0]?.kind === 'Map') needsMap.add(c.args[0]);
  for (const f of collect(plain, 'ForStmt')) needsMap.add(f.iterable);
  const maps = collect(plain, 'Map');
  // 0.27: a value read anywhere gives the map its type, and then every use compiles.
  const readAsValue = new Set(maps.filter((m) => !needsMap.has(m)).map((m) => m.name));
  for (const m of maps) {
    if (written.has(m.name) || (dialect.unassignedMapReads && readAsValue.has(m.name))) continue;
    refuse(m.span, `${m.name} is used but never assigned ("Undefined map: ${m.name}")`);
  }
}

/** Functions whose first argument is the map itself, not a value read from it. */
const MAP_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set(['print', 'clear', 'zero', 'len', 'has_key', 'delete']);

/**
 * A map written only by assignments of values that never get a type — its own value (`@a = @a`),
 * or another such map's — is undefined for bpftrace 0.17 too, even with `++`/`--` after them.
 * Checked here: `@a = @a;` alone, `@a = @a; @a++;`, `@a = @b; @b = @a;` are refused ("Undefined
 * map: @a", "Invalid expression for assignment: none"); `@a = @a; @a = 1;`, `@a = @a; @a += 1;`,
 * and `@a++` before `@a = @a` in the text are accepted. Found by difftest class `events`.
 */
function neverTypedMaps(program: Program, refuse: (span: Span, message: string) => void): void {
  const plain = stripAnnotations(program);
  type Write = { readonly map: string; readonly span: Span; readonly value?: Expr; readonly update: boolean };
  const writes: Write[] = [];
  for (const a of collect(plain, 'AssignStmt')) {
    if (a.target.kind !== 'Map') continue;
    writes.push({ map: a.target.name, span: a.target.span, update: a.op !== '=', ...(a.op === '=' ? { value: a.value } : {}) });
  }
  for (const u of collect(plain, 'Update')) if (u.operand.kind === 'Map') writes.push({ map: u.operand.name, span: u.operand.span, update: false });
  writes.sort((x, y) => x.span.line - y.span.line || x.span.column - y.span.column);
  const byMap = new Map<string, Write[]>();
  for (const w of writes) byMap.set(w.map, [...(byMap.get(w.map) ?? []), w]);
  const typed = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [m, ws] of byMap) {
      if (typed.has(m)) continue;
      const first = ws[0] as Write;
      const gives = (w: Write): boolean => w.update || (w.value !== undefined && (w.value.kind !== 'Map' || typed.has(w.value.name)));
      // `++`/`--` first in the text type the map; after an untyped assignment they do not.
      const firstIsIncrement = first.value === undefined && !first.update;
      if (firstIsIncrement || ws.some(gives)) {
        typed.add(m);
        changed = true;
      }
    }
  }
  for (const [m, ws] of byMap) {
    if (typed.has(m)) continue;
    refuse((ws[0] as Write).span, `${m} is only ever assigned values that never get a type (its own value, or another such map's) ("Undefined map: ${m}")`);
  }
}

interface Env {
  readonly refuse: (span: Span, message: string) => void;
  readonly mapKinds: ReadonlyMap<string, Kind>;
  readonly mapKeys: Map<string, Kind[]>;
  readonly vars: Map<string, Kind>;
  /** The probe's providers (a probe with several attach points must suit them all). */
  readonly kinds: readonly string[];
  readonly dialect: Dialect;
}

function clash(a: Kind, b: Kind): boolean {
  if (a === b) return false;
  return a !== 'other' && b !== 'other';
}

function describe(k: Kind): string {
  return k === 'int' ? 'an integer' : k === 'str' ? 'a string' : k.startsWith('agg:') ? `a ${k.slice(4)}() aggregation` : 'a value';
}

function condition(e: Expr, expr: (e: Expr) => Kind, refuse: Env['refuse']): void {
  const k = expr(e);
  // "Invalid condition in if(): count".
  if (k.startsWith('agg:')) refuse(e.span, `a ${k.slice(4)}() aggregation value used as a condition ("Invalid condition")`);
}

/** The kind of `e` without checking it (first pass). */
function kindOf(e: Expr, maps: ReadonlyMap<string, Kind>, vars: ReadonlyMap<string, Kind>): Kind {
  switch (e.kind) {
    case 'Integer':
    case 'Boolean':
    case 'Cast':
    case 'PositionalCount':
      return 'int';
    case 'Positional':
      // `$1` is a string when the argument given on the command line is not a number.
      return 'other';
    case 'String':
      return 'str';
    case 'Builtin':
      return STRING_BUILTINS.has(e.name) ? 'str' : /^(pid|tid|uid|gid|nsecs|elapsed|cpu|numaid|cgroup|rand|retval|s?arg\d+)$/.test(e.name) ? 'int' : 'other';
    case 'Variable':
      return vars.get(e.name) ?? 'other';
    case 'Map':
      return maps.get(e.name) ?? 'other';
    case 'Call':
      if (AGGS.has(e.callee)) return `agg:${e.callee}`;
      if (STRING_FUNCTIONS.has(e.callee)) return 'str';
      if (INT_FUNCTIONS.has(e.callee)) return 'int';
      return 'other';
    case 'Binary':
    case 'Unary':
    case 'Update':
      return e.kind === 'Unary' && (e.op === '*' || e.op === '&') ? 'other' : 'int';
    case 'Ternary': {
      const t = kindOf(e.then, maps, vars);
      return t.startsWith('agg:') ? 'other' : t;
    }
    default:
      return 'other';
  }
}

function keysOf(name: string, keys: readonly Expr[], env: Env, span: Span): void {
  const ks = keys.map((k) => kindOf(k, env.mapKinds, env.vars));
  const prev = env.mapKeys.get(name);
  if (!prev) {
    env.mapKeys.set(name, ks);
    return;
  }
  // "Argument mismatch for @m: trying to access with arguments: [string[2]] when map expects
  // arguments: [unsigned int64]" (also for a different number of keys).
  if (prev.length !== ks.length || prev.some((p, i) => (p === 'int' && ks[i] === 'str') || (p === 'str' && ks[i] === 'int'))) {
    env.refuse(span, `${name} is used with ${ks.length} key(s) (${ks.join(', ') || 'none'}) where it was first used with ${prev.length} (${prev.join(', ') || 'none'}) ("Argument mismatch for ${name}")`);
  }
}

function checkExpr(e: Expr, env: Env): Kind {
  const sub = (x: Expr): Kind => checkExpr(x, env);
  const own = kindOf(e, env.mapKinds, env.vars);
  switch (e.kind) {
    case 'Builtin': {
      if (!hasBuiltin(env.dialect, e.name)) env.refuse(e.span, `\`${e.name}\` is not a builtin of bpftrace ${env.dialect.version} ("Unknown identifier: '${e.name}'")`);
      const where = (set: ReadonlySet<string>): string | undefined => env.kinds.find((k) => set.has(k));
      let k: string | undefined;
      if (e.name === 'args' && (k = where(NO_ARGS))) env.refuse(e.span, `\`args\` does not exist in ${k} probes`);
      if (/^s?arg\d+$/.test(e.name) && (k = where(NO_ARGN))) env.refuse(e.span, `\`${e.name}\` does not exist in ${k} probes ("can only be used with 'kprobes', 'uprobes' and 'usdt' probes")`);
      if (e.name === 'retval' && (k = where(NO_RETVAL))) env.refuse(e.span, `\`retval\` does not exist in ${k} probes`);
      if (e.name === 'func' && (k = where(NO_FUNC))) env.refuse(e.span, `\`func\` can not be used with ${k} probes`);
      // kgent never starts bpftrace with a child command (-c).
      if (e.name === 'cpid') env.refuse(e.span, '`cpid` needs a child command (bpftrace -c), which kgent does not give ("cpid cannot be used without child command")');
      return own;
    }
    case 'Map': {
      for (const k of e.keys) sub(k);
      keysOf(e.name, e.keys, env, e.span);
      return own;
    }
    case 'Call':
      return checkCall(e, env, own);
    case 'Unary': {
      const k = sub(e.operand);
      if ((e.op === '-' || e.op === '~') && k === 'str') env.refuse(e.span, `\`${e.op}\` of a string ("The ${e.op} operator can not be used on expressions of type 'string'")`);
      if (k.startsWith('agg:') && e.op !== '*' && e.op !== '&') env.refuse(e.span, `\`${e.op}\` of a ${k.slice(4)}() aggregation value`);
      return own;
    }
    case 'Update': {
      const k = sub(e.operand);
      if (k.startsWith('agg:')) env.refuse(e.span, `\`${e.op}\` of a ${k.slice(4)}() aggregation value ("The ${e.op} operator can not be used on expressions of type '${k.slice(4)}'")`);
      if (k === 'str') env.refuse(e.span, `\`${e.op}\` of a string`);
      return own;
    }
    case 'Binary': {
      const l = sub(e.left);
      const r = sub(e.right);
      if (l.startsWith('agg:') || r.startsWith('agg:')) {
        env.refuse(e.span, `a ${(l.startsWith('agg:') ? l : r).slice(4)}() aggregation value used in \`${e.op}\` ("Type mismatch for '${e.op}'"): read it with print(), or keep a plain counter (@n++)`);
      } else if (ARITH.has(e.op) && (l === 'str' || r === 'str')) {
        env.refuse(e.span, `\`${e.op}\` on a string ("Type mismatch for '${e.op}'")`);
      } else if ((e.op === '==' || e.op === '!=') && ((l === 'str' && r === 'int') || (l === 'int' && r === 'str'))) {
        env.refuse(e.span, `a string compared with an integer ("Type mismatch for '${e.op}': comparing 'string' with 'int64'")`);
      } else if (ORDER.has(e.op) && (l === 'str' || r === 'str')) {
        env.refuse(e.span, `\`${e.op}\` on strings ("The ${e.op} operator can not be used on expressions of types string")`);
      }
      return own;
    }
    case 'Ternary': {
      const c = sub(e.condition);
      const t = sub(e.then);
      const f = sub(e.else);
      if (c.startsWith('agg:')) env.refuse(e.condition.span, `a ${c.slice(4)}() aggregation value used as a condition`);
      // "Ternary return type unsupported count".
      if (t.startsWith('agg:') || f.startsWith('agg:')) env.refuse(e.span, `a ${(t.startsWith('agg:') ? t : f).slice(4)}() aggregation value as a result of \`?:\` ("Ternary return type unsupported")`);
      return own;
    }
    case 'Cast':
      sub(e.operand);
      return own;
    case 'Field':
      sub(e.object);
      return own;
    case 'Index':
      sub(e.object);
      sub(e.index);
      return own;
    case 'Tuple':
      for (const x of e.elements) sub(x);
      return own;
    default:
      return own;
  }
}

function checkCall(e: Extract<Expr, { kind: 'Call' }>, env: Env, own: Kind): Kind {
  // print(@m), clear(@m), zero(@m), and from newer versions len(@m), has_key(@m, k) and
  // delete(@m, k), take the whole map: no key to check (run here on 0.23.2 for has_key).
  const wholeMap = (a: Expr, i: number): boolean => i === 0 && a.kind === 'Map' && a.keys.length === 0 && ['print', 'clear', 'zero', 'len', 'has_key', 'delete'].includes(e.callee);
  const kinds = e.args.map((a, i) => (a.kind === 'TypeExpr' || wholeMap(a, i) ? 'other' : checkExpr(a, env)));
  if (['printed', 'mapkey', 'mapval'].includes(e.callee)) return own;
  if (!hasFunction(env.dialect, e.callee)) env.refuse(e.span, `${e.callee}() is not a function of bpftrace ${env.dialect.version} ("Unknown function: ${e.callee}")`);
  const arity = ARITY[e.callee];
  if (arity && (e.args.length < arity[0] || e.args.length > arity[1])) {
    env.refuse(e.span, `${e.callee}() takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} to ${arity[1]}`} argument(s), ${e.args.length} given`);
  }
  if (e.callee === 'str' && kinds[0] === 'str') env.refuse(e.span, 'str() of a string ("str() expects an integer or a pointer type as first argument")');
  if (AGGS.has(e.callee) && kinds.some((k) => k === 'str')) env.refuse(e.span, `${e.callee}() of a string`);
  if (e.callee === 'printf') checkPrintf(e, kinds, env);
  return own;
}

function checkPrintf(e: Extract<Expr, { kind: 'Call' }>, kinds: readonly Kind[], env: Env): void {
  const fmt = e.args[0];
  if (fmt?.kind !== 'String') return;
  const convs = dialectConversions(fmt.value, env.dialect);
  if (!convs) {
    env.refuse(e.span, `printf's "${fmt.value.replace(/\n/g, '\\n')}" has \`%%\` next to a conversion, which bpftrace 0.17 and 0.23 read as text and 0.27 as a percent sign; how bpftrace ${env.dialect.version} reads it is not known here: write the format without \`%%\``);
    return;
  }
  const n = e.args.length - 1;
  if (n !== convs.length) {
    env.refuse(e.span, `printf has ${n} argument(s) for ${convs.length} conversion(s) in "${fmt.value.replace(/\n/g, '\\n')}" (bpftrace 0.17 knows the conversions s, c, r, rx and [hh|h|l|ll|j|z|t] d u o x X p, with - flag, width and precision only; "%i", "%+d", "%#x" are none)`);
    return;
  }
  convs.forEach((c, i) => {
    const k = kinds[i + 1] as Kind;
    if (k.startsWith('agg:')) env.refuse(e.span, `printf ${c.text} of a ${k.slice(4)}() aggregation value ("${c.text} specifier expects a value of type integer (${k.slice(4)} supplied)"): print the map with print()`);
    else if (c.argKind === 'int' && k === 'str') env.refuse(e.span, `printf ${c.text} of a string`);
    else if (c.argKind === 'str' && k === 'int') env.refuse(e.span, `printf ${c.text} of an integer`);
  });
}
