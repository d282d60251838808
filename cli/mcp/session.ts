/**
 * Who this MCP server acts for, and so which tools it offers: asked of kgentd at start
 * (`daemon.status`), which identifies the user by the socket's peer credentials. `approve` and
 * `run` are offered only to an admin, and only when kgentd's configuration says so
 * (`mcp.adminsMayApprove`, default off); kgentd checks every call's rights all the same.
 */
import { Status } from '../../daemon/protocol/index.js';
import type { KgentClient } from '../client.js';

export interface McpSession {
  /** The user as kgentd identified the connection, when kgentd answered. */
  readonly user?: string;
  readonly uid?: number;
  readonly role?: 'admin' | 'member';
  /** kgent's version, as kgentd reports it (kgentctl and kgentd ship together). */
  readonly version?: string;
  /** Offer `approve` and `run`. */
  readonly mayApprove: boolean;
  /** Why the session offers no `approve` (for the one line a refused call answers). */
  readonly approveRefusal: string;
  /** Why kgentd could not be asked at start, if it could not. */
  readonly unreachable?: string;
}

export const APPROVE_BY_A_PERSON = 'a person approves programs at a terminal: kgentctl approve ID (kgentctl show ID first)';

export async function readSession(connect: () => Promise<KgentClient>): Promise<McpSession> {
  let client: KgentClient | undefined;
  try {
    client = await connect();
    const s = await client.call(Status, {});
    const role = s.you?.role;
    const allowed = s.mcp?.adminsMayApprove === true;
    const mayApprove = allowed && role === 'admin';
    const approveRefusal = mayApprove
      ? ''
      : allowed
        ? `approve and run are offered to agents of kgent admins only, and ${s.you?.user ?? 'this user'} is a member; ${APPROVE_BY_A_PERSON}`
        : `approve and run are not offered to agents on this host (kgentd's config key mcp.adminsMayApprove is off); ${APPROVE_BY_A_PERSON}`;
    return { ...(s.you ? { user: s.you.user, uid: s.you.uid, role: s.you.role } : {}), version: s.version, mayApprove, approveRefusal };
  } catch (err) {
    const why = (err as Error).message;
    return { mayApprove: false, approveRefusal: `approve and run are not offered: kgentd did not answer when this server started (${why}); ${APPROVE_BY_A_PERSON}`, unreachable: why };
  } finally {
    client?.close();
  }
}
