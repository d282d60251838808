/**
 * Kernel contracts (kernel-contracts/) assembled for kgentd, part of the composition root (app.ts).
 */
import type { KernelHost } from '../kernel-contracts/kernel-reader/host.js';
import type { ProbeSupportOptions } from '../kernel-contracts/kernel-reader/probe-support.js';
import { createContractService, type ContractService } from '../kernel-contracts/index.js';
import type { KgentConfig } from './config.js';
import { contractsLanguageModel } from './contracts/contracts-llm.js';
import type { LlmBackend } from './llm/backend.js';
import type { Logger } from './log.js';

/**
 * Kernel contracts are served from the previous dataset while a rebuild runs in the background,
 * so starting them never delays the socket. A failure here costs only the contracts methods.
 * Enrichment and search vectors go through `llm`, the daemon's one LLM door.
 */
export async function startContracts(
  config: KgentConfig,
  host: KernelHost,
  logger: Logger,
  probeOptions: ProbeSupportOptions,
  liveHost: boolean,
  llm: LlmBackend,
): Promise<ContractService | undefined> {
  if (!config.contracts.enabled) return undefined;
  const log = logger.child({ component: 'contracts' });
  const service = createContractService({
    stateDir: config.stateDir,
    host,
    llm: contractsLanguageModel(llm, { chatModel: config.models.comprehension, embedModel: config.models.embedding, numCtx: config.numCtx }),
    sourceTree: config.contracts.sourceTree === '' ? undefined : config.contracts.sourceTree,
    watchPaths: config.contracts.watchPaths,
    rebuildOnStart: config.contracts.rebuildOnStart,
    docsIdleMs: config.idleReleaseMs,
    btfIdleMs: config.idleReleaseMs,
    // A build leaves ~150 MB of RSS behind in the process that ran it.
    ...(liveHost ? { buildInChild: { logLevel: logger.level } } : {}),
    probeOptions,
    logger: log,
  });
  try {
    await service.start();
    return service;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'kernel contracts unavailable');
    return undefined;
  }
}

