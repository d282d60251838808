/**
 * The daemon's operational errors: {@link KgentError} (defined with the protocol) and the one
 * conversion every boundary uses. Errors of kernel-contracts, which does not know the daemon, are
 * converted here with their code kept.
 */
import { ContractsError, type ContractsErrorCode } from '../kernel-contracts/errors.js';
import { KgentError, type ErrorCode } from './protocol/errors.js';

export { KgentError, type ErrorCode };

// Every kernel-contracts code must be a daemon code (a compile error here otherwise).
const contractsCodeIsErrorCode = (c: ContractsErrorCode): ErrorCode => c;

/** Wraps anything thrown into a KgentError, keeping the original as `cause`. */
export function asKgentError(err: unknown, fallbackCode: ErrorCode = 'internal', context?: string): KgentError {
  if (err instanceof KgentError) return err;
  if (err instanceof ContractsError) return new KgentError(contractsCodeIsErrorCode(err.code), err.message, err.data, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new KgentError(fallbackCode, context ? `${context}: ${msg}` : msg, undefined, { cause: err });
}
