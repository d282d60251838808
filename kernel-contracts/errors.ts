/**
 * Operational failures of kernel-contracts (no BTF, an unreadable tracefs file, an unknown hook,
 * an LLM that cannot be reached). kernel-contracts never imports the daemon, so it has its own
 * typed error: the same shape as the daemon's `KgentError` (code, one-line message, data for the
 * log), with codes drawn from the same set. The daemon's `asKgentError` turns it into a
 * `KgentError` with the same code, so the control socket answers with the matching JSON-RPC error.
 */
export type ContractsErrorCode = 'bad-request' | 'not-found' | 'refused' | 'unavailable' | 'kernel-unsupported' | 'io' | 'internal' | 'config';

export class ContractsError extends Error {
  readonly code: ContractsErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ContractsErrorCode, message: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContractsError';
    this.code = code;
    this.data = data;
  }
}
