/**
 * What the Kgent loop needs from the rest of the daemon, as interfaces: the LLM, the examples,
 * the kernel's hooks, the verifier and the kernel check. The orchestrator depends on these only,
 * so each stage can be tested with real parts and the LLM stood in.
 */
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { CheckResult } from '../protocol/methods.js';
import type { PromptTrim } from '../protocol/requests-api.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The LLM, as the pipeline uses it (daemon/llm implements it over Ollama). */
export interface ChatModel {
  /** `model` overrides the configured model of the stage for this call. */
  /** `onTokens` is told the answer tokens received so far (the answer is then streamed). */
  chat(req: {
    stage: 'synthesis' | 'comprehension';
    messages: ChatMessage[];
    numCtx: number;
    signal?: AbortSignal;
    model?: string;
    onTokens?: (received: number) => void;
  }): Promise<{ content: string; model: string; ms: number }>;
}

/** A retrieved example (dataset or learned), best first. */
export interface RetrievedExample {
  readonly id: string;
  readonly kind: 'dataset' | 'learned-positive' | 'learned-avoid';
  readonly prompt: string;
  readonly program: string;
  readonly annotated?: string;
  readonly feedback?: readonly string[];
  /** Attach points the program uses (`tracepoint:sock:inet_sock_set_state`), when known. */
  readonly hooks?: readonly string[];
}

/**
 * The examples, as the loop uses them. Learned entries belong to the person whose request they
 * came from: `search` looks as `viewerUid` (the dataset, promoted entries, and that uid's own
 * learned entries; never another user's request texts), `learn` stores an outcome as its owner's.
 */
export interface ExampleSource {
  search(text: string, k: number, viewerUid: number): Promise<RetrievedExample[]>;
  learn(outcome: { requestId: number; ownerUid: number; owner: string; prompt: string; program?: string; annotated?: string; verdict: string; feedback?: string[] }): Promise<void>;
  /** The owner's avoid note for this request text is dropped: the request ended verified. */
  forgetAvoid(ownerUid: number, prompt: string): Promise<void>;
}

/** The kernel's hooks, from the contracts. */
export interface HookSource {
  /**
   * Hooks that fit a request text and can attach on this kernel, best first. `exampleHooks`: the
   * attach points of the examples retrieved for the request, best first (strong evidence).
   */
  fitting(text: string, k: number, exampleHooks?: readonly string[]): Promise<Contract[]>;
  /** The contract of a hook named like `tracepoint:sock:inet_sock_set_state` or `kprobe:tcp_connect`. */
  lookup(hook: string): Promise<Contract | undefined>;
}

/** Verification and the kernel check, as the daemon runs them. */
export interface Checker {
  /** The LLM-free lints with this kernel's probe support and policy (errors become feedback). */
  lint(source: string): Promise<readonly Diagnostic[]>;
  verify(annotated: string, candidate: string): Promise<VerifyReport>;
  /** The kernel struct members the program reads, with their BTF types (for the comprehension prompt). */
  members(source: string): Promise<{ struct: string; member: string; type: string }[]>;
  /** The kernel check, on `requester`'s share of the slots; `signal` cancels it (the client is gone). */
  kernelCheck(source: string, on: { readonly requester?: CheckRequester; readonly signal?: AbortSignal }): Promise<CheckResult>;
}

/** A rendered prompt and what the budget left out to fit num_ctx. */
export interface BuiltPrompt {
  readonly messages: ChatMessage[];
  readonly trim: PromptTrim;
  /** The whole prompt as one text, for the store. */
  readonly text: string;
}
