/**
 * `status` and `doctor` of the control socket: the state of kgentd, and every precondition of
 * kgent on this host (doctor.ts) plus the disk under the state dir.
 */
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import type { KgentConfig } from '../config.js';
import { kernelCheckSlots } from '../kernel-check/check-limits.js';
import type { Rights } from '../policy/rights.js';
import type { ProgramService } from '../programs/program-service.js';
import { Doctor, Status, type DoctorCheck } from '../protocol/methods.js';
import type { BpftraceCli } from '../runner/bpftrace-cli.js';
import type { DialectChoice } from '../runner/dialect-choice.js';
import type { MethodRegistry } from '../server/control-server.js';
import { storageHealth } from '../store/storage-health.js';
import { dialectCheck, runDoctor, type DoctorInputs } from './doctor.js';

export interface HealthMethodsDeps extends DoctorInputs {
  readonly config: KgentConfig;
  readonly version: string;
  /** When kgentd started (ms since the epoch). */
  readonly started: number;
  readonly kernelRelease: string;
  readonly cli: BpftraceCli | Error;
  readonly host: KernelHost;
  readonly programs: ProgramService;
  readonly rights: Rights;
  readonly dialect: DialectChoice;
}

export function registerHealthMethods(reg: MethodRegistry, d: HealthMethodsDeps): void {
  const { config, cli } = d;
  reg.register(Status, async (_p, conn) => ({
    version: d.version,
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - d.started) / 1000),
    socketPath: config.socketPath,
    stateDir: config.stateDir,
    kernelRelease: d.kernelRelease,
    bpftrace: {
      path: config.bpftracePath,
      ...(cli instanceof Error ? {} : { version: cli.version.text }),
      dialect: d.dialect.dialect.version,
      ...(d.dialect.warning ? { dialectWarning: d.dialect.warning } : {}),
    },
    programs: d.programs.counts(),
    storage: storageHealth.report(),
    kernelChecks: kernelCheckSlots().stats(),
    you: { uid: conn.peer.uid, user: conn.peer.user, role: d.rights.roleOf(conn.peer) ?? 'member' },
    mcp: { adminsMayApprove: config.mcp.adminsMayApprove },
  }));
  const doctorInputs: DoctorInputs = { config, cli, host: d.host, probes: d.probes, ...(d.deathSignalWrapper ? { deathSignalWrapper: d.deathSignalWrapper } : {}) };
  reg.register(Doctor, async () => ({ checks: [...(await runDoctor(doctorInputs)), dialectCheck(d.dialect), storageCheck()] }));
}


/** The `doctor` line about the disk under the state dir (full disk: logs dropped, daemon still up). */
function storageCheck(): DoctorCheck {
  const r = storageHealth.report();
  const counts = `${r.droppedLogLines} log line(s) and ${r.droppedStoreWrites} store write(s) dropped`;
  if (!r.writable) {
    return {
      name: 'storage',
      status: 'fail',
      detail: `writes under the state dir fail since ${r.failingSince}: ${r.lastError ?? 'unknown error'}; ${counts}; programs keep running`,
      fix: 'free space on the state dir filesystem (df -h /var/lib/kgent); logging resumes by itself',
    };
  }
  if (r.droppedLogLines + r.droppedStoreWrites > 0) {
    return { name: 'storage', status: 'warn', detail: `writable again; ${counts} while it was not (${r.lastError ?? ''})` };
  }
  return { name: 'storage', status: 'ok', detail: 'state dir writable, nothing dropped' };
}
