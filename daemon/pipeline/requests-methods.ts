/**
 * The request methods on the control socket. Progress goes to the client that asked; a client
 * that disconnects cancels its request. Who may attach is decided in one place ({@link callerOf}).
 */
import {
  RequestAccept,
  RequestCancel,
  RequestDelete,
  RequestHint,
  RequestProgressNotification,
  RequestShow,
  RequestsList,
  RequestsPrune,
  RequestSubmit,
  type RequestProgress,
  type StorageUsageInfo,
} from '../protocol/requests-api.js';
import { KgentError } from '../errors.js';
import { personOf, type Rights } from '../policy/rights.js';
import type { Peer } from '../server/peer-identity.js';
import type { ConnectionContext, MethodRegistry } from '../server/control-server.js';
import { peerLabel } from '../server/peer-identity.js';
import { requestNotFound, type Caller, type RequestService } from './request-service.js';

/**
 * The caller of a connection: the peer the kernel identified (SO_PEERCRED), whether the policy
 * lets them attach (root, kgent-admin, or a member listed in policy.attachUsers), and what their
 * programs may use. The one place the Kgent loop learns who asks.
 */
export function callerOf(conn: ConnectionContext, rights: Rights): Caller {
  const peer = conn.peer;
  return {
    person: personOf(peer),
    name: peerLabel(peer),
    mayAttach: rights.mayAttachRequests(peer),
    policy: rights.lintPolicy(peer),
    admin: rights.isAdmin(peer),
    quota: rights.storageQuota(peer),
  };
}

export function registerRequestMethods(server: MethodRegistry, requests: RequestService, rights: Rights, maxRequestChars = 8192): void {
  // Acting on a request (seeing, hinting, cancelling, accepting) needs to own it, or to be an admin.
  // Another member's request is answered exactly like one that does not exist.
  const own = (conn: ConnectionContext, id: number, right: 'see' | 'modify-request'): void => {
    const r = requests.find(id);
    if (!r) throw requestNotFound(id);
    const target = { ownerUid: r.submittedUid, requestId: id };
    rights.requireVisible(conn.peer, target, () => requestNotFound(id));
    rights.require(conn.peer, right, target);
  };
  const asked = (conn: ConnectionContext, attach: boolean | undefined, requestId?: number): void => {
    if (attach) rights.require(conn.peer, 'attach', requestId !== undefined ? { requestId } : {});
  };
  const textLimit = (text: string): void => {
    if (text.length > maxRequestChars) {
      throw new KgentError('bad-request', `the request is ${text.length} characters, over the limit of ${maxRequestChars} (policy.maxRequestChars); say it shorter`);
    }
  };
  const progressTo = (conn: ConnectionContext) => (p: RequestProgress) => void conn.notify(RequestProgressNotification, p);
  server.register(RequestSubmit, async (p, conn) => {
    textLimit(p.text);
    asked(conn, p.attach);
    return requests.submit(
      { text: p.text, ...(p.attach !== undefined ? { attach: p.attach } : {}), ...(p.trials !== undefined ? { trials: p.trials } : {}), ...(p.hint !== undefined ? { hint: p.hint } : {}) },
      callerOf(conn, rights),
      progressTo(conn),
      (fn) => conn.onClose(fn),
    );
  });
  server.register(RequestHint, async (p, conn) => {
    own(conn, p.id, 'modify-request');
    return requests.hint(p.id, p.hint, callerOf(conn, rights), progressTo(conn), (fn) => conn.onClose(fn));
  });
  server.register(RequestAccept, async (p, conn) => {
    own(conn, p.id, 'modify-request');
    asked(conn, p.attach, p.id);
    return requests.accept(p.id, p.attach ?? false, callerOf(conn, rights));
  });
  server.register(RequestCancel, async (p, conn) => {
    own(conn, p.id, 'modify-request');
    return { request: requests.cancel(p.id) };
  });
  const usageOf = (peer: Peer): StorageUsageInfo => {
    const used = requests.usage(peer.uid);
    const quota = rights.storageQuota(peer);
    return { uid: peer.uid, ...used, quotaBytes: quota.bytes, quotaRequests: quota.requests };
  };
  // Members see their own requests; admins everyone's.
  server.register(RequestsList, async (_p, conn) => ({
    requests: requests.list(rights.isAdmin(conn.peer) ? undefined : conn.peer.uid),
    usage: usageOf(conn.peer),
  }));
  // Deleting needs to own each request (or to be an admin), as changing it does.
  server.register(RequestDelete, async (p, conn) => {
    for (const id of p.ids) own(conn, id, 'modify-request');
    const out = requests.delete(p.ids);
    return { ...out, usage: usageOf(conn.peer) };
  });
  server.register(RequestsPrune, async (p, conn) => {
    if (p.all) rights.require(conn.peer, 'modify-request', {});
    const out = requests.prune(p.all ? undefined : conn.peer.uid, p.keep ?? 0);
    return { ...out, usage: usageOf(conn.peer) };
  });
  server.register(RequestShow, async (p, conn) => {
    own(conn, p.id, 'see');
    return requests.show(p.id);
  });
}
