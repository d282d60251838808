/**
 * Lint: what the policy refuses in a program (errors). One lint for every policy rule about a
 * program's text, so the daemon's per-role checks and the verifier agree:
 * - bpftrace's unsafe builtins (`system`, `signal`, `override`) unless unsafe programs are allowed;
 * - builtins the policy denies to this caller (e.g. `cat` for members);
 * - reads of memory at an address that is not a pointer the kernel handed to the probe, judged by
 *   where the address comes from, not by how it is written (address-provenance.ts);
 * - probe types the policy does not allow to this caller.
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Program } from '../frontend/ast.js';
import { collect } from '../frontend/walk.js';
import { untrustedReads } from './address-provenance.js';
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
      if (policy.denyRawMemory) out.push(...rawMemoryReads(program, who, ctx.fields));
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

function rawMemoryReads(program: Program, who: string, fields: LintContext['fields']): Diagnostic[] {
  return untrustedReads(program, fields).map((r) => ({
    code: 'lint.raw-memory',
    severity: 'error',
    stage: 'lint',
    message: `${r.what} reads memory at an address that is not a pointer the kernel handed to the probe (${r.why}), which the policy does not allow${who}`,
    span: r.span,
    hints: ['read kernel data through probe arguments (args->..., arg0, retval, curtask) and typed struct fields instead'],
  }));
}
