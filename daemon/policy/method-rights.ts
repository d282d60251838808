/**
 * The right each control-socket method needs, checked before its handler runs. Methods whose right
 * depends on what they act on (a program's or request's owner) are marked `per-target`: their
 * handlers ask {@link Rights.require} with the owner. A method missing here cannot be registered,
 * so a new method is refused to everyone until someone decides who may call it.
 */
import { KgentError } from '../errors.js';
import type { MethodSpec } from '../protocol/spec.js';
import type { ConnectionContext, MethodRegistry } from '../server/control-server.js';
import type { Right, Rights } from './rights.js';

export const METHOD_RIGHTS: Readonly<Record<string, Right | 'per-target'>> = {
  'daemon.status': 'read',
  'daemon.doctor': 'read',
  'programs.run': 'run',
  'programs.check': 'read',
  'programs.approve': 'per-target',
  'programs.list': 'read',
  'programs.show': 'per-target',
  'programs.stop': 'per-target',
  'programs.logs': 'per-target',
  'request.submit': 'request',
  'request.hint': 'per-target',
  'request.accept': 'per-target',
  'request.cancel': 'per-target',
  'requests.list': 'read',
  'request.show': 'per-target',
  'contracts.status': 'read',
  'contracts.rebuild': 'rebuild-contracts',
  'contracts.show': 'read',
  'contracts.search': 'read',
  'verify.program': 'read',
  'examples.list': 'read',
  'examples.search': 'read',
  'examples.show': 'read',
  // Learned entries are their owner's: the handler checks remove-example with the owner, and
  // answers not-found for an entry the caller may not see.
  'examples.remove': 'per-target',
  'examples.promote': 'promote-example',
  'examples.demote': 'promote-example',
  // The oracle attaches programs and runs each case's trigger as root: admins only.
  'eval.run': 'run',
  'eval.list': 'read',
};

/** `server` with every registered method guarded by its right in {@link METHOD_RIGHTS}. */
export function guardedRegistry(server: MethodRegistry, rights: Rights): MethodRegistry {
  return {
    register<P, R>(spec: MethodSpec<P, R>, fn: (params: P, ctx: ConnectionContext) => Promise<R>): void {
      const right = METHOD_RIGHTS[spec.method];
      if (right === undefined) throw new KgentError('internal', `method ${spec.method} has no entry in METHOD_RIGHTS`);
      if (right === 'per-target') {
        server.register(spec, fn);
        return;
      }
      server.register(spec, async (params, ctx) => {
        rights.require(ctx.peer, right);
        return fn(params, ctx);
      });
    },
  };
}
