/**
 * kernel-contracts (KernelCompDataset): contracts of the running kernel's hooks, built from BTF,
 * tracefs and kernel sources, stored in SQLite and LanceDB, rebuilt when the kernel changes.
 *
 * The daemon uses {@link createContractService} and mounts {@link contractHandlers}; the verifier
 * gets `service.toVerifierProvider()`. See kernel-contracts/README.md.
 */
export { createContractService, type ContractService, type ContractServiceOptions, type ContractLogger, type LookupOptions, type SearchOptions } from './service.js';
export { contractHandlers, ContractsParams, type ContractHandler, type HandlerContext } from './handlers.js';
export * from './protocol.js';
export type { Contract, FunctionContract, TracepointContract, MemberContract, ValueContract, ProbeAvailability, EnumDomain, ContractDoc } from './contracts/model.js';
export type { Cond, Condition, Term, ConditionSource, EnrichmentAnswer } from './contracts/expr.js';
export { CONDITION_SCHEMA, validateAgainstSchema, checkCondition, renderCond, evalCond } from './contracts/expr.js';
export { verifierProvider, preconditionsFor, fieldContractOf, toContractExpr } from './verifier-adapter.js';
