/**
 * The verifier process kgentd forks (`verifier-home.ts`): Z3's WebAssembly heap (~110 MB resident
 * once initialised) lives here, not in the daemon, so it is returned to the system when the daemon
 * lets this process go after an idle spell. It verifies what it is sent, asking kgentd for each
 * contract the verifier needs; it exits when kgentd closes the channel (or dies).
 */
import type { ProbeType } from '../../kernel-contracts/probe-types.js';
import type { ProbeContractProvider } from '../verifier/contract-seam.js';
import type { LintProbeSupport } from '../verifier/lints/index.js';
import type { ContractQuestion, FromVerifier, ProbeTable, ToVerifier } from './verifier-messages.js';
import { verifyWithContracts } from './verify-program.js';
import { profile } from '../verifier/dialect/index.js';

if (!process.send) {
  process.stderr.write('kgentd verifier: started without an IPC channel; kgentd forks this process\n');
  process.exit(2);
}

const send = (m: FromVerifier): void => {
  process.send?.(m);
};

const asked = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextQid = 1;

function ask(question: ContractQuestion, ...args: unknown[]): Promise<never> {
  const qid = nextQid++;
  return new Promise((resolve, reject) => {
    asked.set(qid, { resolve: resolve as (v: unknown) => void, reject });
    send({ t: 'ask', qid, question, args });
  });
}

/** The daemon's contracts, asked for by message. */
const contracts: ProbeContractProvider = {
  tracepointFields: (category, event) => ask('tracepointFields', category, event),
  kernelField: (structName, fieldPath) => ask('kernelField', structName, fieldPath),
  preconditions: (probe) => ask('preconditions', probe),
  hints: (probe) => ask('hints', probe),
  hostFacts: () => ask('hostFacts'),
};

function probeSupport(table: ProbeTable): LintProbeSupport {
  return {
    isAvailable: (t: ProbeType) => table[t]?.available ?? false,
    reason: (t: ProbeType) => table[t]?.reason ?? `${t} probes are not known to kgentd`,
  };
}

async function verify(m: Extract<ToVerifier, { t: 'verify' }>): Promise<void> {
  try {
    const { dialect: dialectName, ...options } = m.options;
    const dialect = dialectName === undefined ? undefined : profile(dialectName);
    if (dialectName !== undefined && !dialect) throw new Error(`no bpftrace dialect ${dialectName}`);
    const report = await verifyWithContracts(m.source, { ...options, contracts, probes: probeSupport(m.probes), allowUnsafe: m.allowUnsafe, ...(dialect ? { dialect } : {}) });
    send({ t: 'done', id: m.id, report });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ t: 'failed', id: m.id, message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  }
}

process.on('message', (m: ToVerifier) => {
  if (m.t === 'verify') {
    void verify(m);
  } else if (m.t === 'answer') {
    const waiting = asked.get(m.qid);
    asked.delete(m.qid);
    if (m.error !== undefined) waiting?.reject(new Error(m.error));
    else waiting?.resolve(m.value);
  }
});
// kgentd closed the channel (it let this process go, stopped, or died): nothing more to do.
process.on('disconnect', () => process.exit(0));
