/**
 * kgentd assembled: configuration -> store -> bpftrace -> kernel facts -> runner -> services ->
 * control socket. `start` returns a handle whose `stop` shuts everything down in reverse order.
 */
import path from 'node:path';
import { realHost, type KernelHost } from '../kernel-contracts/kernel-reader/host.js';
import type { KgentConfig } from './config.js';
import { KgentError } from './errors.js';
import { registerHealthMethods } from './health/health-methods.js';
import { registerProgramMethods } from './programs/programs-methods.js';
import { detectProbeSupport, type ProbeSupportOptions } from '../kernel-contracts/kernel-reader/probe-support.js';
import { PROBE_TYPES } from '../kernel-contracts/probe-types.js';
import { registerContractMethods, registerVerifyMethod } from './contracts/contracts-methods.js';
import { registerExampleMethods } from './retrieval/examples-methods.js';
import { createRequestService } from './compose-requests.js';
import { startContracts } from './compose-contracts.js';
import { registerRequestMethods } from './pipeline/requests-methods.js';
import { registerEvalMethods } from './eval/eval-methods.js';
import { runOracle } from './eval/oracle.js';
import { EvalService } from './eval/runner.js';
import { RequestStore } from './store/request-store.js';
import { createLlmBackend } from './llm/backend.js';
import { daemonContractProvider } from './verification/verify-program.js';
import { VerifierHome } from './verification/verifier-home.js';
import { startExampleLibrary } from './retrieval/library.js';
import type { Logger } from './log.js';
import { ProgramService } from './programs/program-service.js';
import { RevocationSweep } from './policy/revocation.js';
import { detectBpftrace, executableComm, type BpftraceCli } from './runner/bpftrace-cli.js';
import { dialectForBpftrace, type DialectChoice } from './runner/dialect-choice.js';
import { findDeathSignalWrapper, Supervisor } from './runner/supervisor.js';
import { ControlServer } from './server/control-server.js';
import { UserDb } from './server/peer-identity.js';
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
  const state = await openState(config, logger);
  const facts = await readHostFacts(config, host, logger);
  const { cli, probes, release, deathSignalWrapper } = facts;
  const { supervisor, programs } = startRuntime(config, state.store, facts, logger);

  const control = openControl(config, state.store, programs, logger);
  const { server, rights, revocation, reg } = control;
  registerHealthMethods(reg, { config, version: packageVersion(), started, kernelRelease: release, cli, host, probes, programs, rights, dialect: facts.dialect, ...withWrapper(deathSignalWrapper) });
  // The approval view: a request's program carries how it was verified (and under which hints).
  const requestRecords = new RequestStore(state.db);
  registerProgramMethods(reg, {
    programs,
    rights,
    verificationOf: (id) => requestRecords.verificationOf(id),
    // A person approved it: a request's verified program becomes an example of the request's submitter.
    approved: (id) => requests.learnApproved(id),
  });
  const llm = oneLlmDoor(config, control.users, logger);
  const contracts = await startContracts(config, host, logger, facts.probeOptions, givenHost === undefined, llm);
  registerContractMethods(reg, contracts, config.contracts.enabled ? 'kernel contracts failed to start' : undefined);
  const { verifier, verifierContracts } = await startVerifier(config, contracts, host, facts, logger);
  registerVerifyMethod(reg, { verifier, service: contracts, probes, release, allowUnsafe: config.allowUnsafe, logger: logger.child({ component: 'verifier' }) });

  // Few-shot examples (dataset + learned), synced in the background; the pipeline uses `examples.search`.
  const examples = await startExampleLibrary(config, llm, logger, facts.dialect.dialect.version); // the host's dialect: only examples that fit it
  registerExampleMethods(reg, examples, rights);

  // The Kgent loop: requests from English to a verified program.
  const requests = createRequestService({
    config,
    store: new RequestStore(state.db, { maxFieldBytes: config.storage.maxFieldBytes, maxRequestBytes: config.storage.maxRequestBytes }),
    llm,
    programs,
    contracts: verifierContracts,
    verifier,
    service: contracts,
    host,
    probes,
    bpftraceVersion: bpftraceVersionText(cli),
    dialect: facts.dialect.dialect,
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
    oracle: (input) => runOracle(input, { cli: facts.requireCli(), probes, ...withWrapper(deathSignalWrapper) }),
    probes,
    kernelRelease: release,
    bpftraceVersion: bpftraceVersionText(cli),
    logger: logger.child({ component: 'eval' }),
  });
  registerEvalMethods(reg, evals, rights);

  await server.listen();
  const socketWatch = watchControlSocket(config, server, logger);
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
      state.db.close();
      state.lock.release();
    },
  };
}

const withWrapper = (w: readonly string[] | undefined): { deathSignalWrapper?: readonly string[] } => (w ? { deathSignalWrapper: w } : {});
const bpftraceVersionText = (cli: BpftraceCli | Error): string => (cli instanceof Error ? '0.0.0' : cli.version.text);

/** The state directory, locked first of all (a second kgentd on it would SIGKILL our bpftrace children as orphans), and the stores in it. */
async function openState(config: KgentConfig, logger: Logger) {
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
  return { lock, db, store: new ProgramStore(db, (id) => logPath(logDir, id)) };
}

type HostFacts = Awaited<ReturnType<typeof readHostFacts>>;

/** The bpftrace kgentd runs (and so the dialect), and what this kernel lets it attach. */
async function readHostFacts(config: KgentConfig, host: KernelHost, logger: Logger) {
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
  return { cli, dialect, requireCli, probeOptions, probes, release, deathSignalWrapper: findDeathSignalWrapper() };
}

/** The runner of approved programs and the service over them. */
function startRuntime(config: KgentConfig, store: ProgramStore, facts: HostFacts, logger: Logger) {
  const { cli, deathSignalWrapper } = facts;
  const supervisor = new Supervisor({
    cli: cli instanceof Error ? { path: config.bpftracePath, version: { major: 0, minor: 0, patch: 0, text: '?' }, hasDryRun: false, hasJsonOutput: true, hasUnsafe: true } : cli,
    store,
    stateDir: config.stateDir,
    config: config.runner,
    allowUnsafe: config.allowUnsafe,
    logger: logger.child({ component: 'runner' }),
    ...withWrapper(deathSignalWrapper),
  });
  const programs = new ProgramService({
    config,
    store,
    supervisor,
    get cli() {
      return facts.requireCli();
    },
    probes: facts.probes,
    logger: logger.child({ component: 'programs' }),
    ...withWrapper(deathSignalWrapper),
  });
  return { supervisor, programs };
}

/**
 * The control socket and who may use it: identities from the kernel (server/peer-identity.ts), rights
 * (policy/rights.ts), and the sweep that takes a removed member's connections and programs away.
 * Every method is registered through the rights table (policy/method-rights.ts), which asks the
 * group database at each call.
 */
function openControl(config: KgentConfig, store: ProgramStore, programs: ProgramService, logger: Logger) {
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
  const revocation = new RevocationSweep({
    rights,
    programs,
    connections: () => server.connections(),
    policy: config.policy.revokedPrograms,
    socketGroup: config.socketGroup,
    adminGroup: config.policy.adminGroup,
    logger: logger.child({ component: 'rights' }),
  });
  const reg = guardedRegistry(server, rights, (peer, conn) => {
    conn.close(rights.revoked(peer).message);
    void revocation.sweep('at their next call', peer.uid).catch((err: Error) => logger.error({ err: err.message }, 'membership sweep failed'));
  });
  return { users, rights, server, revocation, reg };
}

/**
 * The one door to the LLM, for the Kgent loop and kernel contracts' enrichment and vectors. A local
 * endpoint held by anyone but root or the Ollama user gets no prompt (server/port-owner.ts).
 */
function oneLlmDoor(config: KgentConfig, users: UserDb, logger: Logger) {
  const log = logger.child({ component: 'llm' });
  return guardLocalLlm(
    createLlmBackend({ host: config.ollamaHost, models: config.models, timeoutMs: config.llmTimeoutMs, answerTokens: config.llmAnswerTokens, log }),
    { ollamaUser: config.ollamaUser, allowForeign: config.allowForeignOllama, users, log },
  );
}

/** The symbolic verifier over kernel contracts; Z3 lives in a child let go after `idleReleaseMs` without a verification. */
async function startVerifier(config: KgentConfig, contracts: Awaited<ReturnType<typeof startContracts>>, host: KernelHost, facts: HostFacts, logger: Logger) {
  // The bpftrace processes' comm (a fact about `comm` in BEGIN and END): the base name of the
  // executable started, known only when bpftracePath is that executable, not a wrapper script.
  const bpftraceComm = facts.cli instanceof Error ? undefined : await executableComm(facts.cli.path);
  const verifierContracts = daemonContractProvider(contracts, host, bpftraceComm ? { bpftraceComm } : {});
  const verifier = new VerifierHome({ contracts: verifierContracts, probes: facts.probes, allowUnsafe: config.allowUnsafe, dialect: facts.dialect.dialect.version, idleMs: config.idleReleaseMs, logger: logger.child({ component: 'verifier' }) });
  return { verifier, verifierContracts };
}

/** A control socket removed or replaced under kgentd is listened on again; one that cannot be is fatal. */
function watchControlSocket(config: KgentConfig, server: ControlServer, logger: Logger) {
  return watchSocket({
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
