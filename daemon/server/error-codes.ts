/** Maps operational error codes to JSON-RPC error codes (and back, for the CLI's exit statuses). */
import type { ErrorCode } from '../protocol/errors.js';
import { ErrorCodes } from '../protocol/jsonrpc.js';

export const RPC_CODE_OF: Readonly<Record<ErrorCode, number>> = {
  'bad-request': ErrorCodes.InvalidParams,
  'not-found': ErrorCodes.NotFound,
  conflict: ErrorCodes.Conflict,
  refused: ErrorCodes.Refused,
  unavailable: ErrorCodes.Unavailable,
  'kernel-unsupported': ErrorCodes.KernelUnsupported,
  io: ErrorCodes.Io,
  internal: ErrorCodes.InternalError,
  timeout: ErrorCodes.Timeout,
  config: ErrorCodes.Config,
};
