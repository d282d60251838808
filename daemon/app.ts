/**
 * kgentd assembled: configuration -> store -> bpftrace -> kernel facts -> runner -> services ->
 * control socket. `start` returns a handle whose `stop` shuts everything down in reverse order.
 */
import path from 'node:path';
import { realHost, type KernelHost } from '../kernel-contracts/kernel-reader/host.js';
import type { KgentConfig } from './config.js';
import { KgentError } from './errors.js';
import { registerHealthMethods } from './health/handlers.js';
import { registerProgramMethods } from './programs/handlers.js';
import { detectProbeSupport, type ProbeSupportOptions } from '../kernel-contracts/kernel-reader/probe-support.js';
import { PROBE_TYPES } from '../kernel-contracts/probe-types.js';
import { registerContractMethods, registerVerifyMethod } from './contracts/handlers.js';
import { registerExampleMethods } from './retrieval/handlers.js';
import { createRequestService } from './compose-requests.js';
import { startContracts } from './compose-contracts.js';
import { registerRequestMethods } from './pipeline/handlers.js';
import { registerEvalMethods } from './eval/handlers.js';
import { runOracle } from './eval/oracle.js';
import { EvalService } from './eval/runner.js';
import { RequestStore } from './store/request-store.js';
import { createLlmBackend } from './llm/backend.js';
import { daemonContractProvider } from './contracts/verify.js';
import { VerifierHome } from './contracts/verifier-home.js';
import { startExampleLibrary } from './retrieval/library.js';
import type { Logger } from './log.js';
import { ProgramService } from './programs/program-service.js';
import { RevocationSweep } from './policy/revocation.js';
import { detectBpftrace, executableComm, type BpftraceCli } from './runner/bpftrace-cli.js';
import { dialectForBpftrace, type DialectChoice } from './runner/dialect-choice.js';
import { findDeathSignalWrapper, Supervisor } from './runner/supervisor.js';
import { ControlServer } from './server/control-server.js';
import { UserDb } from './server/identity.js';
import { guardLocalLlm } from './server/port-owner.js';
import { guardedRegistry } from './policy/method-rights.js';
import { Rights } from './policy/rights.js';
import { openDatabase } from './store/db.js';
import { storageHealth } from './store/storage-health.js';
import { configureKernelChecks, removeStaleCheckDirs } from './kernel-check/check-limits.js';
import { lockStateDir } from './process/state-lock.js';
import { watchSocket } from './process/socket-watch.js';
import { ProgramStore } from './store/program-store.js';
import { logPath } from './runner/program-log.js';
import { packageVersion } from './util/repo-root.js';

export interface RunningDaemon {
  readonly server: ControlServer;
  readonly programs: ProgramService;
  stop(reason: string): Promise<void>;
}

export async function startDaemon(config: KgentConfig, logger: Logger, givenHost?: KernelHost): Promise<RunningDaemon> {
  // On the live system (no host given), contracts rebuilds run in a child process (memory).
  const host = givenHost ?? realHost();
  const started = Date.now();
  const version = packageVersion();
  // First of all: a second kgentd on this state dir would SIGKILL our bpftrace children as orphans.
  const lock = lockStateDir(config.stateDir);
  storageHealth.onChange((msg) => logger.warn({ storage: storageHealth.report() }, msg));
  const checkDir = path.join(config.stateDir, 'checks');
  configureKernelChecks({
    maxConcurrent: config.maxConcurrentKernelChecks,
    maxQueued: config.maxQueuedKernelChecks,
    maxRunningPerUid: config.maxRunningKernelChecksPerUid,
    maxQueuedPerUid: config.maxQueuedKernelChecksPerUid,
    adminSlots: config.adminKernelCheckSlots,
    maxWaitMs: config.kernelCheckMaxWaitMs,
    memoryBytes: config.kernelCheckMemoryBytes,
    workDir: checkDir,
  });
  const staleChecks = await removeStaleCheckDirs(checkDir).catch(() => 0);
  if (staleChecks > 0) logger.warn({ removed: staleChecks }, 'removed kernel-check files left by a killed kgentd');
  const db = openDatabase(config.stateDir);
  const logDir = path.join(config.stateDir, 'logs');
  const store = new ProgramStore(db, (id) => logPath(logDir, id));

  const cli: BpftraceCli | Error = await detectBpftrace(config.bpftracePath).catch((err: Error) => err);
  const dialect = hostDialect(cli, logger);
  const requireCli = (): BpftraceCli => {
    if (cli instanceof Error) throw new KgentError('unavailable', cli.message);
    return cli;
  };

  // bpftrace's own --info says what this bpftrace can attach (e.g. 0.17 has no rawtracepoint).
  const probeOptions: ProbeSupportOptions =
    cli instanceof Error ? {} : { bpftrace: { version: cli.version, ...(cli.features ? { features: cli.features } : {}) } };
  const probes = await detectProbeSupport(host, probeOptions);
  const release = probes.release ?? 'unknown';
  const unavailable = PROBE_TYPES.filter((t) => !probes.isAvailable(t));
  logger.info({ kernel: release, unavailable }, 'kernel probe support read');

  const deathSignalWrapper = findDeathSignalWrapper();
  const supervisor = new Supervisor({
    cli: cli instanceof Error ? { path: config.bpftracePath, version: { major: 0, minor: 0, patch: 0, text: '?' }, hasDryRun: false, hasJsonOutput: true, hasUnsafe: true } : cli,
    store,
    stateDir: config.stateDir,
    config: config.runner,
    allowUnsafe: config.allowUnsafe,
    logger: logger.child({ component: 'runner' }),
    ...(deathSignalWrapper ? { deathSignalWrapper } : {}),
  });
  const programs = new ProgramService({
    config,
    store,
    supervisor,
    get cli() {
      return requireCli();
    },
    probes,
    logger: logger.child({ component: 'programs' }),
    ...(deathSignalWrapper ? { deathSignalWrapper } : {}),
  });

  // Who may do what (daemon/policy/rights.ts); identities come from the kernel (server/identity.ts).
  const users = new UserDb();
  const rights = new Rights(config, users, { audit: (action, actor, ref, detail) => store.audit(action, actor, ref.programId, detail, ref.requestId) }, logger.child({ component: 'rights' }));
  const server = new ControlServer({
    socketPath: config.socketPath,
    group: config.socketGroup,
    maxMessageBytes: config.maxMessageBytes,
    maxConnections: config.policy.maxConnections,
    maxConnectionsPerUid: config.policy.maxConnectionsPerUid,
    idleTimeoutMs: config.policy.idleTimeoutMs,
    lineTimeoutMs: config.policy.requestLineTimeoutMs,
    admit: (peer) => rights.admit(peer),
    userDb: users,
    logger: logger.child({ component: 'socket' }),
  });
  // A member removed from the groups loses their connections and programs (policy/revocation.ts).
  const revocation = new RevocationSweep({
    rights,
    programs,
    connections: () => server.connections(),
    policy: config.policy.revokedPrograms,
    socketGroup: config.socketGroup,
    adminGroup: config.policy.adminGroup,
    logger: logger.child({ component: 'rights' }),
  });
  // Every method is registered through the rights table (policy/method-rights.ts), which asks the
  // group database at each call.
  const reg = guardedRegistry(server, rights, (peer, conn) => {
    conn.close(rights.revoked(peer).message);
    void revocation.sweep('at their next call', peer.uid).catch((err: Error) => logger.error({ err: err.message }, 'membership sweep failed'));
  });
  registerHealthMethods(reg, { config, version, started, kernelRelease: release, cli, host, probes, programs, rights, dialect, ...(deathSignalWrapper ? { deathSignalWrapper } : {}) });
  // The approval view: a request's program carries how it was verified (and under which hints).
  const requestRecords = new RequestStore(db);
  registerProgramMethods(reg, {
    programs,
    rights,
    verificationOf: (id) => requestRecords.verificationOf(id),
    // A person approved it: a request's verified program becomes an example of the request's submitter.
    approved: (id) => requests.learnApproved(id),
  });
  // The one door to the LLM, for the Kgent loop and kernel contracts' enrichment and vectors.
  // A local endpoint held by anyone but root or the Ollama user gets no prompt (server/port-owner.ts).
  const llm = guardLocalLlm(
    createLlmBackend({
      host: config.ollamaHost,
      models: config.models,
      timeoutMs: config.llmTimeoutMs,
      answerTokens: config.llmAnswerTokens,
      log: logger.child({ component: 'llm' }),
    }),
    { ollamaUser: config.ollamaUser, allowForeign: config.allowForeignOllama, users, log: logger.child({ component: 'llm' }) },
  );
  const contracts = await startContracts(config, host, logger, probeOptions, givenHost === undefined, llm);
  registerContractMethods(
    reg,
    contracts,
    config.contracts.enabled ? 'kernel contracts failed to start' : undefined,
  );
  // The bpftrace processes' comm (a fact about `comm` in BEGIN and END): the base name of the
  // executable started, known only when bpftracePath is that executable, not a wrapper script.
  const bpftraceComm = cli instanceof Error ? undefined : await executableComm(cli.path);
  const verifierContracts = daemonContractProvider(contracts, host, bpftraceComm ? { bpftraceComm } : {});
  // Z3 lives in a child process that is let go after `idleReleaseMs` without a verification.
  const verifier = new VerifierHome({ contracts: verifierContracts, probes, allowUnsafe: config.allowUnsafe, dialect: dialect.dialect.version, idleMs: config.idleReleaseMs, logger: logger.child({ component: 'verifier' }) });
  registerVerifyMethod(reg, {
    verifier,
    service: contracts,
    probes,
    release,
    allowUnsafe: config.allowUnsafe,
    logger: logger.child({ component: 'verifier' }),
  });

  // Few-shot examples (dataset + learned), synced in the background; the pipeline uses `examples.search`.
  const examples = await startExampleLibrary(config, llm, logger, dialect.dialect.version); // the host's dialect: only examples that fit it
  registerExampleMethods(reg, examples, rights);

  // The Kgent loop: requests from English to a verified program.
  const requests = createRequestService({
    config,
    store: new RequestStore(db, { maxFieldBytes: config.storage.maxFieldBytes, maxRequestBytes: config.storage.maxRequestBytes }),
    llm,
    programs,
    contracts: verifierContracts,
    verifier,
    service: contracts,
    host,
    probes,
    bpftraceVersion: cli instanceof Error ? '0.0.0' : cli.version.text,
    dialect: dialect.dialect,
    release,
    ...(examples ? { examples } : {}),
    logger: logger.child({ component: 'requests' }),
  });
  const interrupted = requests.restore();
  if (interrupted.length > 0) logger.warn({ requests: interrupted }, 'requests interrupted by the last stop marked failed');
  registerRequestMethods(reg, requests, rights, config.policy.maxRequestChars);

  // The evaluation (kgentctl eval): the loop per model and configuration, judged by running the programs.
  const evals = new EvalService({
    requests,
    listModels: async () => ({ ...(await llm.check()), host: llm.host }),
    defaultModels: config.models,
    defaultTrials: config.trials,
    stateDir: config.stateDir,
    oracle: (input) => runOracle(input, { cli: requireCli(), probes, ...(deathSignalWrapper ? { deathSignalWrapper } : {}) }),
    probes,
    kernelRelease: release,
    bpftraceVersion: cli instanceof Error ? '0.0.0' : cli.version.text,
    logger: logger.child({ component: 'eval' }),
  });
  registerEvalMethods(reg, evals, rights);

  await server.listen();
  const socketWatch = watchSocket({
    socketPath: config.socketPath,
    logger: logger.child({ component: 'socket' }),
    relisten: async () => {
      await server.close();
      await server.listen();
    },
    fatal: (reason) => {
      logger.fatal({ socket: config.socketPath }, `control socket lost, stopping: ${reason}`);
      process.stderr.write(`kgentd: control socket lost, stopping: ${reason}\n`);
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    },
  });
  // Programs of users removed while kgentd was down are handled before anything is re-attached.
  await revocation.sweep('at start-up').catch((err: Error) => logger.error({ err: err.message }, 'membership sweep failed'));
  revocation.start(config.policy.membershipSweepMs);
  const restored = await programs.restore();
  if (restored.reattached + restored.failed > 0) logger.info(restored, 'programs re-attached after start');

  return {
    server,
    programs,
    async stop(reason: string) {
      logger.info({ reason }, 'kgentd stopping');
      socketWatch.close();
      revocation.stop();
      await server.close();
      await supervisor.stopAll(reason);
      await verifier.close();
      await contracts?.stop();
      examples?.close();
      db.close();
      lock.release();
    },
  };
}

/**
 * Logs the bpftrace found, and returns the language kgent verifies and prompts for: the one of the
 * bpftrace it runs (logged, with any warning).
 */
function hostDialect(cli: BpftraceCli | Error, logger: Logger): DialectChoice {
  if (cli instanceof Error) logger.error({ err: cli.message }, 'bpftrace unusable: programs cannot be checked or run');
  else logger.info({ bpftrace: cli.path, version: cli.version.text, dryRun: cli.hasDryRun }, 'bpftrace found');
  const dialect = dialectForBpftrace(cli instanceof Error ? undefined : cli.version.text);
  const fields = { bpftrace: dialect.forVersion, dialect: dialect.dialect.version };
  if (dialect.warning) logger.warn(fields, dialect.warning);
  else logger.info(fields, 'bpftrace dialect');
  return dialect;
}
