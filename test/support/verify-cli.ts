/** `kgentctl verify` run in-process on golden files, its output captured (the CLI's own tests). */
import path from 'node:path';
import { verifyCommand } from '../../cli/commands/verify-command.js';
import { goldenDir, recordedFormatsDir } from './golden.js';

class Sink {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export async function runVerify(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await verifyCommand(argv, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

/** A golden case's path, relative to the golden folder. */
export const golden = (rel: string): string => path.join(goldenDir(), rel);

/** The recorded tracepoint formats the golden cases are verified against. */
export const recordedFormats = (): string[] => ['--formats', recordedFormatsDir()];
