/**
 * The control-socket methods backed by kernel contracts:
 * - `contracts.*`, served from the contract service. Results are converted to the protocol's wire
 *   types here (the one place both sides meet, so the compiler checks they agree); each condition
 *   gets its rendered `text`. `contracts.rebuild` streams `contracts.progress` to the client that asked.
 * - `verify.program`: the symbolic verifier with the running kernel's contracts and the daemon's
 *   one warm solver.
 */
import { renderCond } from '../../kernel-contracts/contracts/expr.js';
import type { ContractService } from '../../kernel-contracts/service.js';
import type { Logger } from '../log.js';
import { VerifyProgram, type ContractsUsed } from '../protocol/verify-api.js';
import type { LintProbeSupport } from '../verifier/lints/index.js';
import type { VerifierHome } from '../verification/verifier-home.js';
import { dialectNamed } from '../runner/dialect-choice.js';
import { WARM_UP_PROGRAM } from '../verification/verify-program.js';
import {
  ContractsProgress,
  ContractsRebuild,
  ContractsSearch,
  ContractsShow,
  ContractsStatus,
  type Condition as WireCondition,
  type Contract as WireContract,
  type ContractsShowResult,
} from '../protocol/contracts-api.js';
import { KgentError } from '../errors.js';
import type { MethodRegistry } from '../server/control-server.js';

type ServiceShow = NonNullable<Awaited<ReturnType<ContractService['lookup']>>>;
type ServiceCondition = Extract<ServiceShow, { kind: 'contract' }>['contract']['conditions'][number];

function wireConditions(cs: readonly ServiceCondition[]): WireCondition[] {
  return cs.map((c) => ({ ...c, text: renderCond(c.expr) }));
}

/** A lookup result on the wire: the same data, conditions with their text. */
export function toWireShow(r: ServiceShow): ContractsShowResult {
  switch (r.kind) {
    case 'contract': {
      const contract: WireContract = { ...r.contract, conditions: wireConditions(r.contract.conditions) };
      return { ...r, contract };
    }
    case 'member':
      return { ...r, member: { ...r.member, conditions: wireConditions(r.member.conditions) } };
    default:
      return r;
  }
}

/**
 * Registers `contracts.*` on `server`. Without a service (contracts disabled in the configuration,
 * or failed to start) each method answers `unavailable` with why.
 */
export function registerContractMethods(server: MethodRegistry, service: ContractService | undefined, why = 'kernel contracts are disabled in the configuration (contracts.enabled)'): void {
  const need = (): ContractService => {
    if (!service) throw new KgentError('unavailable', `${why}; see kgentctl doctor and the kgentd log`);
    return service;
  };
  server.register(ContractsStatus, async () => need().status());
  server.register(ContractsRebuild, async (p, conn) => {
    const svc = need();
    const run = svc.rebuild({ force: p.force ?? true, onProgress: (ev) => conn.notify(ContractsProgress, ev) });
    if (p.wait === false) {
      run.catch(() => undefined);
      // Give the build a moment to publish its first progress, then answer.
      await new Promise((r) => setTimeout(r, 50));
      return { started: true, status: await svc.status() };
    }
    return run;
  });
  server.register(ContractsShow, async (p) => {
    const r = await need().lookup(p.hook, { enrich: p.enrich ?? false });
    if (!r) throw new KgentError('not-found', `${p.hook}: no such hook or struct member on this kernel (kgentctl contracts search TEXT finds hooks)`, { hook: p.hook });
    return toWireShow(r);
  });
  server.register(ContractsSearch, async (p) =>
    need().search(p.text, p.k ?? 10, { ...(p.kind ? { kind: p.kind } : {}), ...(p.attachable ? { attachable: true } : {}) }),
  );
}

export interface VerifyMethodOptions {
  /** The contract service; without it contracts come from the kernel's BTF and tracefs directly. */
  readonly service: ContractService | undefined;
  readonly probes: LintProbeSupport;
  /** `uname -r` of the running kernel. */
  readonly release: string;
  readonly allowUnsafe: boolean;
  /** Where verifications run (a child process let go when idle). */
  readonly verifier: VerifierHome;
  readonly logger: Logger;
}

/**
 * Registers `verify.program`. The solver (Z3's WebAssembly, in the verifier's own process) starts
 * with the first verification; requests that arrive meanwhile wait for the same solver.
 */
export function registerVerifyMethod(server: MethodRegistry, o: VerifyMethodOptions): void {
  let datasetReady = false;
  if (o.service) {
    const svc = o.service;
    void svc.status().then(
      (s) => (datasetReady = s.state === 'ready'),
      () => undefined,
    );
    svc.on('rebuilt', () => (datasetReady = true));
  }
  const used = (): ContractsUsed => ({
    source: 'kernel',
    kernel: o.release,
    description: datasetReady
      ? `kernel ${o.release} via kgentd`
      : `kernel ${o.release} via kgentd (BTF + tracefs read directly: ${o.service ? 'the contracts dataset is not built yet' : 'the contracts store is off'})`,
  });

  server.register(VerifyProgram, async (p) => {
    const dialect = p.dialect !== undefined ? dialectNamed(p.dialect).dialect.version : o.verifier.dialect;
    const report = await o.verifier.verify(p.source, {
      dialect,
      ...(p.fileName !== undefined ? { fileName: p.fileName } : {}),
      ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
      ...(p.candidate !== undefined ? { candidate: p.candidate } : {}),
    });
    return { report, contracts: used(), dialect };
  });

  // Z3's WebAssembly heap is ~110 MB resident once initialised: it starts with the first
  // verification, in the verifier's process, not with the daemon. Set KGENT_VERIFIER_WARM_UP=1 to
  // initialise it at start instead, so the first client does not wait (until it is let go idle).
  if (process.env.KGENT_VERIFIER_WARM_UP === '1') {
    const t0 = performance.now();
    o.verifier.verify(WARM_UP_PROGRAM).then(
      (r) => o.logger.info({ ms: Math.round(performance.now() - t0), verdict: r.verdict }, 'verifier warm (solver initialised)'),
      (err: unknown) => o.logger.warn({ err: (err as Error).message }, 'verifier warm-up failed; the first verification will initialise the solver'),
    );
  }
}
