/**
 * The real bpftrace binaries of several versions on this host, to check the dialect profiles
 * against: /usr/bin/bpftrace (Debian 12's 0.17) and the Debian chroots the project caches under
 * /var/cache/kgent-bpftrace/<suite> (or the directories in KGENT_BPFTRACE_ROOTS, colon-separated),
 * each run in a private mount namespace with /proc and /sys bound into it. Needs root for the
 * chroot; a binary that cannot run is simply absent (the tests say so and skip).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface RealBpftrace {
  /** `0.23.2`. */
  readonly version: string;
  readonly where: string;
  /** Runs `-e program` (a BEGIN program that exits) and says whether it compiled and loaded. */
  run(program: string): RunOutcome;
}

export type RunOutcome =
  | { readonly kind: 'accepted'; readonly output: string }
  | { readonly kind: 'refused'; readonly error: string }
  /** The host cannot run it (a kernel feature missing here), whatever the program. */
  | { readonly kind: 'environment'; readonly error: string };

const TIMEOUT_MS = 30_000;

function classify(status: number | null, stdout: string, stderr: string): RunOutcome {
  const errors = stderr.split('\n').filter((l) => /ERROR/.test(l) && !/RLIMIT_MEMLOCK/.test(l));
  if (/could not read traceable functions|is tracefs mounted/.test(stderr)) return { kind: 'environment', error: errors.join('\n') };
  if (status === 0 && errors.length === 0) return { kind: 'accepted', output: stdout };
  return { kind: 'refused', error: errors.join('\n') || `exit status ${status}` };
}

function versionOf(out: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(out)?.[1];
}

function hostBinary(): RealBpftrace | undefined {
  const bin = '/usr/bin/bpftrace';
  if (!existsSync(bin)) return undefined;
  let version: string | undefined;
  try {
    version = versionOf(execFileSync(bin, ['--version'], { encoding: 'utf8' }));
  } catch {
    return undefined;
  }
  if (!version) return undefined;
  return {
    version,
    where: bin,
    run(program) {
      const r = spawnSync(bin, ['-e', program], { encoding: 'utf8', timeout: TIMEOUT_MS });
      return classify(r.status, r.stdout, r.stderr);
    },
  };
}

const IN_CHROOT = 'R=$0; P=$1; mount --bind /proc "$R/proc" && mount --rbind /sys "$R/sys" && exec chroot "$R" bpftrace -e "$P"';

function chrootBinary(root: string): RealBpftrace | undefined {
  if (!existsSync(join(root, 'usr/bin/bpftrace')) || process.getuid?.() !== 0) return undefined;
  const v = spawnSync('chroot', [root, 'bpftrace', '--version'], { encoding: 'utf8', timeout: TIMEOUT_MS });
  const version = v.status === 0 ? versionOf(v.stdout) : undefined;
  if (!version) return undefined;
  return {
    version,
    where: `${root} (chroot)`,
    run(program) {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', IN_CHROOT, root, program], { encoding: 'utf8', timeout: TIMEOUT_MS });
      return classify(r.status, r.stdout, r.stderr);
    },
  };
}

/** Every real bpftrace found here, oldest first. */
export function realBinaries(): RealBpftrace[] {
  const roots = process.env.KGENT_BPFTRACE_ROOTS
    ? process.env.KGENT_BPFTRACE_ROOTS.split(':').filter(Boolean)
    : existsSync('/var/cache/kgent-bpftrace')
      ? readdirSync('/var/cache/kgent-bpftrace').map((d) => join('/var/cache/kgent-bpftrace', d))
      : [];
  const found = [hostBinary(), ...roots.map(chrootBinary)].filter((b): b is RealBpftrace => b !== undefined);
  const key = (v: string): number[] => v.split('.').map(Number);
  return found.sort((a, b) => {
    const [x, y] = [key(a.version), key(b.version)];
    return (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0) || (x[2] ?? 0) - (y[2] ?? 0);
  });
}
