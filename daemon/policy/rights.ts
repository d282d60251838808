/**
 * Who may do what: the one place that decides. Handlers ask {@link Rights.require} before acting;
 * a refusal is a `refused` KgentError with one line saying what to do, and it is audited (table
 * and journal) with the caller's identity.
 *
 * Roles, from the kernel's uid of the connection (never from the client) and the group database
 * at each call ({@link Rights.current}: removing someone from `kgent` takes effect at once):
 * - admin: uid 0, or a member of `policy.adminGroup` (kgent-admin);
 * - member: a member of the socket's group (kgent);
 * - anyone else is refused at connect and at every call (policy/revocation.ts handles what a
 *   removed member still holds).
 *
 * What a member may not see (another user's program or request) is answered as "not found",
 * exactly as an id that does not exist ({@link Rights.requireVisible}); "refused" is for what they
 * can see but may not do.
 *
 * | right            | member                                   | admin |
 * |------------------|------------------------------------------|-------|
 * | read             | yes (status, doctor, check, verify, contracts and examples lookups) | yes |
 * | request          | yes (own requests)                       | yes   |
 * | see              | own programs and requests                | all   |
 * | modify-request   | own requests (hint, cancel, accept, delete) | all |
 * | stop             | own programs                             | all   |
 * | attach           | own, when listed in policy.attachUsers   | all   |
 * | run              | no                                       | yes   |
 * | approve          | own, when listed in policy.attachUsers   | all   |
 * | rebuild-contracts| no                                       | yes   |
 * | remove-example   | own learned examples                     | all learned |
 * | promote-example  | no                                       | yes   |
 *
 * Learned examples (daemon/retrieval) are their submitter's: a member's prompts and listings get
 * the dataset, promoted examples and their own learned ones, never another user's request texts.
 */
import type { KgentConfig } from '../config.js';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LintPolicy } from '../verifier/lints/index.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';
import type { Peer } from '../server/peer-identity.js';
import { peerLabel, type UserDb } from '../server/peer-identity.js';
import type { AuditActor, Person } from '../store/program-store.js';

export type Role = 'admin' | 'member';

/** Bytes and count of stored requests one uid may hold; 0 is no limit. */
export interface StorageQuota {
  readonly bytes: number;
  readonly requests: number;
}

export type Right =
  | 'read'
  | 'request'
  | 'see'
  | 'modify-request'
  | 'stop'
  | 'attach'
  | 'run'
  | 'approve'
  | 'rebuild-contracts'
  | 'remove-example'
  | 'promote-example';

/** Where refusals and decisions are recorded: the audit table (with program or request id). */
export interface AuditSink {
  audit(action: string, actor: AuditActor, ref: { programId?: number; requestId?: number }, detail?: string): void;
}

/** What a right is about: the owner's uid (absent: rows stored before uids were), ids for the audit. */
export interface Target {
  readonly ownerUid?: number;
  readonly programId?: number;
  readonly requestId?: number;
}

const WHAT: Readonly<Record<Right, string>> = {
  read: 'use kgentd',
  request: 'submit requests',
  see: "see other users' programs and requests",
  'modify-request': "change other users' requests",
  stop: "stop other users' programs",
  attach: 'attach programs',
  run: 'run programs (kgentctl run)',
  approve: 'approve programs',
  'rebuild-contracts': 'rebuild kernel contracts',
  'remove-example': "remove other users' examples",
  'promote-example': 'promote examples into the shared library',
};

/** The person a peer is, for the stores. */
export function personOf(peer: Peer): Person {
  return { uid: peer.uid, user: peer.user, pid: peer.pid };
}

export class Rights {
  private gids: { member?: number; admin?: number } = {};

  constructor(
    private readonly config: KgentConfig,
    private readonly users: UserDb,
    private readonly audit: AuditSink,
    private readonly logger: Logger,
  ) {}

  /**
   * `peer` as the group database says now: its groups among the socket and admin groups, from
   * /etc/group and NSS at this call (never the snapshot taken at connect), so removing someone
   * from `kgent` takes effect at their next call. Root is root.
   */
  async current(peer: Peer): Promise<Peer> {
    if (peer.uid === 0) return peer;
    const names = [this.config.socketGroup, this.config.policy.adminGroup];
    const [member, admin] = await Promise.all(names.map((n) => this.users.groupId(n)));
    this.gids = { ...(member !== undefined ? { member } : {}), ...(admin !== undefined ? { admin } : {}) };
    const now = await this.users.membershipNow(peer.uid, names);
    return { ...peer, groups: now.gids };
  }

  /** The role of a uid now (for owners of running programs, who need not be connected). */
  async roleOfUid(uid: number): Promise<{ role: Role | undefined; user: string }> {
    if (uid === 0) return { role: 'admin', user: 'root' };
    const p = await this.current({ uid, gid: -1, pid: 0, groups: [], user: `uid ${uid}` });
    const user = (await this.users.membershipNow(uid, [])).user ?? `uid ${uid}`;
    return { role: this.roleOf(p), user };
  }

  /** At connect: refuses anyone who is neither root nor, now, in the socket or admin group. */
  async admit(peer: Peer): Promise<void> {
    const now = await this.current(peer);
    if (this.roleOf(now) === undefined) {
      throw new KgentError(
        'refused',
        `${peerLabel(peer)} is neither root nor in group ${this.config.socketGroup} or ${this.config.policy.adminGroup}; ask an administrator to add you (usermod -aG ${this.config.socketGroup} ${peer.user})`,
        { uid: peer.uid },
      );
    }
  }

  /** The refusal of a connected peer who has left both groups since. */
  revoked(peer: Peer): KgentError {
    return new KgentError(
      'refused',
      `${peerLabel(peer)} is no longer in group ${this.config.socketGroup} or ${this.config.policy.adminGroup}: access revoked, connection closed; ask an administrator`,
      { uid: peer.uid, revoked: true },
    );
  }

  roleOf(peer: Peer): Role | undefined {
    if (peer.uid === 0) return 'admin';
    if (this.gids.admin !== undefined && peer.groups.includes(this.gids.admin)) return 'admin';
    if (this.gids.member !== undefined && peer.groups.includes(this.gids.member)) return 'member';
    return undefined;
  }

  isAdmin(peer: Peer): boolean {
    return this.roleOf(peer) === 'admin';
  }

  /** Whether `peer` has `right` on `target`; no audit (for filtering lists). */
  allows(peer: Peer, right: Right, target: Target = {}): boolean {
    const role = this.roleOf(peer);
    if (role === 'admin') return true;
    if (role !== 'member') return false;
    const own = target.ownerUid !== undefined && target.ownerUid === peer.uid;
    switch (right) {
      case 'read':
      case 'request':
        return true;
      case 'see':
      case 'modify-request':
      case 'stop':
      case 'remove-example':
        return own;
      case 'attach':
      case 'approve':
        return this.config.policy.attachUsers.includes(peer.user) && (target.ownerUid === undefined ? right === 'attach' : own);
      case 'run':
      case 'rebuild-contracts':
      case 'promote-example':
        return false;
    }
  }

  /** Throws `refused` (audited: table and journal) unless `peer` has `right` on `target`. */
  require(peer: Peer, right: Right, target: Target = {}): void {
    if (this.allows(peer, right, target)) return;
    const role = this.roleOf(peer) ?? 'none';
    const admin = `root or a member of ${this.config.policy.adminGroup}`;
    const why =
      right === 'attach' || right === 'approve'
        ? `${peerLabel(peer)} (${role}) may not ${WHAT[right]}${target.programId !== undefined ? ` (program ${target.programId})` : ''}; ask ${admin} to approve it (kgentctl approve ID)`
        : `${peerLabel(peer)} (${role}) may not ${WHAT[right]}${target.programId !== undefined ? ` (program ${target.programId})` : target.requestId !== undefined ? ` (request R${target.requestId})` : ''}; that needs ${admin}`;
    this.decision('refuse', peer, target, `${right}: ${why}`);
    throw new KgentError('refused', why, { right, uid: peer.uid });
  }

  /**
   * Throws `notFound()` — the very answer for an id that does not exist — unless `peer` may see
   * `target`, so a member cannot tell another user's id from an unused one. The attempt is still
   * audited, after the answer, so it costs the caller no extra time.
   */
  requireVisible(peer: Peer, target: Target, notFound: () => KgentError): void {
    if (this.allows(peer, 'see', target)) return;
    setImmediate(() => this.decision('refuse', peer, target, "see: another user's; answered as not found"));
    throw notFound();
  }

  /** Records a decision about `peer` (a refusal, a policy verdict) in the audit table and the journal. */
  decision(action: string, peer: Peer, target: Target, detail: string): void {
    this.logger.info(
      { audit: action, uid: peer.uid, user: peer.user, pid: peer.pid, programId: target.programId, requestId: target.requestId, detail },
      `audit: ${action} by ${peerLabel(peer)}`,
    );
    try {
      this.audit.audit(action, personOf(peer), { ...(target.programId !== undefined ? { programId: target.programId } : {}), ...(target.requestId !== undefined ? { requestId: target.requestId } : {}) }, detail);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'could not write an audit row');
    }
  }

  /** What a program of this peer may use (the verifier's policy lint checks it). */
  lintPolicy(peer: Peer): LintPolicy {
    return lintPolicyFor(this.config, this.roleOf(peer) ?? 'member');
  }

  /** Whose share of the kernel-check slots this peer's checks use (admins get the reserved ones). */
  checkRequester(peer: Peer): CheckRequester {
    return { uid: peer.uid, admin: this.isAdmin(peer) };
  }

  /** The storage quota of a peer's stored requests, by role (0: no limit). */
  storageQuota(peer: Peer): StorageQuota {
    const st = this.config.storage;
    return this.isAdmin(peer) ? { bytes: st.adminQuotaBytes, requests: st.adminQuotaRequests } : { bytes: st.memberQuotaBytes, requests: st.memberQuotaRequests };
  }

  /** Whether a member's request may carry --attach. */
  mayAttachRequests(peer: Peer): boolean {
    return this.allows(peer, 'attach');
  }
}

/** The policy lint's settings for a role. Unsafe builtins need both the role's and the global switch. */
export function lintPolicyFor(config: KgentConfig, role: Role): LintPolicy {
  const r = role === 'admin' ? config.policy.admins : config.policy.members;
  return {
    allowUnsafe: config.allowUnsafe && r.unsafe,
    deniedBuiltins: r.deniedBuiltins,
    denyRawMemory: !r.rawMemory,
    hostFilesHidden: !r.hostFiles,
    probeTypes: r.probeTypes,
    subject: role === 'admin' ? 'admins' : `members of ${config.socketGroup}`,
  };
}
