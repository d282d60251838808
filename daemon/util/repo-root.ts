/**
 * The directory kgent is installed or checked out in: the nearest ancestor of this module whose
 * package.json names `kgent`. The same lookup works from sources (tap), from dist/ and from
 * /opt/kgent, so files shipped beside the code (prompts, datasets, golden files) are found.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function repoRoot(): string {
  if (cached) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kgent') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`kgent: no kgent package.json above ${start}`);
    dir = up;
  }
}

/** The version in kgent's package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
