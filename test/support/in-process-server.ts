/**
 * A stand-in for the control socket inside one process: methods register on it as on the real
 * server (typed constants, params validated by their schemas), and its client calls them with a
 * JSON round trip of params, results and notifications, as over the socket.
 */
import type { ConnectionContext, MethodRegistry } from '../../daemon/server/control-server.js';
import type { MethodSpec, NotificationSpec } from '../../daemon/protocol/index.js';
import type { Peer } from '../../daemon/server/peer-identity.js';

/** The peer of an in-process client unless a test says otherwise: root. */
export const ROOT_PEER: Peer = { uid: 0, gid: 0, pid: process.pid, groups: [0], user: 'root' };

type Handler = (params: unknown, ctx: ConnectionContext) => Promise<unknown>;

export class InProcessServer implements MethodRegistry {
  readonly handlers = new Map<string, Handler>();

  register<P, R>(spec: MethodSpec<P, R>, fn: (params: P, ctx: ConnectionContext) => Promise<R>): void {
    this.handlers.set(spec.method, async (params, ctx) => fn(spec.params.parse(params ?? {}), ctx));
  }

  /** A client of this server (as `peer`): the shape of kgentctl's `KgentClient` that commands use. */
  client(peer: Peer = ROOT_PEER) {
    const listeners = new Set<(method: string, params: unknown) => void>();
    const ctx: ConnectionContext = {
      connectionId: 1,
      peer,
      busy: () => () => undefined,
      notify: (spec, params) => {
        for (const l of listeners) l(spec.method, JSON.parse(JSON.stringify(params)));
        return true;
      },
      onClose: () => undefined,
      signal: new AbortController().signal,
      close: () => undefined,
      closed: false,
    };
    return {
      calls: [] as string[],
      call: async <P, R>(spec: MethodSpec<P, R>, params: P): Promise<R> => {
        const h = this.handlers.get(spec.method);
        if (!h) throw new Error(`no method ${spec.method}`);
        const r = await h(JSON.parse(JSON.stringify(params)), ctx);
        return JSON.parse(JSON.stringify(r ?? null)) as R;
      },
      onNotification: <P>(spec: NotificationSpec<P>, fn: (params: P) => void) => {
        const l = (method: string, params: unknown): void => {
          if (method === spec.method) fn(params as P);
        };
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
  }
}
