/**
 * The retrieval stage: the examples that fit the request (dataset and the owner's learned ones)
 * and the hooks of this kernel that fit it. Retrieval failures leave the prompt without them; they
 * never end the attempt.
 */
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { Attempt } from './attempt.js';
import type { ExampleSource, HookSource, RetrievedExample } from './stages.js';

export interface RetrievalDeps {
  readonly examples?: ExampleSource;
  readonly hooks?: HookSource;
  /** Examples retrieved per prompt (default 4). */
  readonly examplesPerPrompt?: number;
  /** Hooks suggested per synthesis prompt (default 4). */
  readonly hooksPerPrompt?: number;
}

export interface Retrieved {
  readonly examples: readonly RetrievedExample[];
  readonly hooks: readonly Contract[];
}

/**
 * Examples and hooks for a request. `ownerUid`: retrieval looks as this uid (their own learned
 * examples, never another user's). `withExamples` false: no examples (the evaluation's
 * retrieval-off configuration); the kernel's hooks stay, they are facts of this host.
 */
export async function retrieve(deps: RetrievalDeps, attempt: Attempt, request: { readonly text: string; readonly ownerUid: number }, withExamples: boolean): Promise<Retrieved> {
  const k = deps.examplesPerPrompt ?? 4;
  return attempt.stage('retrieving', async () => {
    const examples = withExamples ? ((await deps.examples?.search(request.text, k, request.ownerUid).catch(() => [] as RetrievedExample[])) ?? []) : [];
    // What worked for similar requests is the best evidence of the hooks that fit (an avoid
    // note's hooks are what failed).
    const exampleHooks = examples.filter((e) => e.kind !== 'learned-avoid').flatMap((e) => e.hooks ?? []);
    const hooks = (await deps.hooks?.fitting(request.text, deps.hooksPerPrompt ?? 4, exampleHooks).catch(() => [] as Contract[])) ?? [];
    return { examples, hooks };
  });
}
