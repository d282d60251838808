/**
 * Generic traversal, structural equality and annotation stripping over the AST.
 */
import type { Block, Expr, IfStmt, Node, Probe, Program, Stmt } from './ast.js';

/** The direct child nodes of a node, in source order. */
export function childrenOf(n: Node): Node[] {
  switch (n.kind) {
    case 'Program':
      return [...n.preamble, ...(n.config ? [n.config] : []), ...n.probes, ...n.covers];
    case 'CoverStmt':
      return [n.hook, ...(n.condition ? [n.condition] : [])];
    case 'Config':
      return [...n.entries];
    case 'ConfigEntry':
      return [n.value];
    case 'Probe':
      return [...n.attachPoints, ...(n.predicate ? [n.predicate] : []), n.body];
    case 'Block':
      return [...n.statements];
    case 'ExprStmt':
      return [n.expr];
    case 'AssignStmt':
      return [n.target, n.value];
    case 'VarDeclStmt':
      return [n.variable, ...(n.type ? [n.type] : []), ...(n.value ? [n.value] : [])];
    case 'IfStmt':
      return [n.condition, n.then, ...(n.else ? [n.else] : [])];
    case 'UnrollStmt':
      return [n.count, n.body];
    case 'WhileStmt':
      return [n.condition, n.body];
    case 'ForStmt':
      return [n.variable, n.iterable, n.body];
    case 'ReturnStmt':
      return n.value ? [n.value] : [];
    case 'AssumeStmt':
    case 'AssertStmt':
      return [n.expr];
    case 'Map':
      return [...n.keys];
    case 'Call':
      return [...n.args];
    case 'Unary':
    case 'Update':
      return [n.operand];
    case 'Binary':
      return [n.left, n.right];
    case 'Ternary':
      return [n.condition, n.then, n.else];
    case 'Cast':
      return [n.type, n.operand];
    case 'Field':
      return [n.object];
    case 'Index':
      return [n.object, n.index];
    case 'Tuple':
      return [...n.elements];
    case 'Range':
      return [n.start, n.end];
    case 'TypeExpr':
      return [n.type];
    default:
      return [];
  }
}

/**
 * Visitor for {@link walk}. `enter` may return `false` to skip the node's children. `ancestors`
 * lists the enclosing nodes, outermost first (the array is reused: copy it to keep it).
 */
export interface Visitor {
  enter?(node: Node, ancestors: readonly Node[]): void | boolean;
  leave?(node: Node, ancestors: readonly Node[]): void;
}

/** Depth-first, pre-order walk (children in source order). */
export function walk(root: Node, visitor: Visitor): void {
  const stack: Node[] = [];
  const visit = (n: Node): void => {
    const r = visitor.enter?.(n, stack);
    if (r !== false) {
      stack.push(n);
      for (const c of childrenOf(n)) visit(c);
      stack.pop();
    }
    visitor.leave?.(n, stack);
  };
  visit(root);
}

/** Every node of a given kind under `root` (root included), in source order. */
export function collect<K extends Node['kind']>(root: Node, kind: K): Extract<Node, { kind: K }>[] {
  const out: Extract<Node, { kind: K }>[] = [];
  walk(root, {
    enter(n) {
      if (n.kind === kind) out.push(n as Extract<Node, { kind: K }>);
    },
  });
  return out;
}

/** Every expression under `root` satisfying `pred`. */
export function findExprs(root: Node, pred: (e: Expr) => boolean): Expr[] {
  const out: Expr[] = [];
  walk(root, {
    enter(n) {
      if (isExpr(n) && pred(n)) out.push(n);
    },
  });
  return out;
}

const EXPR_KINDS: ReadonlySet<string> = new Set([
  'Integer',
  'String',
  'Boolean',
  'Builtin',
  'Positional',
  'PositionalCount',
  'Identifier',
  'Variable',
  'Map',
  'Call',
  'Unary',
  'Update',
  'Binary',
  'Ternary',
  'Cast',
  'Field',
  'Index',
  'Tuple',
  'Range',
  'TypeExpr',
]);

export function isExpr(n: Node): n is Expr {
  return EXPR_KINDS.has(n.kind);
}

/** Structural equality of two AST values, ignoring `span` everywhere. */
export function astEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!astEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (k === 'span') continue;
    if (!astEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/**
 * The first difference between two ASTs as a path (`probes[0].body.statements[2].value.op`), or
 * undefined when equal. For test and guard messages.
 */
export function astDiff(a: unknown, b: unknown, path = ''): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return astEqual(a, b) ? undefined : `${path || '<root>'}: ${fmt(a)} != ${fmt(b)}`;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: array != non-array`;
    if (a.length !== b.length) return `${path}.length: ${a.length} != ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = astDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    if (k === 'span') continue;
    const d = astDiff(ao[k], bo[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return undefined;
}

function fmt(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object' && v !== null && 'kind' in v) return `<${String((v as { kind: unknown }).kind)}>`;
  return JSON.stringify(v) ?? String(v);
}

function stripBlock(b: Block): Block {
  const statements: Stmt[] = [];
  for (const s of b.statements) {
    if (s.kind === 'AssumeStmt' || s.kind === 'AssertStmt') continue;
    statements.push(stripStmt(s));
  }
  return { ...b, statements };
}

function stripIf(s: IfStmt): IfStmt {
  const then = stripBlock(s.then);
  if (!s.else) return { ...s, then };
  return { ...s, then, else: s.else.kind === 'IfStmt' ? stripIf(s.else) : stripBlock(s.else) };
}

function stripStmt(s: Stmt): Stmt {
  switch (s.kind) {
    case 'Block':
      return stripBlock(s);
    case 'IfStmt':
      return stripIf(s);
    case 'UnrollStmt':
    case 'WhileStmt':
    case 'ForStmt':
      return { ...s, body: stripBlock(s.body) };
    default:
      return s;
  }
}

/** The program without its annotations: `assume`/`assert` (at any depth) and `cover`. Spans are kept. */
export function stripAnnotations(p: Program): Program {
  const probes: Probe[] = p.probes.map((pr) => ({ ...pr, body: stripBlock(pr.body) }));
  return { ...p, probes, covers: [] };
}

/** True when the program holds at least one `assume`, `assert` or `cover`. */
export function hasAnnotations(p: Program): boolean {
  return p.covers.length > 0 || collect(p, 'AssumeStmt').length > 0 || collect(p, 'AssertStmt').length > 0;
}
