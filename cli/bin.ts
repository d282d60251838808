#!/usr/bin/env node
import { ExitCode } from './exit-codes.js';
import { main } from './main.js';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kgentctl: ${(err as Error).message}\n`);
    process.exitCode = ExitCode.DaemonError;
  },
);
