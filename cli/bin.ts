#!/usr/bin/env node
import { ExitCode } from './exit-codes.js';
import { main } from './main.js';

/**
 * A reader that went away (`kgentctl logs 1 -f | head -3`) is not an error: like the tools killed
 * by SIGPIPE, kgentctl stops at once, prints nothing, and exits with the status a shell reports
 * for SIGPIPE (128 + 13). Node ignores SIGPIPE, so a closed pipe reaches us as EPIPE on the stream.
 */
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.PipeClosed);
    throw err;
  });
}

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kgentctl: ${(err as Error).message}\n`);
    process.exitCode = ExitCode.DaemonError;
  },
);
