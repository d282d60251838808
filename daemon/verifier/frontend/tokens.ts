/** Token kinds of the bpftrace lexer. */
export type TokenKind =
  | 'ident'
  | 'variable' // $name
  | 'positional' // $1
  | 'positional-count' // $#
  | 'map' // @name or @
  | 'int'
  | 'string'
  | 'punct'
  | 'invalid'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token (for `string`, including the quotes). */
  readonly text: string;
  /** Offset of the first character. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
  /** For `invalid`: why. */
  readonly error?: string;
}

/** Punctuators, longest first so the lexer can match greedily. */
export const PUNCTUATORS: readonly string[] = [
  '<<=',
  '>>=',
  '...',
  '..',
  '->',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '==',
  '!=',
  '<=',
  '>=',
  '<<',
  '>>',
  '&&',
  '||',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ';',
  ',',
  ':',
  '?',
  '.',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '^',
  '!',
  '~',
  '<',
  '>',
  '=',
];

/** Words that cannot be used as identifiers in statements and expressions. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'if',
  'else',
  'unroll',
  'while',
  'for',
  'return',
  'break',
  'continue',
  'let',
]);

/**
 * Builtin variable names (bpftrace reference, 0.17 through current). `argN`, `sargN` and
 * `__builtin_*` are matched by pattern in {@link isBuiltinName}.
 */
export const BUILTIN_VARIABLES: ReadonlySet<string> = new Set([
  'pid',
  'tid',
  'uid',
  'gid',
  'nsecs',
  'elapsed',
  'numaid',
  'cpu',
  'ncpus',
  'comm',
  'kstack',
  'ustack',
  'retval',
  'func',
  'probe',
  'curtask',
  'rand',
  'cgroup',
  'cpid',
  'username',
  'ctx',
  'args',
  'jiffies',
  'usermode',
]);

export function isBuiltinName(name: string): boolean {
  return BUILTIN_VARIABLES.has(name) || /^s?arg[0-9]+$/.test(name) || /^__builtin_\w+$/.test(name);
}

/**
 * Type names that make `(NAME)expr` a cast and `sizeof(NAME)` a type, without needing the
 * `struct` keyword. bpftrace's own integer names plus the common C spellings.
 */
export const KNOWN_TYPE_NAMES: ReadonlySet<string> = new Set([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'int8_t',
  'int16_t',
  'int32_t',
  'int64_t',
  'uint8_t',
  'uint16_t',
  'uint32_t',
  'uint64_t',
  'u8',
  'u16',
  'u32',
  'u64',
  's8',
  's16',
  's32',
  's64',
  'i8',
  'i16',
  'i32',
  'i64',
  '__u8',
  '__u16',
  '__u32',
  '__u64',
  '__s8',
  '__s16',
  '__s32',
  '__s64',
  '__be16',
  '__be32',
  '__be64',
  '__le16',
  '__le32',
  '__le64',
  'char',
  'short',
  'int',
  'long',
  'unsigned',
  'signed',
  'bool',
  'void',
  'size_t',
  'ssize_t',
  'pid_t',
  'string',
  'inet',
  'buffer',
]);

/** C precedence of bpftrace's binary operators (higher binds tighter): the parser and printer agree on it. */
export const BINARY_PRECEDENCE: Readonly<Record<string, number>> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '==': 6,
  '!=': 6,
  '<': 7,
  '<=': 7,
  '>': 7,
  '>=': 7,
  '<<': 8,
  '>>': 8,
  '+': 9,
  '-': 9,
  '*': 10,
  '/': 10,
  '%': 10,
};
