/**
 * The request methods on the control socket. Progress goes to the client that asked; a client
 * that disconnects cancels its request. Who may attach is decided in one place ({@link callerOf}).
 */
import {
  RequestAccept,
  RequestCancel,
  RequestHint,
  RequestProgressNotification,
  RequestShow,
  RequestsList,
  RequestSubmit,
  type RequestProgress,
} from '../protocol/requests.js';
import type { ConnectionContext, MethodRegistry } from '../server/control-server.js';
import type { Caller, RequestService } from './request-service.js';

/**
 * The caller of a connection. Until the daemon reads the peer's credentials from the kernel
 * (issue 9: SO_PEERCRED, `kgent` vs `kgent-admin`), every client of the socket — which only root
 * and the `kgent` group can open — is treated as allowed to attach, as `programs.run` already does.
 */
export function callerOf(_conn: ConnectionContext): Caller {
  return { name: 'socket client', mayAttach: true };
}

export function registerRequestMethods(server: MethodRegistry, requests: RequestService): void {
  const progressTo = (conn: ConnectionContext) => (p: RequestProgress) => void conn.notify(RequestProgressNotification, p);
  server.register(RequestSubmit, async (p, conn) =>
    requests.submit(
      { text: p.text, ...(p.attach !== undefined ? { attach: p.attach } : {}), ...(p.trials !== undefined ? { trials: p.trials } : {}), ...(p.hint !== undefined ? { hint: p.hint } : {}) },
      callerOf(conn),
      progressTo(conn),
      (fn) => conn.onClose(fn),
    ),
  );
  server.register(RequestHint, async (p, conn) => requests.hint(p.id, p.hint, callerOf(conn), progressTo(conn), (fn) => conn.onClose(fn)));
  server.register(RequestAccept, async (p, conn) => requests.accept(p.id, p.attach ?? false, callerOf(conn)));
  server.register(RequestCancel, async (p) => ({ request: requests.cancel(p.id) }));
  server.register(RequestsList, async () => ({ requests: requests.list() }));
  server.register(RequestShow, async (p) => requests.show(p.id));
}
