/**
 * The control protocol of kgentd, the only part of the daemon the CLI imports: JSON-RPC message
 * shapes, typed method and notification constants with their params schemas and result types,
 * diagnostics and errors. It depends on nothing outside this folder.
 */
export * from './jsonrpc.js';
export * from './spec.js';
export * from './validate.js';
export * from './errors.js';
export * from './diagnostic.js';
export * from './methods.js';
export * from './contracts-api.js';
export * from './verify-api.js';
export * from './examples-api.js';
export * from './requests-api.js';
export * from './eval-api.js';

import { ContractsRebuild, ContractsSearch, ContractsShow, ContractsStatus } from './contracts-api.js';
import { Doctor, ProgramsApprove, ProgramsCheck, ProgramsList, ProgramsLogs, ProgramsRun, ProgramsShow, ProgramsStop, Status } from './methods.js';
import { RequestAccept, RequestCancel, RequestDelete, RequestHint, RequestShow, RequestsList, RequestsPrune, RequestSubmit } from './requests-api.js';
import { VerifyProgram } from './verify-api.js';
import { EvalList, EvalRun } from './eval-api.js';
import { ExamplesDemote, ExamplesList, ExamplesPromote, ExamplesRemove, ExamplesSearch, ExamplesShow } from './examples-api.js';

/** Every method kgentd serves (a test checks the daemon registers exactly these). */
export const ALL_METHODS = [
  Status,
  Doctor,
  ProgramsRun,
  ProgramsCheck,
  ProgramsApprove,
  ProgramsList,
  ProgramsShow,
  ProgramsStop,
  ProgramsLogs,
  RequestSubmit,
  RequestHint,
  RequestAccept,
  RequestCancel,
  RequestsList,
  RequestShow,
  RequestDelete,
  RequestsPrune,
  ContractsStatus,
  ContractsRebuild,
  ContractsShow,
  ContractsSearch,
  VerifyProgram,
  ExamplesList,
  ExamplesSearch,
  ExamplesShow,
  ExamplesRemove,
  ExamplesPromote,
  ExamplesDemote,
  EvalRun,
  EvalList,
] as const;
