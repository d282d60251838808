/**
 * What the synthesis and comprehension prompts say about the bpftrace language of this host: the
 * syntax its version has, what it refuses, and the integer rules that change what a program means.
 * Every line is derived from the dialect profile kgent verifies under (`verifier/dialect/`), never
 * written per prompt, so a prompt cannot promise what the verifier would refuse. The code each line
 * shows is checked per version by test/pipeline/dialect-facts.test.ts: under the verifier's
 * front-end and acceptance rules, and on the real bpftrace binaries of test/dialects.
 */
import { hasBuiltin, hasFunction, type Dialect } from '../verifier/dialect/index.js';
import { NEWER_BUILTINS, NEWER_FUNCTIONS } from '../verifier/dialect/profiles.js';

/** A piece of code a line shows, and a whole program around it (for checking it). */
export interface DialectSnippet {
  /** The code exactly as the prompt shows it. */
  readonly code: string;
  /** A complete program holding `code`. */
  readonly program: string;
  /** True: the version compiles it (syntax offered); false: it refuses it (the line says not to write it). */
  readonly accepted: boolean;
}

export interface DialectLine {
  readonly text: string;
  readonly snippets: readonly DialectSnippet[];
}

function inBegin(code: string): string {
  return `BEGIN { ${code} exit(); }\n`;
}

const LET: DialectSnippet = { code: 'let $n = 0;', program: inBegin('let $n = 0; printf("%d\\n", $n);'), accepted: true };
const TYPED_LET: DialectSnippet = { code: 'let $b: uint8 = (uint8)7;', program: inBegin('let $b: uint8 = (uint8)7; printf("%d\\n", $b);'), accepted: true };
const FOR_MAP_CODE = 'for ($kv : @m) { printf("%d %d\\n", $kv.0, $kv.1); }';
const FOR_MAP: DialectSnippet = { code: FOR_MAP_CODE, program: inBegin(`@m[1] = 2; ${FOR_MAP_CODE}`), accepted: true };
const FOR_RANGE_CODE = 'for ($i : 0..5) { printf("%d\\n", $i); }';
const FOR_RANGE: DialectSnippet = { code: FOR_RANGE_CODE, program: inBegin(FOR_RANGE_CODE), accepted: true };
const CONFIG_CODE = 'config = { max_map_keys = 8192 }';
const CONFIG: DialectSnippet = { code: CONFIG_CODE, program: `${CONFIG_CODE}\nBEGIN { exit(); }\n`, accepted: true };
const BOOL: DialectSnippet = { code: '$on = true;', program: inBegin('$on = true; if ($on) { printf("on\\n"); }'), accepted: true };
const WHILE_CODE = 'while ($i < 5) { $i++; if ($i == 4) { break; } }';
const WHILE: DialectSnippet = { code: WHILE_CODE, program: inBegin(`$i = 0; ${WHILE_CODE}`), accepted: true };
const WIDE_FIRST: DialectSnippet = { code: '$x = (uint64)0;', program: inBegin('$x = (uint64)0; $x = 300; printf("%d\\n", $x);'), accepted: true };

/** `s` refused, shown as `code` (the construct the line names). */
function refused(s: DialectSnippet, code: string): DialectSnippet {
  return { ...s, code, accepted: false };
}

const IF_SCOPE_CODE = 'if (pid > 0) { $y = 1; } printf("%d\\n", $y);';
const NARROWING_CODE = '$x = (uint8)1; $x = 300;';
const TYPED_LET_LITERAL = 'let $b: uint8 = 7;';
const FOR_BREAK_CODE = 'for ($kv : @m) { break; }';

/** The syntax this version has beyond 0.17's, each with its code. */
function syntaxLine(d: Dialect): DialectLine | undefined {
  const parts: string[] = [];
  const snippets: DialectSnippet[] = [];
  if (d.letDeclarations) {
    parts.push(`declarations \`${LET.code}\`, typed \`${TYPED_LET.code}\``);
    snippets.push(LET, TYPED_LET);
  }
  if (d.forMap) {
    parts.push(`map loops \`${FOR_MAP.code}\``);
    snippets.push(FOR_MAP);
  }
  if (d.forRange) {
    parts.push(`range loops \`${FOR_RANGE.code}\``);
    snippets.push(FOR_RANGE);
  }
  if (d.configBlock) {
    parts.push(`\`${CONFIG.code}\` before the probes`);
    snippets.push(CONFIG);
  }
  if (d.boolType) {
    parts.push(`bool literals \`${BOOL.code}\``);
    snippets.push(BOOL);
  }
  if (parts.length === 0) return undefined;
  return { text: `Syntax of this version: ${parts.join('; ')}.`, snippets };
}

/** What this version refuses that a model trained on other versions may write. */
function refusedLine(d: Dialect): DialectLine | undefined {
  const parts: string[] = [];
  const snippets: DialectSnippet[] = [];
  if (!d.letDeclarations) {
    parts.push(`\`let\` (just assign: \`$n = 0;\`)`);
    snippets.push(refused(LET, '`let`'));
  }
  if (!d.forMap) {
    parts.push(`\`for\` loops (use \`unroll(N)\` or \`while\`)`);
    snippets.push(refused(FOR_MAP, '`for` loops'));
  } else if (!d.forRange) {
    parts.push(`range loops \`for ($i : 0..5)\` (use \`while\`)`);
    snippets.push(refused(FOR_RANGE, 'for ($i : 0..5)'));
  }
  if (!d.configBlock) {
    parts.push(`\`config = { ... }\` blocks`);
    snippets.push(refused(CONFIG, 'config = { ... }'));
  }
  if (d.typedLetLiteralRefused) {
    parts.push(`\`${TYPED_LET_LITERAL}\` (cast the literal: \`(uint8)7\`)`);
    snippets.push({ code: TYPED_LET_LITERAL, program: inBegin(TYPED_LET_LITERAL), accepted: false });
  }
  if (d.blockScoping) {
    parts.push(`reading a variable after the \`if\`/loop block that first assigned it (\`${IF_SCOPE_CODE}\`): assign it before the block`);
    snippets.push({ code: IF_SCOPE_CODE, program: `tracepoint:sched:sched_process_exec { ${IF_SCOPE_CODE} exit(); }\n`, accepted: false });
  }
  if (d.strictVariableAssignment) {
    const sign = d.signMismatchRefused ? ' or of the other signedness' : '';
    parts.push(`assigning a variable a wider integer${sign} than its first value (\`${NARROWING_CODE}\`): make the first value the widest, \`${WIDE_FIRST.code}\``);
    snippets.push({ code: NARROWING_CODE, program: inBegin(NARROWING_CODE), accepted: false }, WIDE_FIRST);
  }
  if (d.exitInLoopRefused) parts.push(d.exitInIfInWhileAllowed ? '`exit()` inside a `for` body, or directly in a `while` body' : '`exit()` inside a loop body');
  if (d.loopControlInForRefused) {
    parts.push(`\`break\`/\`continue\` anywhere inside a \`for\` body (\`${FOR_BREAK_CODE}\`)`);
    snippets.push({ code: FOR_BREAK_CODE, program: inBegin(`@m[1] = 2; ${FOR_BREAK_CODE}`), accepted: false });
  }
  if (parts.length === 0) return undefined;
  return { text: `bpftrace ${d.version} refuses: ${parts.join('; ')}.`, snippets };
}

/** The integer rules that change what a program computes. */
function typesLine(d: Dialect): DialectLine {
  const parts: string[] = [d.pidTid32 ? '`pid` and `tid` are uint32' : '`pid` and `tid` are 64-bit'];
  const snippets: DialectSnippet[] = [];
  if (!d.strictVariableAssignment) {
    if (d.integerModel === 'widen-to-64') {
      parts.push(`a variable keeps the type of its first value: a wider value assigned later is silently lost, so make the first value wide enough (\`${WIDE_FIRST.code}\`)`);
      snippets.push(WIDE_FIRST);
    } else parts.push('a variable widens to hold a wider value assigned later');
  }
  switch (d.integerModel) {
    case 'widen-to-64':
      parts.push('integer arithmetic is done in 64 bits');
      break;
    case 'wider-operand':
      parts.push('arithmetic on two integers narrower than 64 bits keeps the wider width and wraps (`(uint8)200 + (uint8)100` is 44): cast one operand to uint64');
      break;
    case 'unmodelled-narrow':
      parts.push('integers narrower than 64 bits are not promoted: cast them to uint64 before arithmetic or comparison, or kgent cannot verify it');
      break;
  }
  if (d.smallLiterals) parts.push('an integer literal takes the smallest type that holds it');
  else if (d.wideLiteralsUnsigned) parts.push('a literal above 2147483647 is uint64');
  if (d.subtractionSigned) parts.push('`a - b` is int64');
  if (d.strLimit === 'chars') parts.push('`str(p, n)` keeps n characters');
  else if (d.strLimit === 'with-nul') parts.push('`str(p, n)` keeps n-1 characters (n counts the NUL)');
  return { text: `Types: ${parts.join('; ')}.`, snippets };
}

/** The builtins and functions of newer versions this one lacks (a model may know them). */
function namesLine(d: Dialect): DialectLine | undefined {
  const lacks = [...[...NEWER_BUILTINS].filter((b) => !hasBuiltin(d, b)), ...[...NEWER_FUNCTIONS].filter((f) => !hasFunction(d, f)).map((f) => `${f}()`)];
  return lacks.length ? { text: `Not in bpftrace ${d.version} (never use): ${lacks.join(', ')}.`, snippets: [] } : undefined;
}

/** Loops every version has (`while` is deprecated from 0.27 but compiles). */
function loopLine(d: Dialect): DialectLine {
  return { text: `Loops: \`${WHILE.code}\` (break, continue)${d.forRange ? ', deprecated: prefer range loops' : ''}; \`unroll(N) { ... }\`.`, snippets: [WHILE] };
}

/** The lines, in the order the prompt shows them. */
export function dialectLines(d: Dialect): DialectLine[] {
  return [syntaxLine(d), loopLine(d), refusedLine(d), typesLine(d), namesLine(d)].filter((l): l is DialectLine => l !== undefined);
}

/** The lines as prompt text, one `- ` item each (the template puts the first after its own `- `). */
export function dialectFactsText(d: Dialect): string {
  return dialectLines(d)
    .map((l) => l.text)
    .join('\n- ');
}
