/**
 * The bpftrace versions each example fits, as recorded in `datasets/example-versions.json` by
 * `datasets/tools/record-versions.ts` (which computes them with the verifier under every dialect
 * profile; test/datasets/example-versions.test.ts fails when the file disagrees). Pure reading.
 *
 * Versions are dialect profiles (`0.17`, `0.20`, ... `0.27`, daemon/verifier/dialect/profiles.ts):
 * a host's bpftrace is verified under the nearest profile at or below it, so an example that fits
 * the profile fits that host.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One run of versions an example does not fit, and why (the verifier's first reason). */
export interface NotFit {
  readonly versions: readonly string[];
  readonly why: string;
}

export interface ExampleVersionRecord {
  /** The profiles the example fits, oldest first. */
  readonly versions: readonly string[];
  /** The profiles it does not fit, grouped by reason. */
  readonly notFit?: readonly NotFit[];
}

/** The file's shape. */
export interface VersionsFile {
  readonly about: string;
  /** Every profile the record was computed for, oldest first. */
  readonly profiles: readonly string[];
  readonly examples: Readonly<Record<string, ExampleVersionRecord>>;
}

/**
 * The version the dataset is written for: an example the file has no record of (added since the
 * file was generated) is offered for this one only, the version CI proves every example under.
 */
export const WRITTEN_FOR = '0.17';

export const VERSIONS_FILE = 'example-versions.json';

/** `datasets/example-versions.json` beside an examples directory (`datasets/examples`). */
export function versionsFileFor(examplesDir: string): string {
  return path.join(path.dirname(examplesDir), VERSIONS_FILE);
}

/** The recorded versions; an absent file records nothing (every example then fits {@link WRITTEN_FOR} only). */
export function readVersionsFile(file: string): VersionsFile | undefined {
  if (!existsSync(file)) return undefined;
  const v = JSON.parse(readFileSync(file, 'utf8')) as VersionsFile;
  if (!v || typeof v !== 'object' || !Array.isArray(v.profiles) || typeof v.examples !== 'object') throw new Error(`${file}: not a versions record (regenerate it with datasets/tools/record-versions.ts)`);
  return v;
}

/** The record of `id`, or the default for an example the file does not know. */
export function versionsOf(file: VersionsFile | undefined, id: string): ExampleVersionRecord {
  return file?.examples[id] ?? { versions: [WRITTEN_FOR] };
}
