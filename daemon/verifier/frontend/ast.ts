/**
 * The bpftrace AST. Every node is a readonly plain object with a `kind` discriminant and a `span`
 * (1-based line:column, end column inclusive). Nodes hold only data: no parent links, no methods, so
 * they can be compared structurally ({@link astEqual}), printed, and serialised.
 *
 * Naming: `$var` and `@map` names keep their sigil (`'$dport'`, `'@start'`, `'@'` for the anonymous
 * map); builtin names are as written (`'pid'`, `'arg0'`, `'args'`).
 *
 * Stability: other modules code against these shapes. Only add fields or kinds; never rename or
 * remove one.
 */
import type { Span } from '../../protocol/diagnostic.js';
import type { ProbeType } from '../../../kernel-contracts/probe-types.js';

export type { Span } from '../../protocol/diagnostic.js';

// ---------------------------------------------------------------------------------------------
// Program level
// ---------------------------------------------------------------------------------------------

export interface Program {
  readonly kind: 'Program';
  /** `#include` lines, in source order (a subset of `preamble`). */
  readonly includes: readonly IncludeDirective[];
  /** struct/union/enum/typedef definitions kept verbatim, in source order (a subset of `preamble`). */
  readonly definitions: readonly CDefinition[];
  /**
   * Everything before the first probe in source order: includes, other preprocessor lines
   * (`#ifndef BPFTRACE_HAVE_BTF` ... `#endif`, `#define`) and C definitions. The printer uses this.
   */
  readonly preamble: readonly PreambleItem[];
  /** `config = { key = value; ... }` (bpftrace >= 0.20), when present. */
  readonly config?: ConfigBlock;
  readonly probes: readonly Probe[];
  /** kgent's `cover(HOOK[, COND]);` annotations (top level, anywhere between probes), in source order. */
  readonly covers: readonly CoverStmt[];
  readonly span: Span;
}

/**
 * kgent annotation `cover(HOOK[, COND]);` at the top level: the program must observe the events
 * of HOOK (those satisfying COND over the hook's `args`): some probe attaches to HOOK and lets an
 * observable effect (printf, print, map update) happen for them.
 */
export interface CoverStmt {
  readonly kind: 'CoverStmt';
  readonly hook: AttachPoint;
  readonly condition?: Expr;
  readonly span: Span;
}

/** `#include <linux/sched.h>` or `#include "foo.h"`; `path` is the text between the delimiters. */
export interface IncludeDirective {
  readonly kind: 'Include';
  readonly path: string;
  /** `true` for `<...>`, `false` for `"..."`. */
  readonly system: boolean;
  /** The whole line as written (trailing spaces trimmed). */
  readonly text: string;
  readonly span: Span;
}

/** Any other `#` line before the probes (`#ifndef`, `#define`, `#endif` ...), verbatim. */
export interface PreprocessorDirective {
  readonly kind: 'Preprocessor';
  /** The directive name without `#`: `ifndef`, `define`, `endif` ... */
  readonly directive: string;
  readonly text: string;
  readonly span: Span;
}

/** A C definition at top level, kept verbatim (including its trailing `;`) for printing back. */
export interface CDefinition {
  readonly kind: 'CDefinition';
  readonly keyword: 'struct' | 'union' | 'enum' | 'typedef';
  /** The tag or typedef name when it could be read (`sock` for `struct sock { ... };`), else `''`. */
  readonly name: string;
  readonly text: string;
  readonly span: Span;
}

export type PreambleItem = IncludeDirective | PreprocessorDirective | CDefinition;

/** `config = { max_map_keys = 100; stack_mode = perf }`. */
export interface ConfigBlock {
  readonly kind: 'Config';
  readonly entries: readonly ConfigEntry[];
  readonly span: Span;
}

export interface ConfigEntry {
  readonly kind: 'ConfigEntry';
  readonly key: string;
  readonly value: IntegerLiteral | StringLiteral | Identifier;
  readonly span: Span;
}

export interface Probe {
  readonly kind: 'Probe';
  readonly attachPoints: readonly AttachPoint[];
  readonly predicate?: Expr;
  readonly body: Block;
  readonly span: Span;
}

/**
 * One attach point, e.g. `tracepoint:syscalls:sys_enter_open*` -> provider `tracepoint`,
 * providerText `tracepoint`, target `['syscalls', 'sys_enter_open*']`, wildcard true.
 * `uprobe:/bin/bash:readline` -> target `['/bin/bash', 'readline']`. `BEGIN` -> target `[]`.
 * Quoted parts (`uprobe:"/my path":f`) appear in `target` without their quotes.
 */
export interface AttachPoint {
  readonly kind: 'AttachPoint';
  /** Canonical provider (`t` and `tracepoint` both give `tracepoint`; `fentry` gives `kfunc`). */
  readonly provider: ProbeType;
  /** The provider as written (`t`, `fentry`, `tracepoint`). */
  readonly providerText: string;
  readonly target: readonly string[];
  /** True when any part holds a wildcard (`*`, `?` or `[`). */
  readonly wildcard: boolean;
  /** The attach point exactly as written. */
  readonly raw: string;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

export interface Block {
  readonly kind: 'Block';
  readonly statements: readonly Stmt[];
  readonly span: Span;
}

export type Stmt =
  | ExprStmt
  | AssignStmt
  | VarDeclStmt
  | IfStmt
  | UnrollStmt
  | WhileStmt
  | ForStmt
  | ReturnStmt
  | BreakStmt
  | ContinueStmt
  | AssumeStmt
  | AssertStmt
  | Block;

/** An expression used as a statement: calls (`printf(...)`, `delete(@m[k])`), `$i++`, `@c++`. */
export interface ExprStmt {
  readonly kind: 'ExprStmt';
  readonly expr: Expr;
  readonly span: Span;
}

export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=' | '%=' | '&=' | '|=' | '^=' | '<<=' | '>>=';

/** `$x = e`, `@m[k] = e`, `@m[k] += e` ... */
export interface AssignStmt {
  readonly kind: 'AssignStmt';
  readonly target: Variable | MapAccess;
  readonly op: AssignOp;
  readonly value: Expr;
  readonly span: Span;
}

/** `let $x;`, `let $x: uint32;`, `let $x = 1;` (newer bpftrace). `type` as written, when given. */
export interface VarDeclStmt {
  readonly kind: 'VarDeclStmt';
  readonly variable: Variable;
  readonly type?: TypeRef;
  readonly value?: Expr;
  readonly span: Span;
}

export interface IfStmt {
  readonly kind: 'IfStmt';
  readonly condition: Expr;
  readonly then: Block;
  /** `else { ... }` or `else if (...) ...`. */
  readonly else?: Block | IfStmt;
  readonly span: Span;
}

export interface UnrollStmt {
  readonly kind: 'UnrollStmt';
  /** An integer literal or positional parameter in practice. */
  readonly count: Expr;
  readonly body: Block;
  readonly span: Span;
}

export interface WhileStmt {
  readonly kind: 'WhileStmt';
  readonly condition: Expr;
  readonly body: Block;
  readonly span: Span;
}

/** `for ($kv : @map) { ... }` or, in newer bpftrace, `for ($i : 0..10)` (iterable is a Range). */
export interface ForStmt {
  readonly kind: 'ForStmt';
  readonly variable: Variable;
  readonly iterable: Expr;
  readonly body: Block;
  readonly span: Span;
}

export interface ReturnStmt {
  readonly kind: 'ReturnStmt';
  readonly value?: Expr;
  readonly span: Span;
}

export interface BreakStmt {
  readonly kind: 'BreakStmt';
  readonly span: Span;
}

export interface ContinueStmt {
  readonly kind: 'ContinueStmt';
  readonly span: Span;
}

/** kgent annotation `assume(EXPR);`: a precondition on the inputs at this point of the path. */
export interface AssumeStmt {
  readonly kind: 'AssumeStmt';
  readonly expr: Expr;
  readonly span: Span;
}

/** kgent annotation `assert(EXPR);`: a property to prove at this point of the path. */
export interface AssertStmt {
  readonly kind: 'AssertStmt';
  readonly expr: Expr;
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

export type Expr =
  | IntegerLiteral
  | StringLiteral
  | BooleanLiteral
  | Builtin
  | PositionalParam
  | PositionalCount
  | Identifier
  | Variable
  | MapAccess
  | Call
  | Unary
  | Update
  | Binary
  | Ternary
  | Cast
  | FieldAccess
  | IndexAccess
  | Tuple
  | Range
  | TypeExpr;

/** `42`, `0x5000`, `1_000_000`, `1e6`. `raw` is the text as written and is what the printer emits. */
export interface IntegerLiteral {
  readonly kind: 'Integer';
  readonly value: bigint;
  readonly raw: string;
  readonly span: Span;
}

/** `"..."`: `value` has escapes decoded, `raw` is the source text between the quotes. */
export interface StringLiteral {
  readonly kind: 'String';
  readonly value: string;
  readonly raw: string;
  readonly span: Span;
}

/** `true` / `false` (newer bpftrace). */
export interface BooleanLiteral {
  readonly kind: 'Boolean';
  readonly value: boolean;
  readonly span: Span;
}

/**
 * A builtin variable: pid, tid, uid, gid, nsecs, elapsed, cpu, ncpus, numaid, comm, kstack, ustack,
 * arg0..argN, sarg0..sargN, retval, func, probe, curtask, rand, cgroup, cpid, username, ctx, args,
 * jiffies, usermode, __builtin_* ...
 */
export interface Builtin {
  readonly kind: 'Builtin';
  readonly name: string;
  readonly span: Span;
}

/** `$1`, `$2` ... */
export interface PositionalParam {
  readonly kind: 'Positional';
  readonly index: number;
  readonly span: Span;
}

/** `$#`: the number of positional parameters. */
export interface PositionalCount {
  readonly kind: 'PositionalCount';
  readonly span: Span;
}

/** A bare identifier that is not a builtin: stack modes (`perf`), enum constants, signal names ... */
export interface Identifier {
  readonly kind: 'Identifier';
  readonly name: string;
  readonly span: Span;
}

/** `$x` (name keeps the `$`). */
export interface Variable {
  readonly kind: 'Variable';
  readonly name: string;
  readonly span: Span;
}

/** `@m`, `@m[k]`, `@m[k1, k2]` (tuple key), `@` (anonymous). `keys` is empty without brackets. */
export interface MapAccess {
  readonly kind: 'Map';
  readonly name: string;
  readonly keys: readonly Expr[];
  readonly span: Span;
}

/**
 * A function call: printf, str, ntop, bswap, count, hist, delete, sizeof ... and kgent's
 * observables `printed(I)`, `mapkey(@m, I)`, `mapval(@m)`. Type arguments (`sizeof(struct sock)`,
 * `offsetof(struct sock, sk_dport)`) appear as {@link TypeExpr} / {@link Identifier} arguments.
 */
export interface Call {
  readonly kind: 'Call';
  readonly callee: string;
  readonly args: readonly Expr[];
  readonly span: Span;
}

/** `!e`, `~e`, `-e`, `+e`, `*e` (dereference), `&e` (address-of). */
export interface Unary {
  readonly kind: 'Unary';
  readonly op: '!' | '~' | '-' | '+' | '*' | '&';
  readonly operand: Expr;
  readonly span: Span;
}

/** `$i++`, `++$i`, `@c--` ... */
export interface Update {
  readonly kind: 'Update';
  readonly op: '++' | '--';
  readonly prefix: boolean;
  readonly operand: Expr;
  readonly span: Span;
}

export type BinaryOp =
  | '||'
  | '&&'
  | '|'
  | '^'
  | '&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '<<'
  | '>>'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%';

export interface Binary {
  readonly kind: 'Binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Ternary {
  readonly kind: 'Ternary';
  readonly condition: Expr;
  readonly then: Expr;
  readonly else: Expr;
  readonly span: Span;
}

/**
 * A type as written in a cast, `let`, sizeof or offsetof: `struct sock *` -> name `struct sock`,
 * pointerLevel 1; `uint16` -> name `uint16`; `int8[4]` -> arraySize 4; `unsigned int` -> name
 * `unsigned int`.
 */
export interface TypeRef {
  readonly kind: 'Type';
  readonly name: string;
  readonly pointerLevel: number;
  readonly arraySize?: number;
  readonly span: Span;
}

/** `(struct sock *)arg0`, `(uint16)$x`. */
export interface Cast {
  readonly kind: 'Cast';
  readonly type: TypeRef;
  readonly operand: Expr;
  readonly span: Span;
}

/** `e->f` (arrow true) or `e.f`; also `args->f` / `args.f`, and tuple fields `$t.0`. */
export interface FieldAccess {
  readonly kind: 'Field';
  readonly object: Expr;
  readonly field: string;
  readonly arrow: boolean;
  readonly span: Span;
}

/** `e[i]`. */
export interface IndexAccess {
  readonly kind: 'Index';
  readonly object: Expr;
  readonly index: Expr;
  readonly span: Span;
}

/** `(a, b, c)`. */
export interface Tuple {
  readonly kind: 'Tuple';
  readonly elements: readonly Expr[];
  readonly span: Span;
}

/** `a..b` in `for ($i : a..b)`. */
export interface Range {
  readonly kind: 'Range';
  readonly start: Expr;
  readonly end: Expr;
  readonly span: Span;
}

/** A type used where an expression is expected: `sizeof(struct sock)`, `offsetof(struct sock, f)`. */
export interface TypeExpr {
  readonly kind: 'TypeExpr';
  readonly type: TypeRef;
  readonly span: Span;
}

/** Every node kind. */
export type Node =
  | Program
  | IncludeDirective
  | PreprocessorDirective
  | CDefinition
  | ConfigBlock
  | ConfigEntry
  | Probe
  | AttachPoint
  | CoverStmt
  | Stmt
  | Expr
  | TypeRef;

/** The aggregation functions bpftrace accepts as a map's value (`@x = count()`). */
export const AGGREGATIONS: readonly string[] = ['count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist', 'tseries'];

/** kgent's annotation-only observables (calls in syntax, never in a candidate program). */
export const OBSERVABLES: readonly string[] = ['printed', 'mapkey', 'mapval'];
