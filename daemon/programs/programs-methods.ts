/**
 * The `programs.*` methods of the control socket, served by the program service. Every method is
 * registered through the rights table (daemon/policy/method-rights.ts), which asks the group
 * database at each call; here each method checks what it may do on which program. Members see
 * their own programs, admins everyone's; a program the caller may not see is answered exactly as
 * one that does not exist.
 */
import type { Rights } from '../policy/rights.js';
import { personOf } from '../policy/rights.js';
import type { Diagnostic } from '../protocol/diagnostic.js';
import { ProgramLog, ProgramLogEnd, ProgramsApprove, ProgramsCheck, ProgramsList, ProgramsLogs, ProgramsRun, ProgramsShow, ProgramsStop } from '../protocol/methods.js';
import type { ProgramVerification } from '../protocol/methods.js';
import type { MethodRegistry } from '../server/control-server.js';
import type { Peer } from '../server/peer-identity.js';
import { programNotFound, type ProgramService } from './program-service.js';

export interface ProgramMethodsDeps {
  readonly programs: ProgramService;
  readonly rights: Rights;
  /** How a request's program was verified (and under which hints), for the approval view. */
  verificationOf(programId: number): ProgramVerification | undefined;
  /** A person approved a program: a request's verified program becomes an example of the request's submitter. */
  approved(programId: number): Promise<void>;
}

export function registerProgramMethods(reg: MethodRegistry, d: ProgramMethodsDeps): void {
  const { programs, rights } = d;
  const withVerification = <T extends { id: number }>(program: T): T => {
    const verification = d.verificationOf(program.id);
    return verification ? { ...program, verification } : program;
  };
  const ownerOf = (conn: { peer: Peer }, id: number): number | undefined => {
    const p = programs.find(id);
    if (!p) throw programNotFound(id);
    rights.requireVisible(conn.peer, { ownerUid: p.submittedUid, programId: id }, () => programNotFound(id));
    return p.submittedUid;
  };

  reg.register(ProgramsRun, async (p, conn) =>
    programs.run({
      source: p.source,
      ...(p.name !== undefined ? { name: p.name } : {}),
      submittedBy: personOf(conn.peer),
      policy: rights.lintPolicy(conn.peer),
      approve: p.approve ?? true,
      origin: 'file',
      requester: rights.checkRequester(conn.peer),
      signal: conn.signal,
    }),
  );
  reg.register(ProgramsCheck, async (p, conn) => {
    const { probes: _attachPoints, ...result } = await programs.check(p.source, 'program.bt', rights.lintPolicy(conn.peer), {
      requester: rights.checkRequester(conn.peer),
      signal: conn.signal,
    });
    const refused = result.diagnostics.filter(isPolicyDiagnostic);
    if (refused.length > 0) rights.decision('policy-refuse', conn.peer, {}, `check: ${refused.map((d) => d.message).join('; ')}`);
    return result;
  });
  reg.register(ProgramsApprove, async (p, conn) => {
    rights.require(conn.peer, 'approve', { ownerUid: ownerOf(conn, p.id), programId: p.id });
    const approved = withVerification(await programs.approve(p.id, personOf(conn.peer)));
    await d.approved(p.id);
    return { program: approved };
  });
  reg.register(ProgramsList, async (p, conn) => ({ programs: programs.list(p.all ?? false, rights.isAdmin(conn.peer) ? undefined : conn.peer.uid) }));
  reg.register(ProgramsShow, async (p, conn) => {
    rights.require(conn.peer, 'see', { ownerUid: ownerOf(conn, p.id), programId: p.id });
    const shown = programs.show(p.id);
    return { ...shown, program: withVerification(shown.program) };
  });
  reg.register(ProgramsStop, async (p, conn) => {
    rights.require(conn.peer, 'stop', { ownerUid: ownerOf(conn, p.id), programId: p.id });
    return { program: await programs.stop(p.id, personOf(conn.peer)) };
  });
  reg.register(ProgramsLogs, async (p, conn) => {
    rights.require(conn.peer, 'see', { ownerUid: ownerOf(conn, p.id), programId: p.id });
    // A followed log keeps the connection out of the idle timeout until it ends.
    const release = p.follow ? conn.busy() : () => undefined;
    const result = await programs.logs(p.id, p.tail ?? 50, p.follow ?? false, {
      send: (entry) => conn.notify(ProgramLog, { id: p.id, entry }),
      end: (reason) => {
        release();
        void conn.notify(ProgramLogEnd, { id: p.id, reason });
      },
      onClose: (fn) => conn.onClose(fn),
    }, p.after);
    if (!result.following) release();
    return result;
  });
}

/** Diagnostics of the policy lint: what a caller's role may not use. */
function isPolicyDiagnostic(d: Diagnostic): boolean {
  return d.severity === 'error' && ['lint.unsafe-builtin', 'lint.denied-builtin', 'lint.raw-memory', 'lint.probe-type-denied', 'lint.preprocessor-refused', 'lint.probe-target-hidden'].includes(d.code);
}
