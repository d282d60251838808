/**
 * Operational errors (a missing binary, a full disk, a bad request). Problems in a user's program
 * are {@link Diagnostic}s, not errors. Every KgentError has a stable code, a one-line message
 * that says what failed, why and what to do, and data for the log.
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

/** Wraps anything thrown into a KgentError, keeping the original as `cause`. */
export function asKgentError(err: unknown, fallbackCode: ErrorCode = 'internal', context?: string): KgentError {
  if (err instanceof KgentError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new KgentError(fallbackCode, context ? `${context}: ${msg}` : msg, undefined, { cause: err });
}
