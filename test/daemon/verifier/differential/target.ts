/**
 * Which bpftrace the differential test runs against: the host's (/usr/bin/bpftrace, 0.17 here) by
 * default, or the bpftrace of a Debian chroot named by KGENT_DIFFTEST_ROOT (e.g.
 * /var/cache/kgent-bpftrace/trixie, 0.23.2), or another binary (`--bpftrace PATH`). The executor
 * then follows that version's dialect (its nearest profile). A chroot's bpftrace runs in a private mount namespace with /proc and /sys
 * bound in, and this process's libc bound at /tmp/host-libc.so.6 (uprobes attach by inode, so
 * its getppid/getenv probes fire when this process calls them).
 */
import { spawnSync } from 'node:child_process';
import { DEFAULT_DIALECT, nearestProfile, type Dialect } from '../../../../daemon/verifier/dialect/index.js';

export interface BpftraceTarget {
  /** The chroot, or undefined for the host's bpftrace. */
  readonly root?: string;
  readonly version: string;
  readonly dialect: Dialect;
}

/** Where the runner's own libc appears to a chroot's bpftrace. */
export const CHROOT_LIBC = '/tmp/host-libc.so.6';

let cached: BpftraceTarget | undefined;
let binary = '/usr/bin/bpftrace';

/**
 * The bpftrace this run executes when no chroot is named: the host's by default, or any executable
 * taking bpftrace's arguments (a root's wrapper, test/dialects/build-bpftrace-root.sh). Its version
 * chooses the executor's dialect, so a newer binary is never compared with 0.17's semantics.
 */
export function useBpftrace(bin: string): void {
  if (bin === binary) return;
  binary = bin;
  cached = undefined;
}

/** The target of this run (KGENT_DIFFTEST_ROOT, else the binary). Throws when it has no usable bpftrace or a version kgent does not model. */
export function bpftraceTarget(): BpftraceTarget {
  if (cached) return cached;
  const root = process.env.KGENT_DIFFTEST_ROOT;
  const r = root ? spawnSync('chroot', [root, 'bpftrace', '--version'], { encoding: 'utf8' }) : spawnSync(binary, ['--version'], { encoding: 'utf8' });
  const version = /v?(\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1];
  const where = root ?? binary;
  if (r.status !== 0 || !version) throw new Error(`no bpftrace runs as ${where}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  const choice = nearestProfile(version);
  if (choice.kind === 'unsupported') throw new Error(`bpftrace ${version} (${where}): ${choice.reason}`);
  return (cached = { ...(root ? { root } : {}), version, dialect: choice.dialect });
}

/** Whether the executor follows another dialect than 0.17's (its unmodelled values are not claimed). */
export function newerDialect(): boolean {
  return bpftraceTarget().dialect !== DEFAULT_DIALECT;
}

/**
 * The command that runs `file` (a program in `dir`) with the target's bpftrace: the host's as is;
 * a chroot's through unshare, with `dir` bound at the chroot's /tmp.
 */
export function bpftraceCommand(file: string, dir: string, hostLibc: string): { cmd: string; args: string[] } {
  const t = bpftraceTarget();
  if (!t.root) return { cmd: 'bpftrace', args: [file] };
  const script = [
    'R=$0; DIR=$1; LIBC=$2; FILE=$3;',
    'mount --bind /proc "$R/proc" && mount --rbind /sys "$R/sys" && mount --bind "$DIR" "$R/tmp"',
    `&& touch "$R${CHROOT_LIBC}" && mount --bind "$LIBC" "$R${CHROOT_LIBC}"`,
    '&& exec chroot "$R" bpftrace "/tmp/$FILE"',
  ].join(' ');
  return { cmd: 'unshare', args: ['-m', 'sh', '-c', script, t.root, dir, hostLibc, file.slice(dir.length + 1)] };
}
