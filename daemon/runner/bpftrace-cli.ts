/**
 * What the installed bpftrace can do, found by asking it (`--version`, `--info`, `--help`) rather than by
 * assuming a release: flags differ between 0.17 (Debian 12) and current releases.
 */
import { execa } from 'execa';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import {
  readBpftraceInfo,
  type BpftraceFeatures,
  type BpftraceInfo,
  type BpftraceVersion,
} from '../../kernel-contracts/kernel-reader/bpftrace.js';
import { KgentError } from '../errors.js';
import { outputFormatFor, type BpftraceOutputFormat } from './bpftrace-formats.js';

export type { BpftraceVersion };

export interface BpftraceCli {
  readonly path: string;
  readonly version: BpftraceVersion;
  /** `bpftrace --info` (what this bpftrace can attach); absent when --info failed. */
  readonly features?: BpftraceFeatures;
  /** `--dry-run` exists (newer releases): load-check without attaching. 0.17 lacks it. */
  readonly hasDryRun: boolean;
  /** `-f json` output. */
  readonly hasJsonOutput: boolean;
  /** `--unsafe` is how system()/signal()/override() are allowed. */
  readonly hasUnsafe: boolean;
  /** What this release prints (from its version); 0.17's when absent. */
  readonly output?: BpftraceOutputFormat;
}

/**
 * Path, version and `--info` features from the kernel reader (which reports what bpftrace can
 * attach), plus the run flags this daemon needs from `--help`.
 */
export async function detectBpftrace(name: string): Promise<BpftraceCli> {
  let info: BpftraceInfo;
  try {
    info = await readBpftraceInfo({ bin: name, timeoutMs: 10_000 });
  } catch (err) {
    throw new KgentError('unavailable', `${(err as Error).message}; or set bpftracePath in /etc/kgent/config.json`, { bin: name });
  }
  // `--help` exits non-zero on some releases; only its text matters.
  const help = await execa(info.path, ['--help'], { reject: false, timeout: 10_000, all: true });
  const text = String(help.all ?? '');
  return {
    path: info.path,
    version: info.version,
    ...(info.features ? { features: info.features } : {}),
    hasDryRun: /--dry-run/.test(text),
    hasJsonOutput: /-f\s+FORMAT|json/.test(text),
    hasUnsafe: /--unsafe/.test(text),
    output: outputFormatFor(info.version),
  };
}

/** Arguments to run a program file, adapted to this bpftrace. */
export function runArgs(cli: BpftraceCli, file: string, opts: { unsafe: boolean; verbose?: boolean; dryRun?: boolean }): string[] {
  const args: string[] = [];
  if (cli.hasJsonOutput) args.push('-f', 'json');
  if (opts.unsafe && cli.hasUnsafe) args.push('--unsafe');
  if (opts.verbose) args.push('-v');
  if (opts.dryRun && cli.hasDryRun) args.push('--dry-run');
  args.push(file);
  return args;
}

/**
 * The comm a process started from `file` gets: the base name of the executable the kernel runs
 * (15 bytes), when `file` is one (ELF). Undefined for a script (a wrapper around another
 * bpftrace), whose interpreter decides the comm.
 */
export async function executableComm(file: string): Promise<string | undefined> {
  try {
    const real = await realpath(file);
    const fh = await open(real, 'r');
    try {
      const head = Buffer.alloc(4);
      await fh.read(head, 0, 4, 0);
      return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ? path.basename(real).slice(0, 15) : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}
