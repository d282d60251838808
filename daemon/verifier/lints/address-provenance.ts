/**
 * Where an address comes from, for the policy that members read memory only through pointers the
 * kernel handed to the probe. Deciding on the shape of the address expression (a literal, a cast of
 * one) let the same fixed address through `?:`, `/`, `%`, a tuple field, a variable or a map; so
 * every integer gets a provenance, and every read of memory asks for the provenance of its address:
 *
 * - `kernel`: a pointer the kernel handed to the probe: `arg0`.., `sarg0`.., `retval`, `curtask`,
 *   `ctx`, `args` and its fields (when the tracepoint's format gives a field a non-pointer integer
 *   type, that field is `data`), what is read through such a pointer (`p->f`, `*p`, `p[i]`, `&p->f`),
 *   casts of any of these, and such a pointer plus or minus a small constant (a field offset);
 * - `null`: the literal 0 (`$p = 0; ... $p = arg0;` stays a pointer);
 * - `data`: an integer made without any kernel pointer (literals, `pid`, `nsecs`, `$1`, results of
 *   calls);
 * - `mixed`: anything else built from a kernel pointer (`arg0 - arg0`, `p & ~0xfff`, `p + $n`,
 *   `c ? arg0 : 0xffff...`): arithmetic can turn a pointer into any address;
 * - a tuple: the provenance of each element.
 *
 * Variables (`$x`, per probe) and maps (`@m`, program-wide, all keys together) hold the join of
 * everything assigned to them anywhere (flow-insensitive, iterated to a fixed point), so a value
 * written in one probe and read in another is covered. Reads of memory are `*e`, `e->f` on
 * anything but `args`, `e[i]`, `str`, `buf`, `path` and `macaddr` of `e` (`kptr`/`uptr` pass theirs on); the
 * address must be `kernel`, and an index may not be built from a pointer nor be a large constant.
 * Pure: the AST in, the reads refused out.
 */
import type { Expr, Probe, Program, Span, Stmt } from '../frontend/ast.js';
import { walk } from '../frontend/walk.js';
import type { TracepointFieldTypes } from './context.js';

export type Provenance = 'null' | 'kernel' | 'data' | 'mixed' | readonly Provenance[];

/** A read of memory whose address is not a pointer the kernel gave the probe. */
export interface UntrustedRead {
  /** `this dereference`, `str()`, `->pid`, `this index` ... */
  readonly what: string;
  readonly span: Span;
  /** Where the address came from, in words. */
  readonly why: string;
}

/**
 * Builtins whose first argument is an address they read memory at (bpftrace 0.17 semantic checks).
 * `kptr`/`uptr` read nothing: they only name the address space of what is read through them.
 */
const ADDRESS_READERS = new Set(['str', 'buf', 'path', 'macaddr']);

/** An offset from a kernel pointer up to this many bytes is a field or element, not a new address. */
const MAX_OFFSET = 1n << 20n;

const KERNEL_BUILTIN = /^(?:s?arg\d+|retval|curtask|ctx|args)$/;

export function join(a: Provenance | undefined, b: Provenance): Provenance {
  if (a === undefined || a === b) return b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.map((x, i) => join(x, b[i]!));
    return 'mixed';
  }
  if (a === 'null') return b;
  if (b === 'null') return a;
  return 'mixed';
}

function same(a: Provenance | undefined, b: Provenance): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `p` was computed from a kernel pointer in any part. */
function touchesPointer(p: Provenance): boolean {
  return Array.isArray(p) ? p.some(touchesPointer) : p === 'kernel' || p === 'mixed';
}

/** The integer a constant expression stands for; sizeof/offsetof count as small constants. */
export function constantValue(e: Expr): bigint | undefined {
  switch (e.kind) {
    case 'Integer':
      return e.value;
    case 'Cast':
      return constantValue(e.operand);
    case 'Call':
      return e.callee === 'sizeof' || e.callee === 'offsetof' ? 0n : undefined;
    case 'Unary': {
      const v = constantValue(e.operand);
      if (v === undefined) return undefined;
      return e.op === '-' ? -v : e.op === '+' ? v : e.op === '~' ? ~v : undefined;
    }
    case 'Binary': {
      const l = constantValue(e.left);
      const r = constantValue(e.right);
      if (l === undefined || r === undefined) return undefined;
      switch (e.op) {
        case '+': return l + r;
        case '-': return l - r;
        case '*': return l * r;
        case '/': return r === 0n ? undefined : l / r;
        case '%': return r === 0n ? undefined : l % r;
        case '|': return l | r;
        case '&': return l & r;
        case '^': return l ^ r;
        case '<<': return r < 0n || r > 64n ? undefined : l << r;
        case '>>': return r < 0n || r > 64n ? undefined : l >> r;
        default: return undefined;
      }
    }
    default:
      return undefined;
  }
}

function isSmall(v: bigint | undefined): boolean {
  return v !== undefined && v > -MAX_OFFSET && v < MAX_OFFSET;
}

/** Names of storage: `$x` is per probe, `@m` per program. */
type Store = Map<string, Provenance>;

class ProvenanceAnalysis {
  private store: Store = new Map();
  private probeIndex = 0;

  constructor(private readonly fields?: TracepointFieldTypes) {}

  private key(name: string): string {
    return name.startsWith('@') ? name : `${this.probeIndex}:${name}`;
  }

  private tracepoint?: readonly string[];

  /** Runs the assignments to a fixed point; then the reads are judged with the final store. */
  run(program: Program): UntrustedRead[] {
    for (let round = 0; round < 50; round++) {
      const before = new Map(this.store);
      this.forEachProbe(program, (p) => this.assignIn(p));
      if (before.size === this.store.size && [...before].every(([k, v]) => same(this.store.get(k), v))) break;
    }
    const out: UntrustedRead[] = [];
    this.forEachProbe(program, (p) => {
      walk(p, { enter: (n) => this.judge(n as Expr, out) });
    });
    return out;
  }

  private forEachProbe(program: Program, fn: (p: Probe) => void): void {
    program.probes.forEach((p, i) => {
      this.probeIndex = i;
      const ap = p.attachPoints.length === 1 ? p.attachPoints[0] : undefined;
      this.tracepoint = ap && ap.provider === 'tracepoint' && !ap.wildcard && ap.target.length === 2 ? ap.target : undefined;
      fn(p);
    });
  }

  private assign(name: string, value: Provenance): void {
    const k = this.key(name);
    this.store.set(k, join(this.store.get(k), value));
  }

  private assignIn(probe: Probe): void {
    walk(probe, {
      enter: (n) => {
        const s = n as Stmt | Expr;
        if (s.kind === 'AssignStmt') {
          const v = this.of(s.value);
          if (s.op === '=') this.assign(s.target.name, v);
          else {
            const current = this.of(s.target);
            const op = s.op.slice(0, -1);
            this.assign(s.target.name, op === '+' || op === '-' ? this.offset(current, s.value, v) : this.arith(current, v));
          }
        } else if (s.kind === 'VarDeclStmt' && s.value) {
          this.assign(s.variable.name, this.of(s.value));
        } else if (s.kind === 'ForStmt') {
          // `for ($kv : @m)`: ($key, $value) pairs, or a range's integers.
          this.assign(s.variable.name, s.iterable.kind === 'Map' ? ['mixed', this.of(s.iterable)] : this.arith(this.of(s.iterable), 'data'));
        } else if (s.kind === 'Update' && (s.operand.kind === 'Variable' || s.operand.kind === 'Map')) {
          this.assign(s.operand.name, this.arith(this.of(s.operand), 'data'));
        }
      },
    });
  }

  /** `a + b` / `a - b` where `b` is the expression `be`: a kernel pointer moved by a small constant stays one. */
  private offset(a: Provenance, be: Expr, b: Provenance): Provenance {
    if (a === 'kernel' && !touchesPointer(b) && isSmall(constantValue(be))) return 'kernel';
    return this.arith(a, b);
  }

  /** Any other arithmetic: data stays data, anything built from a pointer is mixed. */
  private arith(a: Provenance, b: Provenance): Provenance {
    return touchesPointer(a) || touchesPointer(b) || Array.isArray(a) || Array.isArray(b) ? 'mixed' : 'data';
  }

  /** The provenance of an expression's value. */
  of(e: Expr): Provenance {
    switch (e.kind) {
      case 'Integer':
        return e.value === 0n ? 'null' : 'data';
      case 'Builtin':
        return KERNEL_BUILTIN.test(e.name) ? 'kernel' : 'data';
      case 'Variable':
      case 'Map':
        return this.store.get(this.key(e.name)) ?? 'data';
      case 'Cast':
        return this.of(e.operand);
      case 'Tuple':
        return e.elements.map((x) => this.of(x));
      case 'Ternary':
        return join(this.of(e.then), this.of(e.else));
      case 'Call':
        // kptr()/uptr() only say which address space their argument is in.
        return (e.callee === 'kptr' || e.callee === 'uptr') && e.args[0] ? this.of(e.args[0]) : 'data';
      case 'Unary': {
        const v = this.of(e.operand);
        if (e.op === '*' || e.op === '&') return v === 'kernel' ? 'kernel' : 'data';
        if (e.op === '+') return v;
        return this.arith(v, 'data');
      }
      case 'Update':
        return this.arith(this.of(e.operand), 'data');
      case 'Binary': {
        if (['==', '!=', '<', '<=', '>', '>=', '&&', '||'].includes(e.op)) return 'data';
        const l = this.of(e.left);
        const r = this.of(e.right);
        if (e.op === '+') return l === 'kernel' ? this.offset(l, e.right, r) : r === 'kernel' ? this.offset(r, e.left, l) : this.arith(l, r);
        if (e.op === '-') return this.offset(l, e.right, r);
        return this.arith(l, r);
      }
      case 'Field': {
        if (e.object.kind === 'Builtin' && e.object.name === 'args') return this.argsField(e.field);
        const o = this.of(e.object);
        if (Array.isArray(o)) return /^\d+$/.test(e.field) ? (o[Number(e.field)] ?? 'mixed') : 'mixed';
        return o === 'kernel' ? 'kernel' : 'data';
      }
      case 'Index':
        return this.of(e.object) === 'kernel' ? 'kernel' : 'data';
      default:
        return 'data';
    }
  }

  /** A tracepoint field: a pointer or array unless the format file says it is a plain integer. */
  private argsField(field: string): Provenance {
    if (!this.tracepoint || !this.fields) return 'kernel';
    const t = this.fields.fieldType(this.tracepoint[0]!, this.tracepoint[1]!, field);
    if (!t) return 'kernel';
    return /\*|\[/.test(t.type) ? 'kernel' : 'data';
  }

  private judge(n: Expr, out: UntrustedRead[]): void {
    const address = (what: string, e: Expr, span: Span): void => {
      const p = this.of(e);
      if (p !== 'kernel') out.push({ what, span, why: describe(p) });
    };
    if (n.kind === 'Unary' && n.op === '*') address('this dereference', n.operand, n.span);
    else if (n.kind === 'Field' && n.arrow && !(n.object.kind === 'Builtin' && n.object.name === 'args')) {
      address(`->${n.field}`, n.object, n.span);
    } else if (n.kind === 'Call' && ADDRESS_READERS.has(n.callee) && n.args[0]) {
      // str($1) is the string of a positional parameter (bpftrace's str() of a string literal); kgent passes none.
      if (n.callee === 'str' && n.args[0].kind === 'Positional') return;
      address(`${n.callee}()`, n.args[0], n.span);
    } else if (n.kind === 'Index') {
      address('this index', n.object, n.span);
      const c = constantValue(n.index);
      if (touchesPointer(this.of(n.index)) || (c !== undefined && !isSmall(c))) {
        out.push({ what: 'this index', span: n.span, why: 'its index is built from a pointer or is a large constant' });
      }
    }
  }
}

function describe(p: Provenance): string {
  if (Array.isArray(p)) return 'it is a tuple';
  switch (p) {
    case 'null':
      return 'it is 0';
    case 'data':
      return 'it is an integer not handed over by the kernel (a constant, or computed from one)';
    default:
      return 'it is computed from a pointer with arithmetic or a choice that can yield any address';
  }
}

/** Reads of memory in `program` whose address is not a pointer the kernel handed to the probe. */
export function untrustedReads(program: Program, fields?: TracepointFieldTypes): UntrustedRead[] {
  return new ProvenanceAnalysis(fields).run(program);
}
