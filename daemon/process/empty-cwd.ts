/**
 * kgentd works in an empty directory of its own. clang, run by bpftrace on a submitted program,
 * resolves `#include "x"` and even `#include <x>` against the working directory (its search path
 * ends in `./`, bpftrace 0.17), and kgentd's children inherit it: started from `/`, a relative
 * include named any file of the host. The directory is `STATE_DIR/cwd`, made here (and by the
 * unit's `StateDirectory=`, which also names it `WorkingDirectory=`): a real directory, owned by
 * kgentd's user, writable by nobody else, and emptied at every start.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export const EMPTY_CWD_NAME = 'cwd';

/** Makes `stateDir/cwd` an empty directory of ours, changes into it, and returns its path. */
export function enterEmptyWorkingDirectory(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const dir = path.join(stateDir, EMPTY_CWD_NAME);
  let st = lstatOrUndefined(dir);
  const uid = process.getuid?.();
  if (st && (!st.isDirectory() || (uid !== undefined && st.uid !== uid))) {
    // A symlink, a file or someone else's directory: not ours to work in.
    rmSync(dir, { recursive: true, force: true });
    st = undefined;
  }
  if (!st) mkdirSync(dir, { mode: 0o700 });
  // Writable by its owner while emptied: under the unit, root has no CAP_DAC_OVERRIDE.
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { recursive: true, force: true });
  // Then writable by nobody (root without CAP_DAC_OVERRIDE included), whatever StateDirectoryMode= gave it.
  chmodSync(dir, 0o555);
  process.chdir(dir);
  return dir;
}

function lstatOrUndefined(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
