/**
 * Operational errors (a missing binary, a full disk, a bad request) as they cross the socket.
 * Problems in a user's program are {@link Diagnostic}s, not errors. Every KgentError has a stable
 * code, a one-line message that says what failed, why and what to do, and data for the log.
 * It lives with the protocol (which depends on nothing else) because params validation throws it
 * and the CLI imports the protocol; the daemon's `daemon/errors.ts` adds the conversions.
 */
export type ErrorCode =
  | 'bad-request'
  | 'not-found'
  | 'conflict'
  | 'refused'
  | 'unavailable'
  | 'kernel-unsupported'
  | 'io'
  | 'internal'
  | 'timeout'
  | 'config';

export class KgentError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KgentError';
    this.code = code;
    this.data = data;
  }
}
