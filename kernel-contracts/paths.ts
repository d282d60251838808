/**
 * Files kernel-contracts ships next to its code (prompt templates), found from the repository
 * root so the same lookup works from `kernel-contracts/` (tap, tsx) and from `dist/` (production).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The nearest ancestor of this module holding `package.json`. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`kernel-contracts: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** `kernel-contracts/prompts` in the repository. */
export function promptsDir(): string {
  return path.join(repoRoot(), 'kernel-contracts', 'prompts');
}
