/**
 * Removing someone from the socket group (and the admin group) revokes what they hold: their open
 * connections are closed, and the programs they submitted are stopped (policy.revokedPrograms
 * "stop", the default) or flagged and left running ("flag"). It is noticed three ways, whichever
 * comes first: their next call (daemon/policy/method-rights.ts), a periodic sweep
 * (policy.membershipSweepMs), and the start of kgentd, before programs are re-attached.
 * Membership comes from the group database at that moment ({@link Rights.current}).
 */
import type { Logger } from '../log.js';
import type { ProgramInfo } from '../protocol/methods.js';
import type { ConnectionContext } from '../server/control-server.js';
import { peerLabel } from '../server/peer-identity.js';
import type { Rights } from './rights.js';

/** What the sweep needs of the programs service. */
export interface RevocablePrograms {
  ownedRunning(): { id: number; ownerUid: number; owner: string }[];
  revokeOwner(id: number, how: 'stop' | 'flag', detail: string): Promise<ProgramInfo>;
}

export interface RevocationOptions {
  readonly rights: Rights;
  readonly programs: RevocablePrograms;
  /** The open connections (absent before the socket listens). */
  readonly connections?: () => ConnectionContext[];
  readonly policy: 'stop' | 'flag';
  readonly socketGroup: string;
  readonly adminGroup: string;
  readonly logger: Logger;
}

export class RevocationSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly o: RevocationOptions) {}

  /**
   * Checks every program owner (or only `uid`) and every connected peer against the group
   * database now; returns how many programs were stopped or flagged. Sweeps do not overlap.
   */
  async sweep(why: string, uid?: number): Promise<number> {
    while (this.running) await this.running.catch(() => 0);
    this.running = this.run(why, uid);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async run(why: string, onlyUid?: number): Promise<number> {
    const roles = new Map<number, Awaited<ReturnType<Rights['roleOfUid']>>>();
    const roleOf = async (uid: number) => {
      let r = roles.get(uid);
      if (!r) roles.set(uid, (r = await this.o.rights.roleOfUid(uid)));
      return r;
    };
    let revoked = 0;
    for (const p of this.o.programs.ownedRunning()) {
      if (onlyUid !== undefined && p.ownerUid !== onlyUid) continue;
      const { role, user } = await roleOf(p.ownerUid);
      if (role !== undefined) continue;
      const who = peerLabel({ user: user.startsWith('uid ') ? p.owner : user, uid: p.ownerUid });
      const detail = `owner ${who} is no longer in group ${this.o.socketGroup} or ${this.o.adminGroup} (found ${why})`;
      try {
        await this.o.programs.revokeOwner(p.id, this.o.policy, detail);
        revoked++;
        this.o.logger.warn({ audit: 'owner-revoked', programId: p.id, uid: p.ownerUid, policy: this.o.policy }, `program ${p.id}: ${detail}`);
      } catch (err) {
        this.o.logger.error({ programId: p.id, err: (err as Error).message }, 'could not revoke a program of a removed user');
      }
    }
    for (const c of this.o.connections?.() ?? []) {
      if (c.closed || c.peer.uid === 0 || (onlyUid !== undefined && c.peer.uid !== onlyUid)) continue;
      const { role } = await roleOf(c.peer.uid);
      if (role !== undefined) continue;
      this.o.logger.warn({ audit: 'connection-revoked', uid: c.peer.uid, user: c.peer.user, connectionId: c.connectionId }, 'connection of a removed user closed');
      c.close(this.o.rights.revoked(c.peer).message);
    }
    return revoked;
  }

  /** Sweeps every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      void this.sweep('by the periodic check').catch((err: Error) => this.o.logger.error({ err: err.message }, 'membership sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
