/**
 * Files kernel-contracts ships next to its code (prompt templates), found from the repository
 * root so the same lookup works from `kernel-contracts/` (tap, tsx) and from `dist/` (production).
 */
import path from 'node:path';
import { repoRoot } from '../daemon/util/repo-root.js';

export { repoRoot };

/** `kernel-contracts/prompts` in the repository. */
export function promptsDir(): string {
  return path.join(repoRoot(), 'kernel-contracts', 'prompts');
}
