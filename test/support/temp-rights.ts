/**
 * kgentd's rights over a temp /etc, for in-process tests of handlers that check them: group
 * `kgent` (members, gid 5000) and `kgent-admin` (gid 5001); root is admitted.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { DEFAULTS } from '../../daemon/config.js';
import { Rights } from '../../daemon/policy/rights.js';
import { UserDb, type Peer } from '../../daemon/server/peer-identity.js';

export async function rightsFor(dir: string, audits: string[] = []): Promise<{ rights: Rights; member: (uid: number, user: string) => Promise<Peer> }> {
  const etc = path.join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(path.join(etc, 'group'), `${DEFAULTS.socketGroup}:x:5000:\n${DEFAULTS.policy.adminGroup}:x:5001:\n`);
  writeFileSync(path.join(etc, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  const rights = new Rights(DEFAULTS, new UserDb(etc), { audit: (action, actor, _ref, detail) => audits.push(`${action} ${typeof actor === 'string' ? actor : actor.user} ${detail ?? ''}`) }, pino({ level: 'silent' }));
  return {
    rights,
    // kgentd asks the group database at every call: a member is in /etc/passwd with kgent as primary group.
    member: async (uid, user) => {
      appendFileSync(path.join(etc, 'passwd'), `${user}:x:${uid}:5000::/home/${user}:/bin/sh\n`);
      const peer: Peer = { uid, gid: 5000, pid: process.pid, groups: [5000], user };
      await rights.admit(peer);
      return peer;
    },
  };
}
