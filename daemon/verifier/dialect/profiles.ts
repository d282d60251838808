/**
 * The bpftrace dialects the verifier knows: what each version's front-end accepts, which builtins
 * and functions exist, and the integer rules its compiler applies. A program is always verified
 * for one dialect (the version that will run it); 0.17 (Debian 12's) is the default.
 *
 * Where each fact comes from, per profile:
 * - 0.17: run here (/usr/bin/bpftrace 0.17.0); the verifier's whole model was built against it.
 * - 0.23: run here (Debian 13's 0.23.2 in a chroot); every 0.23 fact below was observed on it.
 * - 0.27: run here (Debian unstable's 0.27.1 in a chroot) for acceptance; its integer semantics
 *   are left unmodelled (unknown), not guessed. 0.27 has no tag in the sources read.
 * - 0.20, 0.21, 0.22, 0.24, 0.25, 0.26: from bpftrace's CHANGELOG, lexer, parser and semantic
 *   analyser at each release tag, NOT run here.
 * A fact is introduced in the first profile that has it and carried forward.
 */

/** How a binary operation on two integers gets its type and width. */
export type IntegerModel =
  /**
   * Every integer operand is extended to 64 bits by its own signedness; the result is 64-bit
   * (signed when both operands are). Run here on 0.17: `(uint8)200 + (uint8)100` is 300, size 8.
   */
  | 'widen-to-64'
  /**
   * The result has the width of the wider operand (signed when both are) and the operation is done
   * at that width: run here on 0.23.2, `(uint8)200 + (uint8)100` is 44 of size 1, `(int8)-128 >>
   * (int8)1` is 64, `(uint8)200 * (uint16)100` is 20000 of size 2; with one 64-bit operand (a
   * literal, a map value) the result is 64-bit as in 0.17. From 0.22 by source ("binary operations
   * on integers always returning 64 bit values" fixed).
   */
  | 'wider-operand'
  /**
   * 0.25 removed the automatic promotion and 0.26 changed literal types and subtraction: not run
   * here, so the executor treats arithmetic on integers narrower than 64 bits, and literals beside
   * them, as unmodelled (their results are unknown, never guessed).
   */
  | 'unmodelled-narrow';

export interface Dialect {
  /** `major.minor` (`0.23`). */
  readonly version: string;
  /** How each fact of this profile was established (see the module comment). */
  readonly checked: 'run-here' | 'from-source';
  /** `config = { key = value; ... }` before the probes. */
  readonly configBlock: boolean;
  /** `for ($kv : @map) { ... }`. */
  readonly forMap: boolean;
  /** `for ($i : a..b) { ... }`. */
  readonly forRange: boolean;
  /** `let $x;`, `let $x = e;`, `let $x: type = e;`. */
  readonly letDeclarations: boolean;
  /** Variables live in the block that declares (or first assigns) them and the blocks inside it. */
  readonly blockScoping: boolean;
  /** `true`/`false` are bool literals of a bool type (before: an identifier bpftrace resolves to 1/0). */
  readonly boolType: boolean;
  /** `pid`/`tid` are uint32 (before: uint64). */
  readonly pidTid32: boolean;
  /**
   * Assigning a variable a value of another signedness, or a wider integer, is a compile error
   * ("Type mismatch for $x", "Integer size mismatch"); before, the value is kept or dropped
   * silently (see `symbolic/variables.ts`).
   */
  readonly strictVariableAssignment: boolean;
  /** With strict assignment: a value of the other signedness is refused too (0.26 only warns). */
  readonly signMismatchRefused: boolean;
  /**
   * `let $x: T = 5` (and `let $x: T; $x = 5`) is refused for any integer T but int64: the literal
   * types the variable int64 first ("Type mismatch for $x: trying to assign value of type 'uint8'
   * when variable already contains a value of type 'int64'"). Run here on 0.23.2 only.
   */
  readonly typedLetLiteralRefused: boolean;
  readonly integerModel: IntegerModel;
  /**
   * A positive integer literal takes the smallest integer type that holds it (before: int64);
   * an operation with a literal operand then follows rules not modelled here.
   */
  readonly smallLiterals: boolean;
  /**
   * A positive integer literal above INT32_MAX is a uint64 (before: every literal is an int64).
   * Run here on 0.23.2: `$x = 2147483648; $x = -1;` is refused ("... variable already contains a
   * value of type 'uint64'"), `$x = 2147483647; $x = -1;` is not; from 0.22 by source.
   */
  readonly wideLiteralsUnsigned: boolean;
  /**
   * The integer value of a comparison (`(a < b) + 1`, `printf("%d", a == b)`) is 0 or 1. From 0.22
   * it is the comparison's 1-bit result extended by the operands' signedness where it is used:
   * run here on 0.23.2, `(int8)1 == (int8)1` prints -1, `($a > $b) + 2` is 1 for $a > $b, but
   * `$c = $a > $b` stores 1; so its integer value is not modelled there (as a condition it is).
   */
  readonly comparisonIsZeroOne: boolean;
  /**
   * `str(s, n)`: 'chars' keeps n characters (run here on 0.17: str(p, 1) is "/"), 'with-nul' n - 1
   * (run here on 0.23.2: str(p, 1) is ""), 'unmodelled' for the versions not run here.
   */
  readonly strLimit: 'chars' | 'with-nul' | 'unmodelled';
  /** `a - b` and `--` give int64 (before: uint64 when an operand is unsigned). */
  readonly subtractionSigned: boolean;
  /** `exit()` inside a loop body is a compile error. */
  readonly exitInLoopRefused: boolean;
  /**
   * `break`/`continue` anywhere inside a `for` body (a nested `while` included) is a compile error
   * ("'break' statement is not allowed in a for-loop"; run here on 0.23.2; 0.27.1 accepts both).
   */
  readonly loopControlInForRefused: boolean;
  /**
   * With {@link exitInLoopRefused}: `exit()` inside an `if` in a `while` body (no `for` around it)
   * is accepted (run here on 0.27.1; a for body refuses it anywhere, and a direct `exit()` in a
   * while body crashes 0.27.1's compiler, so it stays refused).
   */
  readonly exitInIfInWhileAllowed: boolean;
  /**
   * A map the program reads but never assigns is accepted and reads 0 (before: "Undefined map").
   * Run here on 0.27.1: `printf("%d", @u[1])`, `$x = @u[1] + 1`, `@a = @a` compile and print 0,
   * and with such a read anywhere `print(@u)`, `clear`, `zero`, `len`, `has_key`, `delete` and a
   * `for` over it compile too; without one they are refused ("Undefined map"). 0.23.2 refuses
   * every form; 0.24 to 0.26 are not run here and keep refusing (a sound program refused costs a
   * trial; a refused program proved would ship).
   */
  readonly unassignedMapReads: boolean;
  /**
   * printf's precision on `%s`: 'applied' shows the first N characters of `%.Ns` (run here on
   * 0.17.0 and 0.23.2: `%.2s` of "abcd" is "ab"); 'ignored' shows the whole string (run here on
   * 0.27.1: "abcd"); 'unmodelled' for the versions between, not run here.
   */
  readonly stringPrecision: 'applied' | 'ignored' | 'unmodelled';
  /**
   * `@h = @g` where @g holds an aggregation (count, sum, min, max, avg, stats, hist, lhist) is
   * refused ("Map value 'stats_t' cannot be assigned from one map to another"): run here on
   * 0.23.2 and 0.27.1 (0.17.0 accepts it); taken from 0.20 on, a refusal being the safe side for
   * the versions not run here.
   */
  readonly aggregationCopyRefused: boolean;
  /** Whether printf reads `%%` as a percent sign (see `symbolic/printf.ts`, dialectConversions). */
  readonly percentEscape: 'no' | 'yes' | 'unmodelled';
  /** Builtin variables this version knows beyond 0.17's (and ones it no longer knows). */
  readonly addedBuiltins: ReadonlySet<string>;
  readonly removedBuiltins: ReadonlySet<string>;
  /** Functions this version knows beyond 0.17's. */
  readonly addedFunctions: ReadonlySet<string>;
  /** `nsecs()`, `comm()` ...: builtins called like functions. */
  readonly callStyleBuiltins: boolean;
}

/** The builtins and functions the front-end reads that 0.17 does not have (run here on 0.17). */
export const NEWER_BUILTINS: ReadonlySet<string> = new Set(['ncpus', 'jiffies', 'usermode']);
export const NEWER_FUNCTIONS: ReadonlySet<string> = new Set(['has_key', 'len', 'percpu_kaddr', 'offsetof', 'socket_cookie', 'errorf', 'warnf', 'nsecs', 'str_concat', 'container_of']);

const none: ReadonlySet<string> = new Set();

const V0_17: Dialect = {
  version: '0.17',
  checked: 'run-here',
  configBlock: false,
  forMap: false,
  forRange: false,
  letDeclarations: false,
  blockScoping: false,
  boolType: false,
  pidTid32: false,
  strictVariableAssignment: false,
  signMismatchRefused: false,
  typedLetLiteralRefused: false,
  integerModel: 'widen-to-64',
  subtractionSigned: false,
  smallLiterals: false,
  wideLiteralsUnsigned: false,
  comparisonIsZeroOne: true,
  strLimit: 'chars',
  exitInLoopRefused: false,
  loopControlInForRefused: false,
  exitInIfInWhileAllowed: false,
  unassignedMapReads: false,
  stringPrecision: 'applied',
  aggregationCopyRefused: false,
  percentEscape: 'no',
  addedBuiltins: none,
  removedBuiltins: none,
  addedFunctions: none,
  callStyleBuiltins: false,
};

function extend(base: Dialect, version: string, checked: Dialect['checked'], change: Partial<Omit<Dialect, 'version' | 'checked'>> & { builtins?: string[]; functions?: string[]; removed?: string[] }): Dialect {
  const { builtins = [], functions = [], removed = [], ...rest } = change;
  return {
    ...base,
    ...rest,
    version,
    checked,
    addedBuiltins: new Set([...base.addedBuiltins, ...builtins].filter((x) => !removed.includes(x))),
    removedBuiltins: new Set([...base.removedBuiltins, ...removed]),
    addedFunctions: new Set([...base.addedFunctions, ...functions]),
  };
}

// Source: CHANGELOG 0.18 "Add new function, offsetof"; 0.19 "nsecs(monotonic)"; 0.20 "New config
// block syntax" (CONFIG in the 0.20 grammar), "Add a jiffies builtin", "New builtin for getting the
// number of map elements" (len).
const V0_20 = extend(V0_17, '0.20', 'from-source', { strLimit: 'unmodelled', configBlock: true, aggregationCopyRefused: true, builtins: ['jiffies'], functions: ['offsetof', 'nsecs', 'len'] });
// Source: CHANGELOG 0.21 "Add for-each loops for iterating over map elements" (the 0.21 grammar's
// `FOR "(" var ":" expr ")" block`).
// A for body is a callback of its own (bpf_for_each_map_elem), where break and continue have no
// loop to leave: refused until 0.24 made them return from the callback (run here on 0.23.2 and 0.27.1).
const V0_21 = extend(V0_20, '0.21', 'from-source', { forMap: true, loopControlInForRefused: true });
// Source: CHANGELOG 0.22 "Return uint32 instead of uint64 for pid and tid", "Add lexical/block
// scoping for variables", "Fix binary operations on integers always returning 64 bit values",
// "Add has_key", percpu_kaddr; LET in the 0.22 lexer; the "Integer size mismatch" error in its
// semantic analyser. All of these were also run here on 0.23.2.
const V0_22 = extend(V0_21, '0.22', 'from-source', {
  letDeclarations: true,
  blockScoping: true,
  pidTid32: true,
  strictVariableAssignment: true,
  signMismatchRefused: true,
  integerModel: 'wider-operand',
  wideLiteralsUnsigned: true,
  comparisonIsZeroOne: false,
  functions: ['has_key', 'percpu_kaddr'],
});
// Run here on 0.23.2: let, typed let, block scoping ("Undefined or undeclared variable"), for over
// a map, config blocks, `true` (an identifier worth 1), pid/tid of size 4, the narrowing and
// sign-mismatch refusals, the wider-operand integer model; `0..3` is a syntax error; ncpus and
// usermode are unknown identifiers; `let $x: uint8 = 5` is refused (typedLetLiteralRefused, which
// is not carried to later profiles: nothing here says whether they keep it).
const V0_23 = extend(V0_22, '0.23', 'run-here', { typedLetLiteralRefused: true, strLimit: 'with-nul' });
// Source: CHANGELOG 0.24 "For loops now support `..` ranges", "Add boolean values (`true` and
// `false`)" (BOOL in the 0.24 lexer), ncpus, usermode, socket_cookie, errorf, "call most builtins
// with call-style syntax".
const V0_24 = extend(V0_23, '0.24', 'from-source', {
  typedLetLiteralRefused: false,
  strLimit: 'unmodelled',
  stringPrecision: 'unmodelled',
  percentEscape: 'unmodelled',
  loopControlInForRefused: false,
  forRange: true,
  boolType: true,
  callStyleBuiltins: true,
  builtins: ['ncpus', 'usermode'],
  functions: ['socket_cookie', 'errorf'],
});
// Source: CHANGELOG 0.25 "Remove automatic type promotion for integers", "exit() is no longer
// allowed inside loops", "Remove the deprecated sarg builtin"; warnf appears in its sources.
// Variables are no longer strictly typed: run here on 0.27.1, `$x = (uint8)1; $x = 300;` is
// accepted and $x becomes 2 bytes wide, `$x = (uint8)1; $x = (uint16)5;` and `$p = pid; $p = -1;`
// are accepted; taken to start with 0.25's "Remove automatic type promotion for integers, making
// them more flexible" (not run here on 0.25 or 0.26).
const V0_25 = extend(V0_24, '0.25', 'from-source', {
  integerModel: 'unmodelled-narrow',
  strictVariableAssignment: false,
  signMismatchRefused: false,
  exitInLoopRefused: true,
  functions: ['warnf'],
  removed: ['sarg'],
});
// Source: CHANGELOG 0.26 "Subtraction and decrement ops now produce an int64 instead of a uint64",
// "The default type for positive integer literals is now int8", sign mismatch now a warning.
const V0_26 = extend(V0_25, '0.26', 'from-source', { subtractionSigned: true, smallLiterals: true, signMismatchRefused: false });
// Source: the CHANGELOG's unreleased section after 0.26.1: str_concat, container_of. Run here on
// 0.27.1 (Debian unstable, chroot): every acceptance fact of the syntax, scoping, builtins and
// assignment tables; its integer semantics (variables that widen to what is assigned, literals of
// the smallest type) are not modelled, so operations on narrow integers and literals are unknown.
const V0_27 = extend(V0_26, '0.27', 'run-here', { functions: ['str_concat', 'container_of'], exitInIfInWhileAllowed: true, unassignedMapReads: true, stringPrecision: 'ignored', percentEscape: 'yes' });

/** Every profile, oldest first. */
export const PROFILES: readonly Dialect[] = [V0_17, V0_20, V0_21, V0_22, V0_23, V0_24, V0_25, V0_26, V0_27];

/** The default dialect: bpftrace 0.17, the version the verifier was first built for. */
export const DEFAULT_DIALECT: Dialect = V0_17;

const annotationProfiles = new WeakMap<Dialect, Dialect>();

/**
 * The integer rules of annotations (`assume`, `assert`, a cover's condition) under `d`: 0.17's,
 * whatever the version. Annotations are kgent's language, never compiled by bpftrace: a narrow
 * value is extended to 64 bits by its own signedness, literals are 64-bit, and operations are done
 * in 64 bits (unsigned when either operand is), so `assert(mapkey(@bytes, 0) == pid)` means the
 * same on every host. What the program computes keeps the version's rules.
 */
export function annotationRules(d: Dialect): Dialect {
  if (d.integerModel === 'widen-to-64' && !d.smallLiterals && !d.subtractionSigned) return d;
  let rules = annotationProfiles.get(d);
  if (!rules) {
    rules = { ...d, integerModel: 'widen-to-64', smallLiterals: false, subtractionSigned: false };
    annotationProfiles.set(d, rules);
  }
  return rules;
}

/** The profile of exactly `major.minor`, if there is one. */
export function profile(version: string): Dialect | undefined {
  return PROFILES.find((p) => p.version === version);
}

/** True when `name` is a builtin variable of this dialect. */
export function hasBuiltin(d: Dialect, name: string): boolean {
  if (d.removedBuiltins.has(name) || (d.removedBuiltins.has('sarg') && /^sarg\d+$/.test(name))) return false;
  return !NEWER_BUILTINS.has(name) || d.addedBuiltins.has(name);
}

/** True when `name` is a function of this dialect (only the functions some version lacks are judged). */
export function hasFunction(d: Dialect, name: string): boolean {
  if (d.callStyleBuiltins && ['nsecs', 'comm', 'pid', 'tid', 'cpu', 'uid', 'gid', 'elapsed'].includes(name)) return true;
  return !NEWER_FUNCTIONS.has(name) || d.addedFunctions.has(name);
}
