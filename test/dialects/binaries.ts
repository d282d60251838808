/**
 * The bpftrace binaries of this host that the dialect facts and the differential tester can run:
 * the distribution's /usr/bin/bpftrace and the wrapper of each Debian root built by
 * build-bpftrace-root.sh (cached outside the clone, under KGENT_BPFTRACE_ROOTS or
 * /var/cache/kgent-bpftrace). Each is named by the version it reports, never by the release it
 * was meant to be.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface BpftraceBinary {
  /** What to execute: /usr/bin/bpftrace or DIR/kgent-bpftrace. */
  readonly path: string;
  /** Where it comes from: "host" or the root's codename. */
  readonly source: string;
  /** `bpftrace --version` without the "bpftrace v" prefix, e.g. "0.23.2". */
  readonly version: string;
}

/** The Debian releases the project builds roots for (test/dialects/README.md). */
export const ROOT_CODENAMES = ['trixie', 'sid'] as const;

export function rootsDir(): string {
  return process.env.KGENT_BPFTRACE_ROOTS ?? '/var/cache/kgent-bpftrace';
}

/** "0.23.2" from "bpftrace v0.23.2" (and from "bpftrace v0.27.1-1" style suffixes: the numbers only). */
export function parseVersion(text: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(text)?.[1];
}

/** The version a bpftrace binary reports, or why it cannot be run. */
export function versionOf(bin: string): string | Error {
  try {
    const out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).toString();
    return parseVersion(out) ?? new Error(`${bin} --version printed no version: ${out.trim()}`);
  } catch (err) {
    return new Error(`${bin} --version failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** One candidate binary, found or skipped with the reason. */
export type BinaryProbe = { readonly ok: true; readonly bin: BpftraceBinary } | { readonly ok: false; readonly source: string; readonly reason: string };

/** The host's bpftrace and each built root's, each with its version or why it is unavailable. */
export function probeBinaries(): BinaryProbe[] {
  const candidates: { source: string; path: string; missing: string }[] = [
    { source: 'host', path: '/usr/bin/bpftrace', missing: 'bpftrace is not installed at /usr/bin/bpftrace' },
    ...ROOT_CODENAMES.map((c) => {
      const dir = path.join(rootsDir(), c);
      return {
        source: c,
        path: path.join(dir, 'kgent-bpftrace'),
        missing: `no ${c} root at ${dir} (build it: test/dialects/build-bpftrace-root.sh ${c})`,
      };
    }),
  ];
  return candidates.map((c): BinaryProbe => {
    if (!existsSync(c.path) || (c.source !== 'host' && !existsSync(path.join(path.dirname(c.path), '.kgent-root-complete')))) {
      return { ok: false, source: c.source, reason: c.missing };
    }
    const v = versionOf(c.path);
    return v instanceof Error ? { ok: false, source: c.source, reason: v.message } : { ok: true, bin: { path: c.path, source: c.source, version: v } };
  });
}
