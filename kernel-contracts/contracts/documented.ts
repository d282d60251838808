/**
 * Facts the kernel documents but does not enforce through a type: hints, never guarantees (see
 * `isKernelGuarantee`). Each names where it is stated, so a proof that rests on one can say so.
 */
import type { Condition } from './expr.js';
import type { Contract } from './model.js';

/**
 * `include/linux/err.h`: `#define MAX_ERRNO 4095` — "Kernel pointers have redundant information, so
 * we can use a scheme where we can return either an error code or a normal pointer with the same
 * return value"; a system call that fails returns `-errno` with `1 <= errno <= MAX_ERRNO`
 * (`IS_ERR_VALUE(x)` is `x >= (unsigned long)-MAX_ERRNO`). Not every syscall keeps to it:
 * `fcntl(F_GETOWN)` returns a negated process group id, so `sys_exit_fcntl` gets no such hint.
 */
const MAX_ERRNO = 4095;
const ERRNO_EXCEPTIONS = new Set(['sys_exit_fcntl']);

/** The documented hints of a contract (conditions with source `doc`, each with its citation in `note`). */
export function documentedHints(c: Contract): Condition[] {
  const out: Condition[] = [];
  if (c.kind === 'tracepoint' && c.category === 'syscalls' && c.event.startsWith('sys_exit_') && !ERRNO_EXCEPTIONS.has(c.event)) {
    const ret = c.fields.find((f) => f.name === 'ret');
    if (ret && ret.kind === 'int' && ret.signed && ret.bits === 64) {
      out.push({
        kind: 'pre',
        expr: { op: 'ge', lhs: { field: 'ret' }, rhs: -MAX_ERRNO },
        source: 'doc',
        note: `a failed system call returns -errno, and errno is at most MAX_ERRNO = ${MAX_ERRNO} (include/linux/err.h); fcntl(F_GETOWN) is a known exception`,
      });
    }
  }
  return out;
}
