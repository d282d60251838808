/**
 * The installed bpftrace: where it is, its version, its own kernel feature probe (`--info`) and
 * its probe listing (`-l`). This runs a process; it belongs to the kernel reader because it
 * reports what can be attached.
 */
import { execa } from 'execa';
import { access } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { ContractsError } from '../errors.js';

/** A parsed bpftrace version. */
export interface BpftraceVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As printed, without the `v` (`0.17.0`, `0.21.2-dirty`). */
  readonly text: string;
}

/** `bpftrace --info` lines as `name -> yes/no` (`kfunc`, `kprobe`, `iter:task`, `btf`, ...). */
export type BpftraceFeatures = Readonly<Record<string, boolean>>;

/** The installed bpftrace. */
export interface BpftraceInfo {
  /** Absolute path of the binary. */
  readonly path: string;
  readonly version: BpftraceVersion;
  /** From `bpftrace --info`; undefined when that failed (it needs root). */
  readonly features: BpftraceFeatures | undefined;
  /** Raw `--info` text ('' when it failed). */
  readonly infoText: string;
}

/** Options for running bpftrace. */
export interface BpftraceOptions {
  /** Binary to run; default: `bpftrace` found on PATH. */
  readonly bin?: string;
  /** Timeout per invocation in ms (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * Parses `bpftrace --version` output (`bpftrace v0.17.0`, `bpftrace v0.21.2-12-gdeadbeef`).
 * Returns undefined when no version is found.
 */
export function parseBpftraceVersion(text: string): BpftraceVersion | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?([-+~][\w.+~-]*)?/.exec(text);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3] ?? 0),
    text: m[0].replace(/^v/, ''),
  };
}

/**
 * Parses `bpftrace --info`: every `name: yes|no` entry, keyed by name as printed. Sections are
 * flattened (names do not collide across sections in any released bpftrace). Layouts differ by
 * release (checked on the real binaries, recorded in test/kernel-contracts/reader/fixtures):
 * 0.17 prints one entry per line; 0.23 and 0.27 print the helper, feature, map and probe sections
 * in two columns (`  probe_read: yes                  probe_read_str: yes`), the columns padded
 * with runs of spaces, and a section title may carry trailing spaces. A name may itself hold a
 * colon and single spaces (0.17: `uprobe refcount (depends on Build:bcc bpf_attach_uprobe
 * refcount): yes`), so an entry is a column split on two or more spaces, its name everything
 * before its last `: `. Entries whose value is not yes/no (`Instruction limit: 1000000`,
 * `version: v0.27.1`) are not features. Names also change between releases (`kfunc` in 0.17 is
 * `fentry` from 0.23, `iter:task` became `iter`): {@link bpftraceFeature} reads either.
 */
export function parseBpftraceInfo(text: string): BpftraceFeatures {
  const out: Record<string, boolean> = {};
  for (const line of text.split('\n')) {
    if (!/^\s/.test(line)) continue; // section titles start at column 0
    for (const column of line.trim().split(/\s{2,}/)) {
      const m = /^(.+):\s+(yes|no)$/.exec(column);
      if (m && m[1] !== undefined) out[m[1].trim()] = m[2] === 'yes';
    }
  }
  return out;
}

/**
 * The names one feature has had in `--info` across releases, first the current one. Checked on
 * 0.17.0, 0.23.2 and 0.27.1: fentry/fexit support is `kfunc` in 0.17 and `fentry` from 0.23; BPF
 * iterators are `iter:task` and `iter:task_file` in 0.17 and one `iter` from 0.23.
 */
const FEATURE_NAMES: Readonly<Record<string, readonly string[]>> = {
  fentry: ['fentry', 'kfunc'],
  iter: ['iter', 'iter:task', 'iter:task_file'],
};

/**
 * A feature as this bpftrace reports it, under any of its release names (`fentry` finds 0.17's
 * `kfunc`): true when any name reads yes, false when all read no, undefined when this release does
 * not report it (0.27's `--info` no longer lists kprobe or tracepoint, for one).
 */
export function bpftraceFeature(features: BpftraceFeatures | undefined, name: string): boolean | undefined {
  if (!features) return undefined;
  const seen = (FEATURE_NAMES[name] ?? [name]).map((n) => features[n]).filter((v): v is boolean => v !== undefined);
  if (seen.length === 0) return undefined;
  return seen.some((v) => v);
}

/** Finds an executable on PATH (or checks an explicit path); undefined when absent. */
export async function whichBpftrace(bin = 'bpftrace'): Promise<string | undefined> {
  const candidates = bin.includes('/')
    ? [bin]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      await access(c, fsConstants.X_OK);
      return path.resolve(c);
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Reads the installed bpftrace's path, version and `--info` features. Throws
 * `ContractsError('unavailable')` when bpftrace is not installed or prints no version.
 */
export async function readBpftraceInfo(opts: BpftraceOptions = {}): Promise<BpftraceInfo> {
  const bin = await whichBpftrace(opts.bin);
  if (!bin) {
    throw new ContractsError('unavailable', `bpftrace not found (${opts.bin ?? 'bpftrace on PATH'}); install the bpftrace package`, {
      bin: opts.bin ?? 'bpftrace',
    });
  }
  const timeout = opts.timeoutMs ?? 30_000;
  const v = await execa(bin, ['--version'], { reject: false, timeout });
  const version = parseBpftraceVersion(`${v.stdout}\n${v.stderr}`);
  if (!version) {
    throw new ContractsError('unavailable', `${bin} --version printed no version: ${(v.stderr || v.stdout).slice(0, 200)}`, { bin });
  }
  const info = await execa(bin, ['--info'], { reject: false, timeout });
  // --info prints to stderr in some releases, to stdout in others.
  const infoText = `${info.stdout}\n${info.stderr}`;
  const features = parseBpftraceInfo(infoText);
  return { path: bin, version, features: Object.keys(features).length > 0 ? features : undefined, infoText: info.exitCode === 0 ? infoText : '' };
}

/**
 * Probes bpftrace can attach to, from `bpftrace -l [pattern]` (`tracepoint:sock:inet_sock_set_state`,
 * `software:cpu-clock:`, ...). Throws `ContractsError('unavailable')` when bpftrace cannot run.
 */
export async function listProbes(pattern?: string, opts: BpftraceOptions = {}): Promise<string[]> {
  const bin = await whichBpftrace(opts.bin);
  if (!bin) throw new ContractsError('unavailable', 'bpftrace not found; install the bpftrace package', {});
  const args = pattern === undefined ? ['-l'] : ['-l', pattern];
  const r = await execa(bin, args, { reject: false, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.exitCode !== 0 && !r.stdout) {
    throw new ContractsError('unavailable', `bpftrace -l failed (exit ${r.exitCode}): ${r.stderr.split('\n')[0] ?? ''}`, {
      pattern,
      stderr: r.stderr.slice(0, 2000),
    });
  }
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('WARNING') && !l.startsWith('ERROR'));
}
