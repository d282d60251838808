/**
 * The Kgent loop assembled from the daemon's parts, part of the composition root (app.ts): the LLM
 * backend (llm/), examples (retrieval/), the kernel's hooks and contracts (contracts/), the
 * verifier with those contracts, and the kernel check of the programs service. `app.ts` creates
 * one {@link RequestService} and serves it. pipeline/ itself knows these parts only by the
 * interfaces of pipeline/stages.ts.
 */
import type { ContractService } from '../kernel-contracts/index.js';
import type { KernelHost } from '../kernel-contracts/kernel-reader/host.js';
import type { ProbeSupport } from '../kernel-contracts/kernel-reader/probe-support.js';
import type { KgentConfig } from './config.js';
import { hookAttachable, tracepointsFromContracts } from './contracts/hook-attachable.js';
import { kernelHookSource } from './contracts/hooks.js';
import { kernelMembersRead, lintWithContracts } from './verification/verify-program.js';
import type { VerifierHome } from './verification/verifier-home.js';
import type { LlmBackend } from './llm/backend.js';
import type { Logger } from './log.js';
import type { ProgramService } from './programs/program-service.js';
import type { RequestStore } from './store/request-store.js';
import type { ProbeContractProvider } from './verifier/contract-seam.js';
import type { Dialect } from './verifier/dialect/index.js';
import { assemblePrompt } from './pipeline/assemble.js';
import { RequestService } from './pipeline/request-service.js';
import { RequestAborted } from './pipeline/attempt.js';
import { KgentError } from './errors.js';
import { exampleSource } from './retrieval/example-source.js';
import type { ExampleLibrary } from './retrieval/library.js';

export interface PipelineOptions {
  readonly config: KgentConfig;
  readonly store: RequestStore;
  readonly llm: LlmBackend;
  readonly programs: ProgramService;
  /** The verifier's view of the running kernel (the same provider `verify.program` uses). */
  readonly contracts: ProbeContractProvider;
  /** Where verifications run (the solver's process, shared with `verify.program`). */
  readonly verifier: VerifierHome;
  readonly service: ContractService | undefined;
  readonly host: KernelHost;
  readonly probes: ProbeSupport;
  readonly bpftraceVersion: string;
  /** The dialect profile kgentd chose for that bpftrace: the prompts state its facts. */
  readonly dialect?: Dialect;
  readonly release: string;
  /** The example library; the loop sees the examples whose hooks can attach on this kernel. */
  readonly examples?: ExampleLibrary;
  readonly logger: Logger;
}

export function createRequestService(o: PipelineOptions): RequestService {
  const { config } = o;
  const checkOpts = { contracts: o.contracts, probes: o.probes, allowUnsafe: config.allowUnsafe };
  const hookUsable = hookAttachable({ probeAvailable: (t) => o.probes.isAvailable(t), tracepointExists: tracepointsFromContracts(o.service && ((id) => o.service?.contract(id))) });
  const examples = o.examples && exampleSource(o.examples, hookUsable);
  return new RequestService({
    store: o.store,
    programs: { run: (sub) => o.programs.run(sub), info: (id) => o.programs.find(id) },
    ...(examples ? { examples } : {}),
    defaultTrials: config.trials,
    maxRequestBytes: config.storage.maxRequestBytes,
    maxProgramBytes: config.maxProgramBytes,
    hookUsable,
    logger: o.logger,
    llmReady: async () => {
      const c = await o.llm.check();
      if (!c.reachable) {
        return { ok: false, message: `no LLM reachable: ${c.error ?? `no answer from ${o.llm.host}; start Ollama or set OLLAMA_HOST`} (kgentctl doctor shows the state)` };
      }
      const chatMissing = c.missing.filter((m) => m === config.models.synthesis || m === config.models.comprehension);
      if (chatMissing.length > 0) {
        return { ok: false, message: `Ollama at ${o.llm.host} has no model ${chatMissing.join(', ')}; run ${chatMissing.map((m) => `ollama pull ${m}`).join(' and ')}` };
      }
      return { ok: true };
    },
    loop: {
      llm: o.llm,
      ...(examples ? { examples } : {}),
      hooks: kernelHookSource(o.service, o.host),
      checker: {
        lint: (source) => lintWithContracts(source, checkOpts),
        verify: (annotated, candidate) => o.verifier.verify(annotated, { candidate, fileName: 'annotated.bt' }),
        members: (source) => kernelMembersRead(source, checkOpts),
        kernelCheck: async (source, on) => {
          try {
            const { probes: _attachPoints, ...check } = await o.programs.check(source, 'candidate.bt', undefined, on);
            return check;
          } catch (err) {
            // No slot for this caller's check (their share is used, or the wait ran out): the
            // request ends with that line; it is not the candidate's fault, so it is no feedback.
            if (err instanceof KgentError && err.code === 'unavailable') throw new RequestAborted(err.message);
            throw err;
          }
        },
      },
      host: {
        bpftraceVersion: o.bpftraceVersion,
        ...(o.dialect ? { dialect: o.dialect } : {}),
        kernelRelease: o.release,
        probeAvailable: (t) => o.probes.isAvailable(t),
        probeReason: (t) => o.probes.reason(t),
      },
      assemble: (stage, parts, numCtx) => assemblePrompt(stage, parts, { numCtx, answerTokens: config.llmAnswerTokens }),
      numCtx: config.numCtx,
      maxProgramBytes: config.maxProgramBytes,
      examplesPerPrompt: config.examplesPerPrompt,
    },
  });
}
