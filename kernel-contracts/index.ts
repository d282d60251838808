/**
 * kernel-contracts (KernelCompDataset): contracts of the running kernel's hooks, built from BTF,
 * tracefs and kernel sources, stored in SQLite and LanceDB, rebuilt when the kernel changes.
 *
 * The daemon uses {@link createContractService} and serves it (`daemon/contracts/contracts-methods.ts`); the daemon's
 * adapter (`daemon/verification/contract-adapter.ts`) gives the verifier its view of the contracts.
 * See kernel-contracts/README.md.
 */
export { createContractService, type ContractService, type ContractServiceOptions, type ContractLogger, type LookupOptions, type SearchOptions } from './service.js';
export * from './api.js';
export type { Contract, FunctionContract, TracepointContract, MemberContract, ValueContract, HookProbeAvailability, EnumDomain, ContractDoc } from './contracts/model.js';
export type { Cond, Condition, Term, ConditionSource, EnrichmentAnswer } from './contracts/expr.js';
export { CONDITION_SCHEMA, validateAgainstSchema, checkCondition, renderCond, evalCond, isKernelGuarantee } from './contracts/expr.js';
