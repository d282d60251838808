/**
 * uprobe, uretprobe and usdt attach points name a file that bpftrace opens as root to read its
 * symbols or notes before anything is loaded; its errors then tell whether the file exists and is
 * an executable (`uprobe target file '/etc/shadow' does not exist or is not executable`, bpftrace
 * 0.17), and a wildcard attaches to every symbol it finds. For a caller who may not read the host's
 * files, such a target must be a file anyone could read: its real path a regular file readable by
 * others, every directory above it searchable by others. Bare names (`bash`, `libc`) are found by
 * bpftrace on the daemon's PATH and in the linker's cache: public places. A relative path resolves
 * in kgentd's empty working directory.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { Program } from '../verifier/frontend/index.js';

const FILE_PROBES = new Set(['uprobe', 'uretprobe', 'usdt']);

/** Why `file` is not open to everyone, or undefined when it is. */
export type Visibility = (file: string) => string | undefined;

/** The real check: the file and its directories as the kernel sees them, symlinks resolved. */
export const worldReadable: Visibility = (file) => {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return 'it does not exist or is not reachable';
  }
  const st = statSync(real);
  if (!st.isFile()) return 'it is not a regular file';
  if ((st.mode & 0o004) === 0) return 'it is not readable by everyone';
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `${dir} is not open to everyone`;
    if (dir === path.dirname(dir)) break;
  }
  return undefined;
};

/** Attach points of `program` naming a file the caller could not read themselves. */
export function hiddenProbeTargets(program: Program, visible: Visibility, who = ''): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const probe of program.probes) {
    for (const ap of probe.attachPoints) {
      const file = ap.target[0];
      if (!FILE_PROBES.has(ap.provider) || file === undefined || !file.includes('/')) continue;
      const why = /[*?[]/.test(file) ? 'a wildcard in the path may name any file' : path.isAbsolute(file) ? visible(file) : undefined;
      if (why === undefined) continue;
      out.push({
        code: 'lint.probe-target-hidden',
        severity: 'error',
        stage: 'lint',
        message: `${ap.provider} target ${file} is refused${who}: ${why}`,
        span: ap.span,
        hints: ['attach to a binary or library everyone may read (e.g. /usr/bin/bash, libc), or ask an administrator'],
      });
    }
  }
  return out;
}
