/**
 * Which bpftrace the differential test runs against: the host's (/usr/bin/bpftrace, 0.17 here) by
 * default, or the bpftrace of a Debian chroot named by KGENT_DIFFTEST_ROOT (e.g.
 * /var/cache/kgent-bpftrace/trixie, 0.23.2). The executor then follows that version's dialect
 * (its nearest profile). A chroot's bpftrace runs in a private mount namespace with /proc and /sys
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

/** The target of this run (read once from KGENT_DIFFTEST_ROOT). Throws when the chroot has no usable bpftrace. */
export function bpftraceTarget(): BpftraceTarget {
  if (cached) return cached;
  const root = process.env.KGENT_DIFFTEST_ROOT;
  if (!root) return (cached = { version: '0.17', dialect: DEFAULT_DIALECT });
  const r = spawnSync('chroot', [root, 'bpftrace', '--version'], { encoding: 'utf8' });
  const version = /v?(\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !version) throw new Error(`no bpftrace runs in ${root}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  const choice = nearestProfile(version);
  if (choice.kind === 'unsupported') throw new Error(`bpftrace ${version} in ${root}: ${choice.reason}`);
  return (cached = { root, version, dialect: choice.dialect });
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
