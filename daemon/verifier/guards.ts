/**
 * Guards against a lazy or adversarial comprehension step (DESIGN.md section 4), the syntactic
 * ones: the annotations must not change the program, `assume` may constrain only inputs, and the
 * observables `printed`/`mapkey`/`mapval` exist only inside annotations. The semantic guards
 * (vacuous assumptions, trivial assertions) need the solver and live in `verify.ts`.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { Expr, Node, Program } from './frontend/ast.js';
import { astDiff, astEqual, OBSERVABLES, stripAnnotations, walk } from './frontend/index.js';

/**
 * `stripAnnotations(annotated)` must equal `candidate` (spans, comments and layout aside).
 * Returns one `guard.annotations-changed-program` error when it does not.
 */
export function checkAnnotationsOnly(annotated: Program, candidate: Program): Diagnostic[] {
  const stripped = stripAnnotations(annotated);
  if (astEqual(stripped, candidate)) return [];
  const where = astDiff(stripped, candidate);
  return [
    {
      code: 'guard.annotations-changed-program',
      severity: 'error',
      stage: 'guard',
      message: 'the annotated program is not the candidate plus assume()/assert() statements: the annotations changed the code',
      hints: ['insert only assume(...); and assert(...); statements; leave every other token of the candidate as it is'],
      ...(where ? { detail: `first difference (annotated minus annotations vs candidate): ${where}` } : {}),
    },
  ];
}

/**
 * `assume(EXPR)` may mention only inputs: builtins, `args`, kernel fields, casts and map contents.
 * `$vars` (the program assigns them) and the observables are computed values. Observables outside
 * `assume`/`assert` are errors too: they are not bpftrace.
 */
export function checkAnnotationPlacement(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  walk(program, {
    enter(node: Node, ancestors: readonly Node[]) {
      if (node.kind === 'AssumeStmt' || node.kind === 'AssertStmt') out.push(...sideEffects(node.expr, node.kind === 'AssumeStmt' ? 'assume' : 'assert'));
      // cover(HOOK, COND) selects events by their inputs, exactly like an assume at the probe's start.
      if (node.kind === 'AssumeStmt' || node.kind === 'CoverStmt') {
        const what = node.kind === 'AssumeStmt' ? 'assume()' : 'the condition of cover()';
        const constrained = node.kind === 'AssumeStmt' ? node.expr : node.condition;
        for (const bad of constrained ? computedRefs(constrained) : []) {
          out.push({
            code: 'guard.assume-computed',
            severity: 'error',
            stage: 'guard',
            message: `${what} constrains ${describe(bad)}, a value the program computes; it may constrain only inputs (args, builtins, kernel fields, map contents before this invocation)`,
            span: bad.span,
            hints: [
              bad.kind === 'Variable'
                ? `write the assumption over the input ${bad.name} is computed from, or assert it instead`
                : 'assert properties of what the program prints or stores; assume only what holds of its inputs',
            ],
          });
        }
        return false;
      }
      if (node.kind === 'AssertStmt') return false;
      if (node.kind === 'Call' && OBSERVABLES.includes(node.callee)) {
        const inProbe = ancestors.some((a) => a.kind === 'Probe');
        out.push({
          code: 'guard.observable-outside-annotation',
          severity: 'error',
          stage: 'guard',
          message: `${node.callee}() may appear only inside assert() or assume()${inProbe ? '' : ' (it is used outside any probe body)'}`,
          span: node.span,
        });
      }
      return undefined;
    },
  });
  return out;
}

/** Calls that change state or output: they have no place in an annotation. */
const EFFECT_CALLS = new Set(['printf', 'print', 'delete', 'clear', 'zero', 'exit', 'system', 'signal', 'override', 'cat', 'time', 'join', 'debugf', 'errorf', 'warnf']);

/**
 * Annotations must not change the program: an `@m++` or `$i++` inside `assert`/`assume` would run
 * (in the model) where the real program does nothing, so it is rejected rather than modelled.
 */
function sideEffects(e: Expr, where: 'assume' | 'assert'): Diagnostic[] {
  const out: Diagnostic[] = [];
  walk(e, {
    enter(n: Node) {
      const what = n.kind === 'Update' ? `${n.op}` : n.kind === 'Call' && EFFECT_CALLS.has(n.callee) ? `${n.callee}()` : undefined;
      if (what === undefined) return undefined;
      out.push({
        code: 'guard.annotation-side-effect',
        severity: 'error',
        stage: 'guard',
        message: `${where}() contains ${what}, which changes the program's state; annotations may only read`,
        span: n.span,
        hints: [n.kind === 'Update' ? 'compare with the value plus or minus one instead of incrementing it' : 'annotations are expressions over values; leave effects to the program'],
      });
      return false;
    },
  });
  return out;
}

function computedRefs(e: Expr): Expr[] {
  const out: Expr[] = [];
  walk(e, {
    enter(n: Node) {
      if (n.kind === 'Variable') out.push(n);
      if (n.kind === 'Call' && OBSERVABLES.includes(n.callee)) {
        out.push(n);
        return false;
      }
      return undefined;
    },
  });
  return out;
}

function describe(e: Expr): string {
  if (e.kind === 'Variable') return `${e.name} (assigned in the probe body)`;
  if (e.kind === 'Call') return `${e.callee}()`;
  return e.kind;
}
