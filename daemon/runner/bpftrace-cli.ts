/**
 * What the installed bpftrace can do, found by asking it (`--version`, `--help`) rather than by
 * assuming a release: flags differ between 0.17 (Debian 12) and current releases.
 */
import { execa } from 'execa';
import { parseBpftraceVersion, whichBpftrace, type BpftraceVersion } from '../../kernel-contracts/kernel-reader/bpftrace.js';
import { KgentError } from '../errors.js';

export type { BpftraceVersion };

export interface BpftraceCli {
  readonly path: string;
  readonly version: BpftraceVersion;
  /** `--dry-run` exists (newer releases): load-check without attaching. 0.17 lacks it. */
  readonly hasDryRun: boolean;
  /** `-f json` output. */
  readonly hasJsonOutput: boolean;
  /** `--unsafe` is how system()/signal()/override() are allowed. */
  readonly hasUnsafe: boolean;
}

export async function detectBpftrace(name: string): Promise<BpftraceCli> {
  const path = (await whichBpftrace(name)) ?? name;
  const versionOut = await execa(path, ['--version'], { reject: false, timeout: 10_000 }).catch((err: unknown) => err);
  const out = versionOut as { exitCode?: number; stdout?: string; stderr?: string; code?: string };
  if (out.exitCode !== 0 || !out.stdout) {
    throw new KgentError(
      'unavailable',
      `bpftrace not usable at "${path}": ${out.stderr || out.code || 'no version output'}; install it (apt-get install bpftrace) or set bpftracePath`,
      { path },
    );
  }
  const version = parseBpftraceVersion(out.stdout);
  if (!version) throw new KgentError('unavailable', `cannot read bpftrace version from "${out.stdout.trim()}"`, { path });
  // `--help` exits non-zero on some releases; only its text matters.
  const help = await execa(path, ['--help'], { reject: false, timeout: 10_000, all: true });
  const text = String(help.all ?? '');
  return {
    path,
    version,
    hasDryRun: /--dry-run/.test(text),
    hasJsonOutput: /-f\s+FORMAT|json/.test(text),
    hasUnsafe: /--unsafe/.test(text),
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
