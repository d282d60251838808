/** kgentctl's exit statuses (also printed by `kgentctl --help`). `verify` has its own, see there. */
export const ExitCode = {
  Ok: 0,
  /** The operation ran and failed: program rejected, attach failed, a doctor check failed. */
  Failed: 1,
  Usage: 2,
  /** kgentd not running or the socket not accessible. */
  Unreachable: 3,
  NotFound: 4,
  /** Refused by policy, needs approval, or not available (e.g. no LLM reachable). */
  Refused: 5,
  /** Anything else the daemon reported. */
  DaemonError: 6,
  /** Cancelled by the user (Ctrl-C): 128 + SIGINT, as a shell reports a program that SIGINT ended. */
  Cancelled: 130,
  /** The reader of kgentctl's output went away (`| head`): 128 + SIGPIPE, as for other tools. */
  PipeClosed: 141,
} as const;

/** An error that ends kgentctl with one clear line on stderr and a documented exit status. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
