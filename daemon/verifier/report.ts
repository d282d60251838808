/**
 * The verifier's result types: what `verifyProgram` returns, what `kgentctl verify --json` prints,
 * and what the Kgent loop turns into feedback. They cross the socket, so they are defined with the
 * protocol (`daemon/protocol/verify-api.ts`) and re-exported here for the verifier's modules.
 */
export type {
  AssertionResult,
  AssertionVerdict,
  Counterexample,
  CoverageResult,
  HintUse,
  ProgramVerdict,
  VerifyReport,
  VerifyTimings,
} from '../protocol/verify-api.js';
export { isVerified } from '../protocol/verify-api.js';
