/** Lint: bpftrace's unsafe builtins (`system`, `signal`, `override`) against the policy (error). */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import { collect } from '../frontend/walk.js';
import type { LintContext, LintPass } from './context.js';

/** Builtins bpftrace runs only with `--unsafe`, and what each does. */
export const UNSAFE_BUILTINS: Readonly<Record<string, string>> = {
  system: 'runs a shell command on every event',
  signal: 'sends a signal to the current process',
  override: "changes a kernel function's return value",
};

export function unsafeBuiltinsLint(ctx: LintContext): LintPass {
  return {
    name: 'unsafe-builtins',
    run(program) {
      if (ctx.policy.allowUnsafe) return [];
      const out: Diagnostic[] = [];
      for (const call of collect(program, 'Call')) {
        const what = UNSAFE_BUILTINS[call.callee];
        if (!what) continue;
        out.push({
          code: 'lint.unsafe-builtin',
          severity: 'error',
          stage: 'lint',
          message: `${call.callee}() is unsafe (it ${what}) and the policy does not allow unsafe programs`,
          span: call.span,
          hints: [`remove the ${call.callee}() call; observe and print instead, or ask an administrator to allow unsafe programs`],
        });
      }
      return out;
    },
  };
}
