/**
 * Lint: attach points whose provider this kernel does not offer. One rule for every attach point
 * however it is written: the provider is the canonical one the front-end resolved (`k:` is
 * `kprobe`, `kr:` `kretprobe`, `t:` `tracepoint`, `f:`/`fentry:` `kfunc` ...), each attach point of
 * a list is checked on its own, and a wildcard (`kprobe:vfs_*`) is checked by its provider like any
 * other. An error when the program is to run here; a warning for a proof (`purpose: 'prove'`).
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import { PROBE_TYPES } from '../../../kernel-contracts/probe-types.js';
import type { LintContext, LintPass } from './context.js';

export function probeAvailabilityLint(ctx: LintContext): LintPass {
  return {
    name: 'probe-availability',
    run(program) {
      const out: Diagnostic[] = [];
      const available = PROBE_TYPES.filter((t) => t !== 'BEGIN' && t !== 'END' && ctx.probes.isAvailable(t));
      for (const probe of program.probes) {
        for (const ap of probe.attachPoints) {
          if (ctx.probes.isAvailable(ap.provider)) continue;
          const reason = ctx.probes.reason(ap.provider);
          const hints = [`probe types available on this kernel: ${available.join(', ') || 'none'}`];
          if (ap.provider === 'kprobe' || ap.provider === 'kretprobe' || ap.provider === 'kfunc' || ap.provider === 'kretfunc') {
            if (available.includes('tracepoint')) hints.unshift('use a tracepoint for the same event where one exists (e.g. tracepoint:syscalls:sys_enter_*, tracepoint:sock:*, tracepoint:block:*)');
          }
          const proving = ctx.purpose === 'prove';
          out.push({
            code: 'lint.probe-unavailable',
            severity: proving ? 'warning' : 'error',
            stage: 'lint',
            message:
              `${ap.provider} probes are not available on this kernel${reason ? `: ${reason}` : ''}` +
              (proving ? '; the verdict is about the program and the kernel contracts, but it cannot attach on this host (its kernel check refuses it)' : ''),
            span: ap.span,
            hints,
          });
        }
      }
      return out;
    },
  };
}
