/**
 * Lint: what the policy refuses in a program (errors). One lint for every policy rule about a
 * program's text, so the daemon's per-role checks and the verifier agree:
 * - bpftrace's unsafe builtins (`system`, `signal`, `override`) unless unsafe programs are allowed;
 * - builtins the policy denies to this caller (e.g. `cat` for members);
 * - reads of memory at absolute addresses (`*(uint64 *)0xffff...`, `kptr(0x...)`, `str(0x...)`,
 *   `((struct x *)0x...)->f`), also through a variable or map that holds such an address;
 * - probe types the policy does not allow to this caller.
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Expr, Program } from '../frontend/ast.js';
import { collect, walk } from '../frontend/walk.js';
import type { LintContext, LintPass } from './context.js';

/** Builtins bpftrace runs only with `--unsafe`, and what each does. */
export const UNSAFE_BUILTINS: Readonly<Record<string, string>> = {
  system: 'runs a shell command on every event',
  signal: 'sends a signal to the current process',
  override: "changes a kernel function's return value",
};

/** What other builtins a policy may deny do, for the message. */
const BUILTIN_EFFECTS: Readonly<Record<string, string>> = {
  cat: 'prints the contents of a file, read by the daemon as root',
};

/** Builtins whose first argument is an address read from memory. */
const ADDRESS_READERS = new Set(['str', 'buf', 'kptr', 'uptr']);

export function unsafeBuiltinsLint(ctx: LintContext): LintPass {
  const policy = ctx.policy;
  const who = policy.subject ? ` for ${policy.subject}` : '';
  return {
    name: 'unsafe-builtins',
    run(program) {
      const out: Diagnostic[] = [];
      const denied = new Set(policy.deniedBuiltins ?? []);
      for (const call of collect(program, 'Call')) {
        const unsafe = UNSAFE_BUILTINS[call.callee];
        if (unsafe && !policy.allowUnsafe) {
          out.push({
            code: 'lint.unsafe-builtin',
            severity: 'error',
            stage: 'lint',
            message: `${call.callee}() is unsafe (it ${unsafe}) and the policy does not allow unsafe programs${who}`,
            span: call.span,
            hints: [`remove the ${call.callee}() call; observe and print instead, or ask an administrator to allow unsafe programs`],
          });
        } else if (denied.has(call.callee)) {
          const effect = BUILTIN_EFFECTS[call.callee];
          out.push({
            code: 'lint.denied-builtin',
            severity: 'error',
            stage: 'lint',
            message: `${call.callee}()${effect ? ` (it ${effect})` : ''} is not allowed by the policy${who}`,
            span: call.span,
            hints: [`remove the ${call.callee}() call, or ask an administrator (root or kgent-admin) to run the program`],
          });
        }
      }
      if (policy.denyRawMemory) out.push(...rawMemoryReads(program, who));
      const allowedTypes = policy.probeTypes;
      if (allowedTypes && !allowedTypes.includes('*')) {
        for (const probe of program.probes) {
          for (const ap of probe.attachPoints) {
            if (ap.provider === 'BEGIN' || ap.provider === 'END' || allowedTypes.includes(ap.provider)) continue;
            out.push({
              code: 'lint.probe-type-denied',
              severity: 'error',
              stage: 'lint',
              message: `${ap.provider} probes are not allowed by the policy${who}`,
              span: ap.span,
              hints: [`probe types allowed: ${allowedTypes.join(', ') || 'none'}`],
            });
          }
        }
      }
      return out;
    },
  };
}

/** An integer literal, a cast of one, or arithmetic of such: a fixed address. */
function isAbsolute(e: Expr, holders: ReadonlySet<string>): boolean {
  switch (e.kind) {
    case 'Integer':
      return true;
    case 'Cast':
      return isAbsolute(e.operand, holders);
    case 'Unary':
      return (e.op === '-' || e.op === '+' || e.op === '~') && isAbsolute(e.operand, holders);
    case 'Binary':
      return ['+', '-', '|', '&', '^', '<<', '>>', '*'].includes(e.op) && isAbsolute(e.left, holders) && isAbsolute(e.right, holders);
    case 'Variable':
    case 'Map':
      return holders.has(e.name);
    default:
      return false;
  }
}

function rawMemoryReads(program: Program, who: string): Diagnostic[] {
  // Variables and maps that only ever hold a fixed address: every assignment to them is one
  // (`$p = 0; $p = arg0;` is a pointer, not a fixed address). Shrinks to a fixed point.
  const assignments: { name: string; value: Expr }[] = [];
  walk(program, {
    enter(n) {
      if (n.kind === 'AssignStmt') assignments.push({ name: n.target.name, value: n.value });
      else if (n.kind === 'VarDeclStmt' && n.value) assignments.push({ name: n.variable.name, value: n.value });
    },
  });
  const holders = new Set(assignments.map((a) => a.name));
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of assignments) {
      if (holders.has(a.name) && !isAbsolute(a.value, holders)) {
        holders.delete(a.name);
        changed = true;
      }
    }
  }
  const out: Diagnostic[] = [];
  const report = (span: Diagnostic['span'], what: string): void => {
    out.push({
      code: 'lint.raw-memory',
      severity: 'error',
      stage: 'lint',
      message: `${what} reads memory at a fixed address, which the policy does not allow${who}`,
      ...(span ? { span } : {}),
      hints: ['read kernel data through probe arguments (args->..., arg0, retval) and typed struct fields instead'],
    });
  };
  walk(program, {
    enter(n) {
      if (n.kind === 'Unary' && n.op === '*' && isAbsolute(n.operand, holders)) report(n.span, 'this dereference');
      else if (n.kind === 'Field' && n.arrow && n.object.kind === 'Cast' && isAbsolute(n.object, holders)) report(n.span, `->${n.field}`);
      else if (n.kind === 'Call' && ADDRESS_READERS.has(n.callee) && n.args[0] && isAbsolute(n.args[0], holders)) {
        report(n.span, `${n.callee}()`);
      }
    },
  });
  return out;
}
