/**
 * The right each control-socket method needs, checked before its handler runs. Methods whose right
 * depends on what they act on (a program's or request's owner) are marked `per-target`: their
 * handlers ask {@link Rights.require} with the owner. A method missing here cannot be registered,
 * so a new method is refused to everyone until someone decides who may call it.
 */
import { KgentError } from '../errors.js';
import type { MethodSpec } from '../protocol/spec.js';
import type { ConnectionContext, MethodRegistry } from '../server/control-server.js';
import type { Peer } from '../server/peer-identity.js';
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
  'request.delete': 'per-target',
  // Own finished requests; `all` (everyone's) is checked by the handler.
  'requests.prune': 'request',
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

/**
 * `server` with every registered method guarded by its right in {@link METHOD_RIGHTS}. Each call
 * first asks the group database who the peer is now ({@link Rights.current}): a user removed from
 * the socket and admin groups is refused from their next call on, and `onRevoked` runs (their
 * connection is closed and their programs handled) once the refusal has been answered.
 */
export function guardedRegistry(server: MethodRegistry, rights: Rights, onRevoked?: (peer: Peer, ctx: ConnectionContext) => void): MethodRegistry {
  return {
    register<P, R>(spec: MethodSpec<P, R>, fn: (params: P, ctx: ConnectionContext) => Promise<R>): void {
      const right = METHOD_RIGHTS[spec.method];
      if (right === undefined) throw new KgentError('internal', `method ${spec.method} has no entry in METHOD_RIGHTS`);
      server.register(spec, async (params, ctx) => {
        const peer = await rights.current(ctx.peer);
        if (rights.roleOf(peer) === undefined) {
          rights.decision('refuse', peer, {}, `${spec.method}: no longer in the socket or admin group`);
          if (onRevoked) setImmediate(() => onRevoked(peer, ctx));
          throw rights.revoked(peer);
        }
        const now = withPeer(ctx, peer);
        if (right !== 'per-target') rights.require(peer, right);
        return fn(params, now);
      });
    },
  };
}

/** `ctx` with the peer as the group database says now (everything else stays the connection's). */
function withPeer(ctx: ConnectionContext, peer: Peer): ConnectionContext {
  return Object.create(ctx, { peer: { value: peer, enumerable: true } }) as ConnectionContext;
}
