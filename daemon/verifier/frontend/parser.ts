/**
 * Recursive-descent parser for bpftrace (0.17 through current) plus kgent's `assume(e);` and
 * `assert(e);`. Pure: source text in, AST and diagnostics out. Stops at the first syntax error,
 * like bpftrace, and reports it with the exact span of the offending token.
 */
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';
import { canonicalProbeType } from '../../../kernel-contracts/probe-types.js';
import type {
  AssignOp,
  AttachPoint,
  BinaryOp,
  Block,
  CDefinition,
  ConfigBlock,
  ConfigEntry,
  CoverStmt,
  Expr,
  IfStmt,
  IncludeDirective,
  MapAccess,
  PreambleItem,
  PreprocessorDirective,
  Probe,
  Program,
  Stmt,
  TypeRef,
  Variable,
} from './ast.js';
import { decodeString, integerValue, Lexer, SourceMap } from './lexer.js';
import { BINARY_PRECEDENCE, isBuiltinName, KEYWORDS, KNOWN_TYPE_NAMES, type Token } from './tokens.js';

/** Thrown inside the parser only; {@link parseSource} turns it into a Diagnostic. */
class SyntaxFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly span: Span,
    readonly hints: readonly string[] = [],
  ) {
    super(message);
  }
}


const ASSIGN_OPS: ReadonlySet<string> = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);

/** Characters an attach point may hold outside quotes (paths, globs, offsets, hz values). */
const ATTACH_CHAR = /[A-Za-z0-9_\-./*#+?[\]$@~]/;

/** Providers whose attach points name a file, so `/` belongs to the attach point. */
const PATH_PROVIDERS: ReadonlySet<string> = new Set(['uprobe', 'uretprobe', 'usdt', 'u', 'ur', 'U']);

/** Newer top-level constructs we recognise and reject with a clear message. */
const UNSUPPORTED_TOP_LEVEL: Readonly<Record<string, string>> = {
  macro: "'macro' definitions (newer bpftrace) are not supported",
  import: "'import' (newer bpftrace) is not supported",
  fn: "user functions ('fn', newer bpftrace) are not supported",
  let: "top-level map declarations ('let @m = ...', newer bpftrace) are not supported",
};

/**
 * Deepest nesting of expressions and statements accepted. Real programs stay far below it; deeper
 * input would overflow the stack here or in any pass that walks the tree (a client could send
 * 100,000 parentheses), so it is a parse diagnostic instead.
 */
export const MAX_NESTING = 256;

class Parser {
  private readonly lx: Lexer;
  /** Current nesting of expressions/statements, checked against {@link MAX_NESTING}. */
  private depth = 0;
  private readonly sm: SourceMap;
  private cur: Token;
  /** End offset of the last consumed token. */
  private prevEnd = 0;
  /** In a predicate, outside any brackets: `/` closes the predicate instead of dividing. */
  private slashEndsExpr = false;

  constructor(private readonly src: string) {
    this.lx = new Lexer(src);
    this.sm = new SourceMap(src);
    this.cur = this.lx.next();
  }

  // ----- token helpers ------------------------------------------------------------------------

  private span(start: number, end = this.prevEnd): Span {
    return this.sm.span(start, end);
  }

  private advance(): Token {
    const t = this.cur;
    if (t.kind === 'invalid') throw this.lexError(t);
    this.prevEnd = t.end;
    this.cur = this.lx.next();
    return t;
  }

  private is(text: string): boolean {
    return (this.cur.kind === 'punct' || this.cur.kind === 'ident') && this.cur.text === text;
  }

  private isPunct(text: string): boolean {
    return this.cur.kind === 'punct' && this.cur.text === text;
  }

  private accept(text: string): boolean {
    if (this.is(text)) {
      this.advance();
      return true;
    }
    return false;
  }

  private expect(text: string): Token {
    if (this.is(text)) return this.advance();
    throw this.unexpected(text);
  }

  /** Restarts lexing at `offset` (after raw scanning). */
  private resetTo(offset: number): void {
    this.lx.pos = offset;
    this.cur = this.lx.next();
  }

  private mark(): { pos: number; cur: Token; prevEnd: number } {
    return { pos: this.lx.pos, cur: this.cur, prevEnd: this.prevEnd };
  }

  private restore(m: { pos: number; cur: Token; prevEnd: number }): void {
    this.lx.pos = m.pos;
    this.cur = m.cur;
    this.prevEnd = m.prevEnd;
  }

  private describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of file';
      case 'int':
        return `integer ${t.text}`;
      case 'string':
        return `string ${t.text.length > 24 ? `${t.text.slice(0, 20)}..."` : t.text}`;
      case 'variable':
      case 'positional':
      case 'positional-count':
        return `variable ${t.text}`;
      case 'map':
        return `map ${t.text}`;
      case 'ident':
        return KEYWORDS.has(t.text) ? t.text : `identifier ${t.text}`;
      default:
        return t.text;
    }
  }

  private tokenSpan(t: Token): Span {
    return this.sm.span(t.start, Math.max(t.end, t.start + 1));
  }

  private lexError(t: Token): SyntaxFailure {
    return new SyntaxFailure('parse.invalid-token', t.error ?? `invalid token '${t.text}'`, this.tokenSpan(t));
  }

  /** bpftrace's wording: `syntax error, unexpected X, expecting Y`. */
  private unexpected(expecting?: string): SyntaxFailure {
    const t = this.cur;
    if (t.kind === 'invalid') return this.lexError(t);
    const msg = `syntax error, unexpected ${this.describe(t)}${expecting ? `, expecting ${expecting}` : ''}`;
    return new SyntaxFailure('parse.unexpected-token', msg, this.tokenSpan(t));
  }

  // ----- program ------------------------------------------------------------------------------

  parseProgram(): Program {
    const preamble: PreambleItem[] = [];
    const probes: Probe[] = [];
    const covers: CoverStmt[] = [];
    let config: ConfigBlock | undefined;
    for (;;) {
      this.lx.pos = this.cur.start;
      const bad = this.lx.skipTrivia();
      if (bad) throw this.lexError(bad);
      const at = this.lx.pos;
      if (at >= this.src.length) break;
      const c = this.src[at];
      if (c === '#') {
        if (at === 0 && this.src[1] === '!') {
          // The shebang line of an executable script: bpftrace ignores it.
          this.skipLine(at);
          continue;
        }
        if (probes.length > 0) {
          throw new SyntaxFailure('parse.preprocessor-after-probe', 'preprocessor directives must come before the probes', this.lineSpan(at));
        }
        preamble.push(this.preprocessor(at));
        continue;
      }
      this.resetTo(at);
      const word = this.cur.kind === 'ident' ? this.cur.text : '';
      if ((word === 'struct' || word === 'union' || word === 'enum' || word === 'typedef') && probes.length === 0 && this.looksLikeDefinition(at)) {
        preamble.push(this.cDefinition(at, word));
        continue;
      }
      if (word === 'config' && this.peekPunctAfterWord(at, '=')) {
        if (config) throw new SyntaxFailure('parse.duplicate-config', 'only one config block is allowed', this.tokenSpan(this.cur));
        config = this.configBlock();
        continue;
      }
      if (word === 'cover' && this.peekPunctAfterWord(at, '(')) {
        covers.push(this.cover(at));
        continue;
      }
      const unsupported = UNSUPPORTED_TOP_LEVEL[word];
      if (unsupported) {
        throw new SyntaxFailure('parse.unsupported', unsupported, this.tokenSpan(this.cur), [
          'kgent reads the bpftrace language of 0.17 up to config blocks, for loops and let declarations; write the program without it',
        ]);
      }
      probes.push(this.probe(at));
    }
    if (probes.length === 0) {
      throw new SyntaxFailure('parse.no-probes', 'the program has no probes', this.sm.span(this.src.length, this.src.length + 1), [
        'a bpftrace program needs at least one probe, e.g. `BEGIN { printf("hello\\n"); }`',
      ]);
    }
    return {
      kind: 'Program',
      includes: preamble.filter((p): p is IncludeDirective => p.kind === 'Include'),
      definitions: preamble.filter((p): p is CDefinition => p.kind === 'CDefinition'),
      preamble,
      ...(config ? { config } : {}),
      probes,
      covers,
      span: this.sm.span(0, Math.max(1, this.src.length)),
    };
  }

  private lineSpan(at: number): Span {
    let end = this.src.indexOf('\n', at);
    if (end < 0) end = this.src.length;
    return this.sm.span(at, end);
  }

  private skipLine(at: number): void {
    let end = this.src.indexOf('\n', at);
    if (end < 0) end = this.src.length;
    this.resetTo(end);
  }

  private preprocessor(at: number): IncludeDirective | PreprocessorDirective {
    // A directive runs to the end of the line, continued by a trailing backslash.
    let end = at;
    for (;;) {
      let nl = this.src.indexOf('\n', end);
      if (nl < 0) nl = this.src.length;
      const line = this.src.slice(end, nl).replace(/\r$/, '');
      end = nl;
      if (!line.endsWith('\\') || nl >= this.src.length) break;
      end = nl + 1;
    }
    // trimEnd, not /\s+$/: that regex is quadratic on a long run of spaces before the line's end.
    const text = this.src.slice(at, end).trimEnd();
    const span = this.sm.span(at, at + text.length);
    this.resetTo(end);
    const m = /^#\s*([A-Za-z_]\w*)/.exec(text);
    const directive = m?.[1] ?? '';
    if (directive === 'include') {
      const inc = /^#\s*include\s*(?:<([^>]*)>|"([^"]*)")/.exec(text);
      if (!inc) throw new SyntaxFailure('parse.bad-include', 'malformed #include: expected <file> or "file"', span);
      const system = inc[1] !== undefined;
      return { kind: 'Include', path: inc[1] ?? inc[2] ?? '', system, text, span };
    }
    if (!directive) throw new SyntaxFailure('parse.bad-preprocessor', 'malformed preprocessor directive', span);
    return { kind: 'Preprocessor', directive, text, span };
  }

  /** `struct X {` / `union X {` / `enum X {` / `enum {` / `typedef ...;` at top level. */
  private looksLikeDefinition(at: number): boolean {
    if (this.cur.text === 'typedef') return true;
    const m = /^(?:struct|union|enum)\s*(?:[A-Za-z_]\w*)?\s*\{/.exec(this.src.slice(at, at + 200).replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' '));
    return m !== null;
  }

  private peekPunctAfterWord(at: number, punct: string): boolean {
    const m = /^[A-Za-z_]\w*\s*(\S)/.exec(this.src.slice(at, at + 100));
    return m?.[1] === punct;
  }

  private cDefinition(at: number, keyword: string): CDefinition {
    const lx = new Lexer(this.src);
    lx.pos = at;
    let depth = 0;
    let end = -1;
    let name = '';
    let first = true;
    for (;;) {
      const t = lx.next();
      if (t.kind === 'eof') {
        throw new SyntaxFailure('parse.unterminated-definition', `unterminated ${keyword} definition`, this.sm.span(at, at + keyword.length));
      }
      if (t.kind === 'invalid' && t.error === 'unterminated comment') throw this.lexError(t);
      if (!first && !name && depth === 0 && t.kind === 'ident' && keyword !== 'typedef') name = t.text;
      first = false;
      if (t.kind === 'punct' && t.text === '{') depth++;
      else if (t.kind === 'punct' && t.text === '}') {
        depth--;
        if (depth === 0 && keyword !== 'typedef') {
          // `struct x { ... };` — the `;` (and any declarator before it) belongs to the definition.
          const save = lx.pos;
          const n = lx.next();
          if (n.kind === 'punct' && n.text === ';') end = n.end;
          else {
            lx.pos = save;
            end = t.end;
          }
          break;
        }
      } else if (t.kind === 'punct' && t.text === ';' && depth === 0) {
        if (keyword === 'typedef') {
          end = t.end;
          name = lastIdentifier(this.src.slice(at, end - 1));
          break;
        }
      }
    }
    const text = this.src.slice(at, end);
    const span = this.sm.span(at, end);
    this.resetTo(end);
    return { kind: 'CDefinition', keyword: keyword as CDefinition['keyword'], name, text, span };
  }

  private configBlock(): ConfigBlock {
    const start = this.cur.start;
    this.expect('config');
    this.expect('=');
    this.expect('{');
    const entries: ConfigEntry[] = [];
    while (!this.isPunct('}')) {
      if (this.accept(';')) continue;
      const keyTok = this.cur;
      if (keyTok.kind !== 'ident') throw this.unexpected('a config key');
      this.advance();
      this.expect('=');
      const v = this.cur;
      let value: ConfigEntry['value'];
      if (v.kind === 'int' || v.kind === 'string') value = this.primary() as ConfigEntry['value'];
      else if (v.kind === 'ident') {
        this.advance();
        value = { kind: 'Identifier', name: v.text, span: this.tokenSpan(v) };
      } else throw this.unexpected('a config value');
      entries.push({ kind: 'ConfigEntry', key: keyTok.text, value, span: this.span(keyTok.start) });
      if (!this.isPunct('}')) this.expect(';');
    }
    this.expect('}');
    return { kind: 'Config', entries, span: this.span(start) };
  }

  // ----- probes -------------------------------------------------------------------------------

  private probe(at: number): Probe {
    const attachPoints: AttachPoint[] = [];
    let pos = at;
    for (;;) {
      const { ap, end } = this.attachPoint(pos);
      attachPoints.push(ap);
      this.resetTo(end);
      if (this.isPunct(',')) {
        this.advance();
        pos = this.cur.start;
        if (this.cur.kind === 'eof' || this.isPunct('{') || this.isPunct('/')) throw this.unexpected('an attach point');
        continue;
      }
      break;
    }
    let predicate: Expr | undefined;
    if (this.isPunct('/')) {
      this.advance();
      const saved = this.slashEndsExpr;
      this.slashEndsExpr = true;
      predicate = this.expr();
      this.slashEndsExpr = saved;
      if (!this.isPunct('/')) throw this.unexpected('/ to end the predicate');
      this.advance();
    }
    if (!this.isPunct('{')) throw this.unexpected(predicate ? '{' : '{ or a predicate');
    const body = this.block();
    return { kind: 'Probe', attachPoints, ...(predicate ? { predicate } : {}), body, span: this.span(at) };
  }

  /** `cover(HOOK[, COND]);` — HOOK is one attach point, written as in a probe. */
  private cover(at: number): CoverStmt {
    this.expect('cover');
    this.expect('(');
    const { ap, end } = this.attachPoint(this.cur.start);
    if (ap.provider === 'BEGIN' || ap.provider === 'END') {
      throw new SyntaxFailure('parse.bad-cover', `cover() names an event hook; ${ap.provider} is not one`, ap.span, [
        'write cover(tracepoint:CATEGORY:EVENT) or cover(kprobe:FUNCTION), optionally with a condition over args',
      ]);
    }
    this.resetTo(end);
    let condition: Expr | undefined;
    if (this.accept(',')) condition = this.expr();
    this.expect(')');
    this.expect(';');
    return { kind: 'CoverStmt', hook: ap, ...(condition ? { condition } : {}), span: this.span(at) };
  }

  private attachPoint(at: number): { ap: AttachPoint; end: number } {
    const s = this.src;
    let i = at;
    const parts: string[] = [];
    let part = '';
    while (i < s.length) {
      const c = s[i] ?? '';
      if (c === '"') {
        const close = s.indexOf('"', i + 1);
        const nl = s.indexOf('\n', i + 1);
        if (close < 0 || (nl >= 0 && nl < close)) {
          throw new SyntaxFailure('parse.invalid-token', 'unterminated string', this.sm.span(i, nl < 0 ? s.length : nl));
        }
        part += s.slice(i + 1, close);
        i = close + 1;
      } else if (c === ':') {
        parts.push(part);
        part = '';
        i++;
      } else if (c === '/' && (s[i + 1] === '/' || s[i + 1] === '*' || !PATH_PROVIDERS.has(parts[0] ?? part))) {
        break; // a comment, or a predicate right after an attach point that holds no path
      } else if (ATTACH_CHAR.test(c)) {
        part += c;
        i++;
      } else break;
    }
    parts.push(part);
    const raw = s.slice(at, i);
    if (raw === '') {
      this.resetTo(at);
      throw this.unexpected('a probe');
    }
    const span = this.sm.span(at, i);
    const providerText = parts[0] ?? '';
    const provider = canonicalProbeType(providerText);
    if (!provider) {
      const hint = /^[A-Za-z_]\w*$/.test(providerText)
        ? ['providers: BEGIN, END, kprobe, kretprobe, uprobe, uretprobe, usdt, tracepoint, rawtracepoint, profile, interval, software, hardware, watchpoint, kfunc, kretfunc, iter']
        : [];
      throw new SyntaxFailure('parse.invalid-probe', `Invalid probe type: ${providerText || raw}`, span, hint);
    }
    const target = parts.slice(1);
    if ((provider === 'BEGIN' || provider === 'END') && target.length > 0) {
      throw new SyntaxFailure('parse.invalid-probe', `${provider} probes take no arguments`, span);
    }
    if (provider !== 'BEGIN' && provider !== 'END' && provider !== 'self' && target.length === 0) {
      throw new SyntaxFailure('parse.invalid-probe', `${providerText} probe type requires an attach point (e.g. ${providerText}:...)`, span);
    }
    const wildcard = target.some((p) => /[*?[]/.test(p));
    return { ap: { kind: 'AttachPoint', provider, providerText, target, wildcard, raw, span }, end: i };
  }

  // ----- statements ---------------------------------------------------------------------------

  private block(): Block {
    const start = this.cur.start;
    this.expect('{');
    const statements: Stmt[] = [];
    for (;;) {
      if (this.isPunct('}')) break;
      if (this.cur.kind === 'eof') throw this.unexpected('}');
      if (this.accept(';')) continue;
      const st = this.statement();
      statements.push(st);
      if (st.kind === 'IfStmt' || st.kind === 'WhileStmt' || st.kind === 'UnrollStmt' || st.kind === 'ForStmt' || st.kind === 'Block') {
        continue;
      }
      if (this.isPunct('}')) break;
      if (!this.isPunct(';')) throw this.unexpected('; or }');
      this.advance();
    }
    this.expect('}');
    return { kind: 'Block', statements, span: this.span(start) };
  }

  private statement(): Stmt {
    return this.nested(() => this.statementInner());
  }

  /** Runs `fn` one nesting level deeper; past {@link MAX_NESTING} it is a syntax error. */
  private nested<T>(fn: () => T, extra = 0): T {
    this.checkDepth(extra + 1);
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private checkDepth(extra: number): void {
    if (this.depth + extra > MAX_NESTING) {
      throw new SyntaxFailure('parse.too-deep', `the program nests deeper than ${MAX_NESTING} levels`, this.tokenSpan(this.cur), [
        'split the expression with $variables',
      ]);
    }
  }

  private statementInner(): Stmt {
    const t = this.cur;
    const start = t.start;
    if (t.kind === 'ident') {
      switch (t.text) {
        case 'if':
          return this.ifStmt();
        case 'unroll': {
          this.advance();
          this.expect('(');
          const count = this.groupedExpr();
          this.expect(')');
          const body = this.block();
          return { kind: 'UnrollStmt', count, body, span: this.span(start) };
        }
        case 'while': {
          this.advance();
          this.expect('(');
          const condition = this.groupedExpr();
          this.expect(')');
          const body = this.block();
          return { kind: 'WhileStmt', condition, body, span: this.span(start) };
        }
        case 'for': {
          this.advance();
          this.expect('(');
          const variable = this.variable();
          this.expect(':');
          const fromStart = this.cur.start;
          const from = this.groupedExpr();
          let iterable = from;
          if (this.isPunct('..')) {
            this.advance();
            const to = this.groupedExpr();
            iterable = { kind: 'Range', start: from, end: to, span: this.span(fromStart) };
          }
          this.expect(')');
          const body = this.block();
          return { kind: 'ForStmt', variable, iterable, body, span: this.span(start) };
        }
        case 'return': {
          this.advance();
          if (this.isPunct(';') || this.isPunct('}')) return { kind: 'ReturnStmt', span: this.span(start) };
          const value = this.expr();
          return { kind: 'ReturnStmt', value, span: this.span(start) };
        }
        case 'break':
          this.advance();
          return { kind: 'BreakStmt', span: this.span(start) };
        case 'continue':
          this.advance();
          return { kind: 'ContinueStmt', span: this.span(start) };
        case 'let':
          return this.varDecl();
        case 'assume':
        case 'assert': {
          const m = this.mark();
          this.advance();
          if (!this.isPunct('(')) {
            this.restore(m);
            break;
          }
          this.advance();
          const expr = this.groupedExpr();
          if (this.isPunct(',')) {
            throw new SyntaxFailure('parse.annotation-arity', `${t.text}() takes exactly one expression`, this.tokenSpan(this.cur), [
              `write ${t.text}(A && B) to state several facts`,
            ]);
          }
          this.expect(')');
          return t.text === 'assume'
            ? { kind: 'AssumeStmt', expr, span: this.span(start) }
            : { kind: 'AssertStmt', expr, span: this.span(start) };
        }
        default:
          break;
      }
    }
    if (this.isPunct('{')) return this.block();
    const e = this.expr();
    if (this.cur.kind === 'punct' && ASSIGN_OPS.has(this.cur.text)) {
      const opTok = this.cur;
      if (e.kind !== 'Variable' && e.kind !== 'Map') {
        throw new SyntaxFailure('parse.bad-assignment', 'only $variables and @maps can be assigned to', e.span);
      }
      this.advance();
      const value = this.expr();
      return { kind: 'AssignStmt', target: e, op: opTok.text as AssignOp, value, span: this.span(start) };
    }
    return { kind: 'ExprStmt', expr: e, span: this.span(start) };
  }

  private ifStmt(): IfStmt {
    const start = this.cur.start;
    this.expect('if');
    this.expect('(');
    const condition = this.groupedExpr();
    this.expect(')');
    const then = this.block();
    if (this.is('else')) {
      this.advance();
      if (!this.isPunct('{') && !this.is('if')) throw this.unexpected('{ or if');
      const otherwise = this.is('if') ? this.ifStmt() : this.block();
      return { kind: 'IfStmt', condition, then, else: otherwise, span: this.span(start) };
    }
    return { kind: 'IfStmt', condition, then, span: this.span(start) };
  }

  private varDecl(): Stmt {
    const start = this.cur.start;
    this.expect('let');
    const variable = this.variable();
    let type: TypeRef | undefined;
    if (this.accept(':')) type = this.typeRef();
    let value: Expr | undefined;
    if (this.accept('=')) value = this.expr();
    return { kind: 'VarDeclStmt', variable, ...(type ? { type } : {}), ...(value ? { value } : {}), span: this.span(start) };
  }

  private variable(): Variable {
    const t = this.cur;
    if (t.kind !== 'variable') throw this.unexpected('a $variable');
    this.advance();
    return { kind: 'Variable', name: t.text, span: this.tokenSpan(t) };
  }

  // ----- expressions --------------------------------------------------------------------------

  /** An expression inside brackets: `/` divides again even within a predicate. */
  private groupedExpr(): Expr {
    const saved = this.slashEndsExpr;
    this.slashEndsExpr = false;
    try {
      return this.expr();
    } finally {
      this.slashEndsExpr = saved;
    }
  }

  private expr(): Expr {
    return this.ternary();
  }

  private ternary(): Expr {
    return this.nested(() => this.ternaryInner());
  }

  private ternaryInner(): Expr {
    const start = this.cur.start;
    const condition = this.binary(1);
    if (!this.isPunct('?')) return condition;
    this.advance();
    const then = this.ternary();
    this.expect(':');
    const otherwise = this.ternary();
    return { kind: 'Ternary', condition, then, else: otherwise, span: this.span(start) };
  }

  private binary(minPrec: number): Expr {
    const start = this.cur.start;
    let left = this.unary();
    // A chain `a + b + c ...` nests to the left without recursing here; it still counts as depth.
    for (let chain = 1; ; chain++) {
      const t = this.cur;
      if (t.kind !== 'punct') break;
      this.checkDepth(chain);
      const prec = BINARY_PRECEDENCE[t.text];
      if (prec === undefined || prec < minPrec) break;
      if (t.text === '/' && this.slashEndsExpr) break;
      this.advance();
      const right = this.binary(prec + 1);
      left = { kind: 'Binary', op: t.text as BinaryOp, left, right, span: this.span(start) };
    }
    return left;
  }

  private unary(): Expr {
    return this.nested(() => this.unaryInner());
  }

  private unaryInner(): Expr {
    const t = this.cur;
    const start = t.start;
    if (t.kind === 'punct') {
      switch (t.text) {
        case '!':
        case '~':
        case '-':
        case '+':
        case '*':
        case '&': {
          this.advance();
          const operand = this.unary();
          return { kind: 'Unary', op: t.text, operand, span: this.span(start) };
        }
        case '++':
        case '--': {
          this.advance();
          const operand = this.unary();
          return { kind: 'Update', op: t.text, prefix: true, operand, span: this.span(start) };
        }
        case '(': {
          const cast = this.tryCast();
          if (cast) return cast;
          break;
        }
        default:
          break;
      }
    }
    return this.postfix(this.primary(), start);
  }

  /** `(TYPE)expr`. Returns undefined (input untouched) when the parenthesis is not a cast. */
  private tryCast(): Expr | undefined {
    const m = this.mark();
    const start = this.cur.start;
    this.advance(); // (
    const t = this.cur;
    if (t.kind !== 'ident' || KEYWORDS.has(t.text) || (isBuiltinName(t.text) && !KNOWN_TYPE_NAMES.has(t.text))) {
      this.restore(m);
      return undefined;
    }
    const tagged = t.text === 'struct' || t.text === 'union' || t.text === 'enum';
    const known = tagged || KNOWN_TYPE_NAMES.has(t.text);
    let type: TypeRef;
    try {
      type = this.typeRef();
    } catch (e) {
      if (known) throw e;
      this.restore(m);
      return undefined;
    }
    if (!this.isPunct(')')) {
      if (known) throw this.unexpected(') to close the cast');
      this.restore(m);
      return undefined;
    }
    this.advance();
    if (!known && type.pointerLevel === 0 && type.arraySize === undefined) {
      // `(name)` followed by something that can only start an operand: a cast to a typedef.
      const n = this.cur;
      const operandStart =
        n.kind === 'ident' || n.kind === 'int' || n.kind === 'string' || n.kind === 'variable' || n.kind === 'map' ||
        n.kind === 'positional' || (n.kind === 'punct' && (n.text === '(' || n.text === '!' || n.text === '~'));
      if (!operandStart) {
        this.restore(m);
        return undefined;
      }
    }
    const operand = this.unary();
    return { kind: 'Cast', type, operand, span: this.span(start) };
  }

  /** `struct sock *`, `uint16`, `unsigned long`, `int8[4]`. */
  private typeRef(): TypeRef {
    const start = this.cur.start;
    const t = this.cur;
    if (t.kind !== 'ident') throw this.unexpected('a type');
    let name: string;
    if (t.text === 'struct' || t.text === 'union' || t.text === 'enum') {
      this.advance();
      const tag = this.cur;
      if (tag.kind !== 'ident') throw this.unexpected(`a ${t.text} name`);
      this.advance();
      name = `${t.text} ${tag.text}`;
    } else {
      this.advance();
      name = t.text;
      // Multi-word C integer types.
      if (name === 'unsigned' || name === 'signed' || name === 'long' || name === 'short') {
        while (this.cur.kind === 'ident' && ['int', 'long', 'short', 'char'].includes(this.cur.text)) {
          name += ` ${this.cur.text}`;
          this.advance();
        }
      }
    }
    let pointerLevel = 0;
    while (this.isPunct('*')) {
      this.advance();
      pointerLevel++;
    }
    let arraySize: number | undefined;
    if (this.isPunct('[')) {
      this.advance();
      const n = this.cur;
      if (n.kind !== 'int') throw this.unexpected('an array size');
      this.advance();
      arraySize = Number(integerValue(n.text) ?? 0n);
      this.expect(']');
    }
    return { kind: 'Type', name, pointerLevel, ...(arraySize !== undefined ? { arraySize } : {}), span: this.span(start) };
  }

  private postfix(e: Expr, start: number): Expr {
    for (let chain = 1; ; chain++) {
      this.checkDepth(chain);
      if (this.isPunct('->') || this.isPunct('.')) {
        const arrow = this.cur.text === '->';
        this.advance();
        const f = this.cur;
        if (f.kind !== 'ident' && f.kind !== 'int') throw this.unexpected('a field name');
        this.advance();
        e = { kind: 'Field', object: e, field: f.text, arrow, span: this.span(start) };
      } else if (this.isPunct('[')) {
        this.advance();
        const index = this.groupedExpr();
        this.expect(']');
        e = { kind: 'Index', object: e, index, span: this.span(start) };
      } else if (this.isPunct('++') || this.isPunct('--')) {
        const op = this.cur.text as '++' | '--';
        this.advance();
        e = { kind: 'Update', op, prefix: false, operand: e, span: this.span(start) };
      } else {
        return e;
      }
    }
  }

  private primary(): Expr {
    const t = this.cur;
    const start = t.start;
    switch (t.kind) {
      case 'int': {
        this.advance();
        const value = integerValue(t.text);
        if (value === undefined) throw new SyntaxFailure('parse.bad-integer', `invalid integer literal '${t.text}'`, this.tokenSpan(t));
        return { kind: 'Integer', value, raw: t.text, span: this.tokenSpan(t) };
      }
      case 'string': {
        this.advance();
        const raw = t.text.slice(1, -1);
        const dec = decodeString(raw);
        if (dec.error !== undefined) {
          const at = t.start + 1 + (dec.at ?? 0);
          throw new SyntaxFailure('parse.bad-escape', dec.error, this.sm.span(at, at + 2));
        }
        return { kind: 'String', value: dec.value, raw, span: this.tokenSpan(t) };
      }
      case 'variable':
        this.advance();
        return { kind: 'Variable', name: t.text, span: this.tokenSpan(t) };
      case 'positional':
        this.advance();
        return { kind: 'Positional', index: Number(t.text.slice(1)), span: this.tokenSpan(t) };
      case 'positional-count':
        this.advance();
        return { kind: 'PositionalCount', span: this.tokenSpan(t) };
      case 'map': {
        this.advance();
        const keys: Expr[] = [];
        if (this.isPunct('[')) {
          this.advance();
          keys.push(...this.exprList(']'));
          if (keys.length === 0) throw new SyntaxFailure('parse.empty-key', 'a map key cannot be empty', this.span(start));
        }
        const m: MapAccess = { kind: 'Map', name: t.text, keys, span: this.span(start) };
        return m;
      }
      case 'punct':
        if (t.text === '(') {
          this.advance();
          const items = this.exprList(')');
          if (items.length === 0) throw new SyntaxFailure('parse.empty-parens', 'syntax error, unexpected )', this.span(start));
          if (items.length === 1 && !this.trailingCommaTuple) return items[0] as Expr;
          return { kind: 'Tuple', elements: items, span: this.span(start) };
        }
        throw this.unexpected('an expression');
      case 'ident': {
        if (KEYWORDS.has(t.text)) throw this.unexpected('an expression');
        if (t.text === 'true' || t.text === 'false') {
          this.advance();
          return { kind: 'Boolean', value: t.text === 'true', span: this.tokenSpan(t) };
        }
        this.advance();
        if (this.isPunct('(')) {
          if (t.text === 'assume' || t.text === 'assert') {
            throw new SyntaxFailure('parse.annotation-position', `${t.text}(...) is a statement, not an expression`, this.tokenSpan(t), [
              `write it as a statement of its own: ${t.text}(EXPR);`,
            ]);
          }
          this.advance();
          const args = t.text === 'sizeof' || t.text === 'offsetof' ? this.typeArgs() : this.exprList(')');
          return { kind: 'Call', callee: t.text, args, span: this.span(start) };
        }
        if (isBuiltinName(t.text)) return { kind: 'Builtin', name: t.text, span: this.tokenSpan(t) };
        if (t.text === 'struct' || t.text === 'union' || t.text === 'enum') {
          throw new SyntaxFailure('parse.unexpected-token', `syntax error, unexpected ${t.text}`, this.tokenSpan(t), [
            `a ${t.text} type can appear only in a cast, e.g. (${t.text} name *)arg0`,
          ]);
        }
        return { kind: 'Identifier', name: t.text, span: this.tokenSpan(t) };
      }
      default:
        throw this.unexpected('an expression');
    }
  }

  /** Set by exprList when the list ended with `,` before the closer: `(a,)` is a 1-tuple. */
  private trailingCommaTuple = false;

  /** Comma-separated expressions up to `close` (consumed). */
  private exprList(close: string): Expr[] {
    const items: Expr[] = [];
    this.trailingCommaTuple = false;
    const saved = this.slashEndsExpr;
    this.slashEndsExpr = false;
    try {
      if (this.isPunct(close)) {
        this.advance();
        return items;
      }
      for (;;) {
        items.push(this.expr());
        if (this.isPunct(',')) {
          this.advance();
          if (this.isPunct(close)) {
            this.advance();
            this.trailingCommaTuple = items.length === 1;
            return items;
          }
          continue;
        }
        if (this.isPunct(close)) {
          this.advance();
          this.trailingCommaTuple = false;
          return items;
        }
        throw this.unexpected(`${close} or ","`);
      }
    } finally {
      this.slashEndsExpr = saved;
    }
  }

  /** Arguments of sizeof/offsetof: the first may be a type. */
  private typeArgs(): Expr[] {
    const args: Expr[] = [];
    const saved = this.slashEndsExpr;
    this.slashEndsExpr = false;
    try {
      if (this.accept(')')) return args;
      for (;;) {
        const t = this.cur;
        let isType = false;
        if (args.length === 0 && t.kind === 'ident') {
          if (t.text === 'struct' || t.text === 'union' || t.text === 'enum' || KNOWN_TYPE_NAMES.has(t.text)) isType = true;
          else if (!isBuiltinName(t.text) && !KEYWORDS.has(t.text)) {
            const m = this.mark();
            this.advance();
            isType = this.isPunct('*');
            this.restore(m);
          }
        }
        if (isType) {
          const type = this.typeRef();
          args.push({ kind: 'TypeExpr', type, span: type.span });
        } else {
          args.push(this.expr());
        }
        if (this.accept(',')) continue;
        this.expect(')');
        return args;
      }
    } finally {
      this.slashEndsExpr = saved;
    }
  }
}

/** Parses one bpftrace source text. At most one (the first) syntax error is reported. */
export function parseSource(source: string): { program?: Program; diagnostics: Diagnostic[] } {
  const p = new Parser(source);
  try {
    return { program: p.parseProgram(), diagnostics: [] };
  } catch (e) {
    if (e instanceof SyntaxFailure) {
      const d: Diagnostic = {
        code: e.code,
        severity: 'error',
        stage: 'parse',
        message: e.message,
        span: e.span,
        ...(e.hints.length > 0 ? { hints: e.hints } : {}),
      };
      return { diagnostics: [d] };
    }
    if (e instanceof RangeError) {
      // The stack ran out below MAX_NESTING (a small stack): still the program's problem, not ours.
      return { diagnostics: [{ code: 'parse.too-deep', severity: 'error', stage: 'parse', message: `the program nests too deeply to parse (${e.message})` }] };
    }
    throw e;
  }
}

/** The identifier at the end of `text` (ignoring trailing spaces), or ''. Linear: no regex scan. */
function lastIdentifier(text: string): string {
  const t = text.trimEnd();
  let i = t.length;
  while (i > 0 && /\w/.test(t[i - 1] ?? '')) i--;
  const id = t.slice(i);
  return /^[A-Za-z_]/.test(id) ? id : '';
}
