/**
 * Which bpftrace versions an example fits, as far as retrieval decides it: the SQL filter that
 * keeps a search to one dialect, and, for a learned entry whose dialect is unknown (learned before
 * versions were kept), the profiles whose front-end and acceptance rules take its program. Dataset
 * examples carry their versions from datasets/example-versions.json (computed with the whole
 * verifier); a learned entry carries the dialect its request was verified under.
 */
import { checkAcceptance } from '../verifier/acceptance.js';
import { PROFILES } from '../verifier/dialect/index.js';
import { parse } from '../verifier/frontend/index.js';

/** A dialect profile's version as the table stores it (`0.23`). */
const PROFILE_VERSION = /^\d+\.\d+$/;

/** The profiles whose syntax and acceptance rules take `program` (every one for an empty program: an avoid note without a candidate). */
export function acceptedVersions(program: string): string[] {
  if (program.trim() === '') return PROFILES.map((d) => d.version);
  return PROFILES.filter((d) => {
    const parsed = parse(program, 'example.bt', { dialect: d });
    if (!parsed.program || parsed.diagnostics.some((x) => x.severity === 'error')) return false;
    return !checkAcceptance(parsed.program, d).some((x) => x.severity === 'error');
  }).map((d) => d.version);
}

/** The SQL condition "fits `dialect`" over the `versions` column (a JSON array of profile versions). */
export function versionFilter(dialect: string): string {
  if (!PROFILE_VERSION.test(dialect)) throw new Error(`not a dialect profile version: ${dialect}`);
  return `versions LIKE '%"${dialect}"%'`;
}
