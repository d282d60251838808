/**
 * Can an attach point, as an example writes it, attach on this host? Its probe type must be
 * available here (kprobes often are not), and a named tracepoint must exist on this kernel (a
 * category absent here, e.g. a module not loaded, fails to attach). Wildcards and probe types
 * without a kernel name (uprobe, interval, profile) are judged by the probe type alone.
 */
import { canonicalProbeType } from '../../kernel-contracts/probe-types.js';

export interface AttachFacts {
  /** Whether a probe type (`kprobe`, `tracepoint`, ...) can attach on this kernel. */
  probeAvailable(type: string): boolean;
  /** Whether `tracepoint:CAT:EVENT` exists here; undefined when not known (no contracts yet). */
  tracepointExists?(id: string): boolean | undefined;
}

export function hookAttachable(facts: AttachFacts): (hook: string) => boolean {
  return (hook) => {
    if (/^(BEGIN|END)$/.test(hook.trim())) return true;
    const [probe = '', ...rest] = hook.trim().split(':');
    const type = canonicalProbeType(probe);
    if (!type || !facts.probeAvailable(type)) return false;
    if (type === 'tracepoint' && rest.length === 2 && !/[*?{[]/.test(hook)) {
      return facts.tracepointExists?.(`tracepoint:${rest[0]}:${rest[1]}`) ?? true;
    }
    return true;
  };
}

/**
 * `tracepointExists` from the contracts of this kernel (`contract(id)`, synchronous). Before the
 * first build the contracts know no hook at all; `raw_syscalls:sys_enter` (present on any kernel
 * with syscall tracing) tells a built dataset from an empty one, so an empty one answers "not known".
 */
export function tracepointsFromContracts(contract: ((id: string) => unknown) | undefined): (id: string) => boolean | undefined {
  return (id) => {
    if (!contract) return undefined;
    if (contract(id)) return true;
    return contract('tracepoint:raw_syscalls:sys_enter') ? false : undefined;
  };
}
