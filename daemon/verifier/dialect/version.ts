/**
 * Choosing a dialect from a bpftrace version: the nearest profile at or below it. A version newer
 * than the newest profile gets the newest, flagged so the daemon can warn; one older than the
 * oldest gets nothing (kgent does not model it).
 */
import { PROFILES, type Dialect } from './profiles.js';

export interface VersionNumber {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Reads `0.23.2`, `v0.23.2`, `bpftrace v0.23.2`, `0.27.0-rc1` ... ; undefined when there is no version. */
export function parseVersion(text: string): VersionNumber | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

function compare(a: VersionNumber, b: VersionNumber): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export type ProfileChoice =
  /** The profile of this minor version, or the nearest older one (no language change between). */
  | { readonly kind: 'exact' | 'nearest-below'; readonly dialect: Dialect }
  /** Newer than every profile: the newest is used, and the caller must warn. */
  | { readonly kind: 'newer-than-known'; readonly dialect: Dialect; readonly newest: string }
  /** Older than every profile (or not a version): no dialect. */
  | { readonly kind: 'unsupported'; readonly reason: string };

/** The nearest profile at or below `version` (a version string or a parsed one). */
export function nearestProfile(version: string | VersionNumber): ProfileChoice {
  const v = typeof version === 'string' ? parseVersion(version) : version;
  if (!v) return { kind: 'unsupported', reason: `'${String(version)}' is not a bpftrace version` };
  const newest = PROFILES[PROFILES.length - 1] as Dialect;
  const at = (d: Dialect): VersionNumber => parseVersion(d.version) as VersionNumber;
  if (compare({ ...v, patch: 0 }, at(newest)) > 0) return { kind: 'newer-than-known', dialect: newest, newest: newest.version };
  let best: Dialect | undefined;
  for (const d of PROFILES) if (compare(at(d), { ...v, patch: 0 }) <= 0) best = d;
  if (!best) return { kind: 'unsupported', reason: `bpftrace ${v.major}.${v.minor} is older than ${(PROFILES[0] as Dialect).version}, the oldest version kgent models` };
  const a = at(best);
  return { kind: a.major === v.major && a.minor === v.minor ? 'exact' : 'nearest-below', dialect: best };
}
