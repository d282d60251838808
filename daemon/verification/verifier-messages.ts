/**
 * The messages between kgentd and its verifier process (`verifier-home.ts`, `verifier-child.ts`).
 * Everything here crosses a process boundary with Node's `advanced` IPC serialization (the
 * structured-clone algorithm: bigints, which enum domains carry, survive; functions do not), so the
 * probe support goes as a table and the contracts are asked for one by one.
 */
import type { ProbeType } from '../../kernel-contracts/probe-types.js';
import type { VerifyReport } from '../protocol/verify-api.js';

/** Which probe types this kernel offers, and why not where it does not: `LintProbeSupport` as data. */
export type ProbeTable = Readonly<Partial<Record<ProbeType, { readonly available: boolean; readonly reason: string }>>>;

/** The contract questions the verifier asks (the methods of `ProbeContractProvider`). */
export type ContractQuestion = 'tracepointFields' | 'kernelField' | 'preconditions' | 'hints' | 'hostFacts';

export interface VerifyOptionsWire {
  readonly fileName?: string;
  readonly timeoutMs?: number;
  readonly candidate?: string;
  /** The bpftrace dialect (a profile's version, `0.23`); default: the host's bpftrace. */
  readonly dialect?: string;
}

/** kgentd -> verifier process. */
export type ToVerifier =
  | { readonly t: 'verify'; readonly id: number; readonly source: string; readonly options: VerifyOptionsWire; readonly probes: ProbeTable; readonly allowUnsafe: boolean }
  | { readonly t: 'answer'; readonly qid: number; readonly value?: unknown; readonly error?: string };

/** verifier process -> kgentd. */
export type FromVerifier =
  | { readonly t: 'ask'; readonly qid: number; readonly question: ContractQuestion; readonly args: readonly unknown[] }
  | { readonly t: 'done'; readonly id: number; readonly report: VerifyReport }
  | { readonly t: 'failed'; readonly id: number; readonly message: string; readonly stack?: string };
