/**
 * Which bpftrace dialect kgent verifies and prompts for: the profile of the bpftrace it runs
 * (`bpftrace --version`), or one named by a user (`kgentctl verify --dialect 0.23`). A version
 * newer than the newest profile gets the newest with a warning; one older than the oldest is not
 * modelled, and gets the oldest with a warning, never silence.
 */
import { DEFAULT_DIALECT, nearestProfile, PROFILES, type Dialect } from '../verifier/dialect/index.js';
import { KgentError } from '../errors.js';

export interface DialectChoice {
  readonly dialect: Dialect;
  /** The bpftrace version it was chosen for (`0.23.2`), or what the user named. */
  readonly forVersion: string;
  /** Set when the profile is not the version's own: what a sysadmin should know. */
  readonly warning?: string;
}

/** The profiles kgent has, for messages: `0.17, 0.20, ..., 0.27`. */
export function knownDialects(): string {
  return PROFILES.map((p) => p.version).join(', ');
}

/** The profile for the bpftrace whose `--version` reads `versionText`. */
export function dialectForBpftrace(versionText: string | undefined): DialectChoice {
  if (versionText === undefined) {
    return { dialect: DEFAULT_DIALECT, forVersion: 'unknown', warning: `the bpftrace version is unknown; programs are verified under bpftrace ${DEFAULT_DIALECT.version}'s rules` };
  }
  const choice = nearestProfile(versionText);
  switch (choice.kind) {
    case 'exact':
    case 'nearest-below':
      return { dialect: choice.dialect, forVersion: versionText };
    case 'newer-than-known':
      return {
        dialect: choice.dialect,
        forVersion: versionText,
        warning: `bpftrace ${versionText} is newer than the newest dialect kgent models (${choice.newest}); programs are verified under ${choice.newest}'s rules, which may differ: upgrade kgent`,
      };
    case 'unsupported':
      return { dialect: DEFAULT_DIALECT, forVersion: versionText, warning: `${choice.reason}; programs are verified under ${DEFAULT_DIALECT.version}'s rules: install bpftrace ${DEFAULT_DIALECT.version} or newer` };
  }
}

/** The profile a user named (`0.23`, `0.23.2`, `v0.27.1`); a usage error when kgent has none for it. */
export function dialectNamed(name: string): DialectChoice {
  const choice = nearestProfile(name);
  if (choice.kind === 'unsupported') throw new KgentError('bad-request', `unknown bpftrace dialect "${name}": ${choice.reason}; known: ${knownDialects()}`);
  if (choice.kind === 'newer-than-known') {
    throw new KgentError('bad-request', `unknown bpftrace dialect "${name}": newer than the newest kgent models (${choice.newest}); known: ${knownDialects()}`);
  }
  return { dialect: choice.dialect, forVersion: name };
}
