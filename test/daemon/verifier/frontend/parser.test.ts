/**
 * Table-driven parser tests: accepted syntax (checked through the AST and the canonical printing),
 * rejected syntax (message and exact span), and the print/parse round trip over the fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { formatDiagnostic, type Span } from '../../../../daemon/protocol/diagnostic.js';
import {
  astDiff,
  astEqual,
  collect,
  parse,
  printExpr,
  printProgram,
  printStatement,
  stripAnnotations,
  type Expr,
  type Program,
  type Stmt,
} from '../../../../daemon/verifier/frontend/index.js';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/verifier/frontend');

function mustParse(src: string): Program {
  const r = parse(src, 'test.bt');
  if (!r.program) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, 'test.bt', src)).join('\n'));
  return r.program;
}

function stmts(body: string): readonly Stmt[] {
  return mustParse(`BEGIN { ${body} }`).probes[0]!.body.statements;
}

function expr(text: string): Expr {
  const s = stmts(`$__e = ${text};`)[0]!;
  if (s.kind !== 'AssignStmt') throw new Error('not an assignment');
  return s.value;
}

function spanText(s: Span | undefined): string {
  if (!s) return '<none>';
  return s.endLine === s.line ? `${s.line}:${s.column}-${s.endColumn}` : `${s.line}:${s.column}-${s.endLine}:${s.endColumn}`;
}

/** Statement text -> canonical printing (same text when it is already canonical). */
const STATEMENTS: ReadonlyArray<[string, string?]> = [
  ['$x = 1;'],
  ['$x = 0x5000;'],
  ['$x = 1_000_000;'],
  ['$x = 1e6;'],
  ['@m[tid] = nsecs;'],
  ['@m[pid, comm] = count();'],
  ['@ = hist($x);'],
  ['@m[comm]++;'],
  ['$i += 2;'],
  ['$i <<= 1;'],
  ['$i >>= 1;'],
  ['$i %= 3;'],
  ['--$i;'],
  ['$x = (struct sock *)arg0;'],
  ['$x = (struct sock*) arg0;', '$x = (struct sock *)arg0;'],
  ['$x = (uint16)$y;'],
  ['$x = (uint16)($y >> 8);'],
  ['$x = ((struct sock *)arg0)->sk_state;'],
  ['$x = (struct sock *)arg0->sk;'],
  ['$x = *(uint32 *)arg1;'],
  ['$x = &$y;'],
  ['$x = - -1;'],
  ['$x = -(-1);', '$x = - -1;'],
  ['$x = !(a && b);'],
  ['$x = (1 + 2) * 3;'],
  ['$x = 1 + 2 * 3;'],
  ['$x = 1 - (2 - 3);'],
  ['$x = (1 - 2) - 3;', '$x = 1 - 2 - 3;'],
  ['$x = a || b && c;'],
  ['$x = (a || b) && c;'],
  ['$x = 1 << 2 + 3;'],
  ['$x = $a & 0xff == 0;'],
  ['$x = ($a & 0xff) == 0;'],
  ['$x = $c ? 1 : 2;'],
  ['$x = $c ? 1 : $d ? 2 : 3;'],
  ['$x = ($c ? 1 : 2) ? 3 : 4;'],
  ['$x = args->filename;'],
  ['$x = args.filename;'],
  ['$x = $sk->__sk_common.skc_dport;'],
  ['$x = $a[2]->b.c[3];'],
  ['$x = (1, "two", $three);'],
  ['$x = $t.0;'],
  ['$x = $1 + $#;'],
  ['$x = true;'],
  ['$x = "a\\tb\\"c\\x41\\101\\n";'],
  ['printf("%s %d\\n", str(args->filename), pid);'],
  ['printf("%d\\n", sizeof(struct sock));'],
  ['printf("%d\\n", offsetof(struct sock, sk_dport));'],
  ['@s[kstack(perf, 3), ustack] = count();'],
  ['delete(@start[tid]);'],
  ['delete(@start, tid);'],
  ['exit();'],
  ['if ($x) {\n} else if ($y) {\n  $z = 1;\n} else {\n  $z = 2;\n}'],
  ['if ($x) { $y = 1 }', 'if ($x) {\n  $y = 1;\n}'],
  ['unroll(3) { $i++ }', 'unroll (3) {\n  $i++;\n}'],
  ['while ($i < 10) { $i++; if ($i == 5) { break; } continue; }', 'while ($i < 10) {\n  $i++;\n  if ($i == 5) {\n    break;\n  }\n  continue;\n}'],
  ['for ($kv : @m) { print($kv.0); }', 'for ($kv : @m) {\n  print($kv.0);\n}'],
  ['for ($i : 0..10) { }', 'for ($i : 0..10) {\n}'],
  ['return;'],
  ['let $x: uint32 = 5;'],
  ['let $y;'],
  ['assume(args->dport != 0);'],
  ['assert($dport == bswap(args->dport));'],
  ['assert(printed(0) == mapval(@m) && mapkey(@m, 1) == comm);'],
];

t.test('statements parse and print canonically', async (t) => {
  for (const [src, canonical] of STATEMENTS) {
    const printed = stmts(src).map((s) => printStatement(s)).join('\n');
    t.equal(printed, canonical ?? src, src);
  }
});

t.test('operator precedence and associativity follow C', async (t) => {
  const cases: ReadonlyArray<[string, string]> = [
    // source -> fully parenthesised structure
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 - 2 - 3', '((1 - 2) - 3)'],
    ['a || b && c', '(a || (b && c))'],
    ['a | b ^ c & d', '(a | (b ^ (c & d)))'],
    ['a == b < c', '(a == (b < c))'],
    ['a < b << c', '(a < (b << c))'],
    ['a << b + c', '(a << (b + c))'],
    ['-a * b', '((-a) * b)'],
    ['!a == b', '((!a) == b)'],
    ['*$p->f', '(*($p->f))'],
    ['(uint8)$x + 1', '(((uint8)$x) + 1)'],
    ['a ? b : c ? d : e', '(a ? b : (c ? d : e))'],
    ['a && b ? c : d', '((a && b) ? c : d)'],
  ];
  const paren = (e: Expr): string => {
    switch (e.kind) {
      case 'Binary':
        return `(${paren(e.left)} ${e.op} ${paren(e.right)})`;
      case 'Unary':
        return `(${e.op}${paren(e.operand)})`;
      case 'Ternary':
        return `(${paren(e.condition)} ? ${paren(e.then)} : ${paren(e.else)})`;
      case 'Cast':
        return `((${e.type.name})${paren(e.operand)})`;
      case 'Field':
        return `(${paren(e.object)}${e.arrow ? '->' : '.'}${e.field})`;
      default:
        return printExpr(e);
    }
  };
  for (const [src, want] of cases) t.equal(paren(expr(src)), want, src);
});

t.test('literals keep raw text and value', async (t) => {
  const ints: ReadonlyArray<[string, bigint]> = [
    ['0x5000', 0x5000n],
    ['20480', 20480n],
    ['1_000_000', 1000000n],
    ['1e6', 1000000n],
    ['010', 8n],
    ['0b101', 5n],
    ['18446744073709551615', 18446744073709551615n],
  ];
  for (const [raw, value] of ints) {
    const e = expr(raw);
    t.same(e.kind === 'Integer' ? [e.raw, e.value] : e.kind, [raw, value], raw);
  }
  const s = expr('"a\\tb\\"c\\x41\\101\\n"');
  t.same(s.kind === 'String' ? s.value : s.kind, 'a\tb"cAA\n', 'string escapes decoded');
});

t.test('casts, builtins, identifiers and positional parameters', async (t) => {
  const c = expr('(struct sock *)arg0');
  t.same(c.kind === 'Cast' ? [c.type.name, c.type.pointerLevel, c.operand.kind] : c.kind, ['struct sock', 1, 'Builtin']);
  const u = expr('(unsigned int)$x');
  t.same(u.kind === 'Cast' ? u.type.name : u.kind, 'unsigned int');
  t.equal(expr('(x) - 1').kind, 'Binary', '(identifier) - 1 is a subtraction, not a cast');
  t.equal(expr('(my_t)$x').kind, 'Cast', '(typedef) followed by an operand is a cast');
  for (const b of ['pid', 'tid', 'comm', 'nsecs', 'elapsed', 'cpu', 'uid', 'gid', 'username', 'curtask', 'rand', 'ctx', 'args', 'arg0', 'arg12', 'retval', 'func', 'probe', 'kstack', 'ustack', 'cgroup', 'sarg3', 'jiffies', 'ncpus', 'numaid', 'cpid']) {
    t.same(expr(b), { kind: 'Builtin', name: b, span: expr(b).span }, `builtin ${b}`);
  }
  t.equal(expr('AF_INET').kind, 'Identifier');
  t.same(expr('$3'), { kind: 'Positional', index: 3, span: expr('$3').span });
  t.equal(expr('$#').kind, 'PositionalCount');
  const m = expr('@m[1, comm]');
  t.same(m.kind === 'Map' ? [m.name, m.keys.length] : m.kind, ['@m', 2]);
  const a = expr('@');
  t.same(a.kind === 'Map' ? [a.name, a.keys.length] : a.kind, ['@', 0]);
  const sz = expr('sizeof(struct sock)');
  t.same(sz.kind === 'Call' ? sz.args.map((x) => x.kind) : sz.kind, ['TypeExpr']);
});

t.test('attach points', async (t) => {
  const p = mustParse(
    'tracepoint:syscalls:sys_enter_open*, t:sched:sched_switch,\n  uprobe:/bin/bash:readline, uretprobe:"/opt/my app/bin":main, usdt:/lib/x.so:prov:probe, ' +
      'kprobe:tcp_*, kprobe:lookup_fast.constprop.*, profile:hz:99, interval:s:1, software:faults:1, fentry:vfs_read, BEGIN { }',
  );
  const got = p.probes[0]!.attachPoints.map((a) => [a.provider, a.providerText, a.target, a.wildcard, a.raw]);
  t.same(got, [
    ['tracepoint', 'tracepoint', ['syscalls', 'sys_enter_open*'], true, 'tracepoint:syscalls:sys_enter_open*'],
    ['tracepoint', 't', ['sched', 'sched_switch'], false, 't:sched:sched_switch'],
    ['uprobe', 'uprobe', ['/bin/bash', 'readline'], false, 'uprobe:/bin/bash:readline'],
    ['uretprobe', 'uretprobe', ['/opt/my app/bin', 'main'], false, 'uretprobe:"/opt/my app/bin":main'],
    ['usdt', 'usdt', ['/lib/x.so', 'prov', 'probe'], false, 'usdt:/lib/x.so:prov:probe'],
    ['kprobe', 'kprobe', ['tcp_*'], true, 'kprobe:tcp_*'],
    ['kprobe', 'kprobe', ['lookup_fast.constprop.*'], true, 'kprobe:lookup_fast.constprop.*'],
    ['profile', 'profile', ['hz', '99'], false, 'profile:hz:99'],
    ['interval', 'interval', ['s', '1'], false, 'interval:s:1'],
    ['software', 'software', ['faults', '1'], false, 'software:faults:1'],
    ['kfunc', 'fentry', ['vfs_read'], false, 'fentry:vfs_read'],
    ['BEGIN', 'BEGIN', [], false, 'BEGIN'],
  ]);
  const sp = p.probes[0]!.attachPoints[2]!.span;
  t.equal(spanText(sp), '2:3-27', 'attach point span');
});

t.test('predicates', async (t) => {
  const p = mustParse('kprobe:f /pid == 1 && comm == "bash"/ { }\nkprobe:g /(nsecs / 2) > 1/ { }\nBEGIN/$1/{ }');
  t.equal(printExpr(p.probes[0]!.predicate!), 'pid == 1 && comm == "bash"');
  t.equal(printExpr(p.probes[1]!.predicate!), 'nsecs / 2 > 1');
  t.match(printProgram(p), /\/\(nsecs \/ 2 > 1\)\//, 'a division in a predicate is printed inside parentheses');
  t.equal(p.probes[2]!.predicate?.kind, 'Positional');
  const tight = mustParse('tracepoint:syscalls:sys_enter_open*/pid == 1/{ }\nuprobe:/bin/bash:readline /pid/ { }');
  t.same(tight.probes.map((x) => [x.attachPoints[0]!.raw, printExpr(x.predicate!)]), [
    ['tracepoint:syscalls:sys_enter_open*', 'pid == 1'],
    ['uprobe:/bin/bash:readline', 'pid'],
  ], 'a predicate may follow an attach point without a space unless the attach point holds a path');
});

t.test('preamble: includes, preprocessor lines, definitions, config', async (t) => {
  const src = readFileSync(join(FIXTURES, 'all-constructs.bt'), 'utf8');
  const p = mustParse(src);
  t.same(p.includes.map((i) => [i.path, i.system]), [['linux/sched.h', true], ['local.h', false]]);
  t.same(p.definitions.map((d) => [d.keyword, d.name]), [['struct', 'conn_info'], ['union', 'addr'], ['enum', 'state']]);
  t.match(p.definitions[0]!.text, /^struct conn_info \{[\s\S]*\};$/);
  t.same(p.preamble.map((x) => x.kind), ['Include', 'Include', 'Preprocessor', 'Preprocessor', 'Preprocessor', 'CDefinition', 'CDefinition', 'CDefinition']);
  t.same(p.config?.entries.map((e) => [e.key, printExpr(e.value)]), [['max_map_keys', '4096'], ['stack_mode', 'perf']]);
});

t.test('spans are line:column with an inclusive end', async (t) => {
  const p = mustParse('BEGIN\n{\n  $x = (nsecs - @s[tid]) / 1000;\n}');
  const st = p.probes[0]!.body.statements[0]!;
  t.equal(spanText(st.span), '3:3-31');
  if (st.kind === 'AssignStmt') {
    t.equal(spanText(st.target.span), '3:3-4');
    t.equal(spanText(st.value.span), '3:8-31');
    const m = collect(st, 'Map')[0]!;
    t.equal(spanText(m.span), '3:17-23');
  }
  t.equal(spanText(p.probes[0]!.span), '1:1-4:1');
});

/** Bad programs: [source, message, span, code?]. */
const ERRORS: ReadonlyArray<[string, string, string, string?]> = [
  ['BEGIN { printf("hi") ', 'syntax error, unexpected end of file, expecting ; or }', '1:22-22'],
  ['kprobe:f { $x = 1 +; }', 'syntax error, unexpected ;, expecting an expression', '1:20-20'],
  ['BEGIN { $x = 1 $y = 2; }', 'syntax error, unexpected variable $y, expecting ; or }', '1:16-17'],
  ['BEGIN { if $x { } }', 'syntax error, unexpected variable $x, expecting (', '1:12-13'],
  ['BEGIN { if ($x) { } else }', 'syntax error, unexpected }, expecting { or if', '1:26-26'],
  ['BEGIN { $x = (struct sock *; }', 'syntax error, unexpected ;, expecting ) to close the cast', '1:28-28'],
  ['BEGIN { @x[] = 1; }', 'a map key cannot be empty', '1:9-12'],
  ['BEGIN { 1 = 2; }', 'only $variables and @maps can be assigned to', '1:9-9', 'parse.bad-assignment'],
  ['kprobe:f /pid/ }', 'syntax error, unexpected }, expecting {', '1:16-16'],
  ['kprobe:f /pid { }', 'syntax error, unexpected {, expecting / to end the predicate', '1:15-15'],
  ['BEGIN { $x = "\\q"; }', "invalid escape sequence '\\q'", '1:15-16', 'parse.bad-escape'],
  ['BEGIN { $x = "abc }', 'unterminated string', '1:14-19', 'parse.invalid-token'],
  ['BEGIN /* x', 'unterminated comment', '1:7-8'],
  ['foo:bar { }', 'Invalid probe type: foo', '1:1-7', 'parse.invalid-probe'],
  ['BEGIN:x { }', 'BEGIN probes take no arguments', '1:1-7'],
  ['kprobe { }', 'kprobe probe type requires an attach point (e.g. kprobe:...)', '1:1-6'],
  ['kprobe:a, { }', "syntax error, unexpected {, expecting an attach point", '1:11-11'],
  ['BEGIN { $x = 12abc; }', "invalid integer literal '12abc'", '1:14-18'],
  ['BEGIN { $x = 1 ? 2; }', 'syntax error, unexpected ;, expecting :', '1:19-19'],
  ['BEGIN { $x = pid # 2; }', "invalid character '#'", '1:18-18'],
  ['BEGIN { assert($x, "msg"); }', 'assert() takes exactly one expression', '1:18-18', 'parse.annotation-arity'],
  ['BEGIN { $x = assert($y); }', 'assert(...) is a statement, not an expression', '1:14-19', 'parse.annotation-position'],
  ['BEGIN { if (assume(1)) { } }', 'assume(...) is a statement, not an expression', '1:13-18'],
  ['BEGIN { $x = struct; }', 'syntax error, unexpected struct', '1:14-19'],
  ['BEGIN { $x = if; }', 'syntax error, unexpected if, expecting an expression', '1:14-15'],
  ['', 'the program has no probes', '1:1-1', 'parse.no-probes'],
  ['// only a comment\n', 'the program has no probes', '2:1-1'],
  ['macro add(a, b) { a + b }\nBEGIN { }', "'macro' definitions (newer bpftrace) are not supported", '1:1-5', 'parse.unsupported'],
  ['import "foo";\nBEGIN { }', "'import' (newer bpftrace) is not supported", '1:1-6', 'parse.unsupported'],
  ['fn f(): int { return 1; }\nBEGIN { }', "user functions ('fn', newer bpftrace) are not supported", '1:1-2', 'parse.unsupported'],
  ['BEGIN { }\n#include <x.h>\n', 'preprocessor directives must come before the probes', '2:1-14'],
  ['BEGIN\n{\n  $x = 1;\n  @y[tid] = ;\n}', 'syntax error, unexpected ;, expecting an expression', '4:13-13'],
  ['struct x { int a;\nBEGIN { }', 'unterminated struct definition', '1:1-6'],
];

t.test('syntax errors: message, span, stage, rendering', async (t) => {
  for (const [src, message, span, code] of ERRORS) {
    const r = parse(src, 'bad.bt');
    t.equal(r.program, undefined, `${JSON.stringify(src)} has no program`);
    t.equal(r.diagnostics.length, 1, 'one diagnostic');
    const d = r.diagnostics[0]!;
    t.same([d.message, spanText(d.span), d.severity, d.stage], [message, span, 'error', 'parse'], JSON.stringify(src));
    if (code) t.equal(d.code, code);
  }
  const src = 'kprobe:f { $x = 1 +; }';
  t.equal(
    formatDiagnostic(parse(src).diagnostics[0]!, 'stdin', src),
    'stdin:1:20-20: ERROR: syntax error, unexpected ;, expecting an expression\nkprobe:f { $x = 1 +; }\n                   ~',
  );
});

t.test('astEqual ignores spans and comments, sees everything else', async (t) => {
  const a = mustParse('BEGIN { $x = 0x10; }');
  const b = mustParse('// a comment\nBEGIN\n{\n    $x   =   0x10 ;\n}\n');
  t.ok(astEqual(a, b));
  t.notOk(astEqual(a, mustParse('BEGIN { $x = 16; }')), 'raw integer text matters');
  t.notOk(astEqual(a, mustParse('BEGIN { $x += 0x10; }')));
  t.notOk(astEqual(mustParse('BEGIN { $x = 1 - 2 - 3; }'), mustParse('BEGIN { $x = 1 - (2 - 3); }')));
});

t.test('stripAnnotations removes assume/assert at any depth, on the AST', async (t) => {
  const annotated = mustParse(`kprobe:f /pid == 1/ {
  assume(arg0 > 0);
  $x = arg0;
  if ($x > 1) { assert($x > 1); $y = 1; } else { assert(1); }
  while ($x < 3) { assert($x < 3); $x++; }
  printf("%d\\n", $x);
  assert(printed(0) == $x);
}`);
  const candidate = mustParse('kprobe:f /pid == 1/ { $x = arg0; if ($x > 1) { $y = 1; } else { } while ($x < 3) { $x++; } printf("%d\\n", $x); }');
  const stripped = stripAnnotations(annotated);
  t.equal(astDiff(stripped, candidate), undefined);
  t.equal(collect(annotated, 'AssertStmt').length, 4, 'the input is not modified');
  t.equal(printProgram(stripped), printProgram(candidate));
  // An `assert` identifier that is not a call statement is left alone.
  t.ok(astEqual(stripAnnotations(mustParse('BEGIN { $assert = 1; }')), mustParse('BEGIN { $assert = 1; }')));
});

t.test('round trip over every fixture', async (t) => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.bt'));
  t.ok(files.length > 0);
  for (const f of files) {
    const src = readFileSync(join(FIXTURES, f), 'utf8');
    const p1 = mustParse(src);
    const printed = printProgram(p1);
    const p2 = mustParse(printed);
    t.equal(astDiff(p1, p2), undefined, `${f}: parse(print(ast)) == ast`);
    t.equal(printProgram(p2), printed, `${f}: printing is idempotent`);
  }
});

t.test('round trip over generated expressions', async (t) => {
  // Every pair of binary operators in both nestings, with unary and cast operands.
  const ops = ['||', '&&', '|', '^', '&', '==', '!=', '<', '<=', '>', '>=', '<<', '>>', '+', '-', '*', '/', '%'];
  const leaves = ['$a', '-$b', '(uint8)$c', '!$d', '*$e', 'f($g)', '@m[1]', '$h->i', '$c ? 1 : 2'];
  let n = 0;
  for (const o1 of ops) {
    for (const o2 of ops) {
      const leaf = leaves[n++ % leaves.length]!;
      for (const src of [`(${leaf} ${o1} $x) ${o2} $y`, `${leaf} ${o1} ($x ${o2} $y)`]) {
        const p1 = mustParse(`BEGIN { $r = ${src}; }`);
        const p2 = mustParse(printProgram(p1));
        if (astDiff(p1, p2)) t.fail(`${src}: ${astDiff(p1, p2)}`);
      }
    }
  }
  t.pass(`checked ${ops.length * ops.length * 2} expressions`);
});
