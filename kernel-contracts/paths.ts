/**
 * Files kernel-contracts ships next to its code (prompt templates), found from the repository
 * root so the same lookup works from `kernel-contracts/` (tap, tsx) and from `dist/` (production).
 * (kernel-contracts does not import the daemon, so it has its own small root lookup.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The nearest ancestor of this module whose package.json names `kgent`. */
export function repoRoot(): string {
  if (cached) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kgent') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`kgent: no kgent package.json above ${start}`);
    dir = up;
  }
}

/** `kernel-contracts/prompts` in the repository. */
export function promptsDir(): string {
  return path.join(repoRoot(), 'kernel-contracts', 'prompts');
}
