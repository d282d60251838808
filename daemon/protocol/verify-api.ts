/**
 * Symbolic verification over the socket: `verify.program` and the report it returns. The report
 * types are the verifier's result (`daemon/verifier/report.ts` re-exports them) and cross the socket
 * as plain data, so they live with the protocol, like {@link Diagnostic}.
 *
 * Verdicts are three-valued plus the two outcomes that are not verdicts on the program's meaning
 * (`unannotated`, `invalid`); `unknown` is never "verified".
 */
import type { Diagnostic } from './diagnostic.js';
import { MAX_SOURCE_CHARS } from './methods.js';
import { defineMethod } from './spec.js';
import { int, obj, optional, str } from './validate.js';

/** Per assertion. `trivial`: holds whatever the program computes, so it proves nothing. */
export type AssertionVerdict = 'proved' | 'refuted' | 'unknown' | 'trivial';

/**
 * Per program. `proved` only when every assertion is proved and at least one is non-trivial.
 * `proved-under-hints`: the same, except that some `assume` is backed not by a kernel guarantee but
 * by a hint (a tracepoint's print table, a documented range): the proof holds if those hints do,
 * and {@link VerifyReport.hints} lists them. It counts as verified (the program may be approved),
 * but it is labelled as such wherever a verdict is shown.
 */
export type ProgramVerdict = 'proved' | 'proved-under-hints' | 'refuted' | 'unknown' | 'unannotated' | 'invalid';

/** Verdicts that count as verified (the program may be approved and run). */
export function isVerified(verdict: ProgramVerdict): boolean {
  return verdict === 'proved' || verdict === 'proved-under-hints';
}

/** A hint a proof rests on: an `assume` the kernel does not guarantee but this source states. */
export interface HintUse {
  /** The fact in bpftrace terms: `args->family is one of AF_INET (2), AF_INET6 (10)`. */
  readonly hint: string;
  /** Where it comes from: `print table of tracepoint:sock:inet_sock_set_state (__print_symbolic)`. */
  readonly source: string;
  /** Line of the `assume` it backs. */
  readonly usedBy: number;
}

export interface Counterexample {
  /** Concrete input values in bpftrace terms, e.g. `{ "args->dport": "0x5000", "pid": "1" }`. */
  readonly inputs: Readonly<Record<string, string>>;
  /** What the program computed on that path, e.g. `{ "printed(0)": "20480", "$dport": "20480" }`. */
  readonly computed: Readonly<Record<string, string>>;
  /** One line for humans and LLM feedback: `args->dport = 0x5000 -> printed $dport = 20480, expected 80`. */
  readonly summary: string;
}

export interface AssertionResult {
  readonly line: number;
  readonly column: number;
  /** The assertion's expression as printed source. */
  readonly text: string;
  /** The probe (attach point list as written) the assertion sits in. */
  readonly probe: string;
  readonly verdict: AssertionVerdict;
  readonly counterexample?: Counterexample;
  /** Why `unknown` (timeout, unsupported construct ...) or why `trivial`. */
  readonly reason?: string;
}

export interface VerifyTimings {
  readonly parseMs: number;
  readonly lintMs: number;
  readonly solverInitMs: number;
  readonly verifyMs: number;
  readonly totalMs: number;
}

/** Per `cover(HOOK[, COND]);`: does some probe observe those events (reach a printf, print or map update)? */
export interface CoverageResult {
  readonly line: number;
  readonly column: number;
  /** The cover statement as printed source. */
  readonly text: string;
  readonly verdict: 'proved' | 'refuted' | 'unknown';
  /** Why refuted or unknown, in bpftrace terms. */
  readonly reason?: string;
  /** The probes (attach points as written) that attach to the hook. */
  readonly probes: readonly string[];
}

export interface VerifyReport {
  readonly verdict: ProgramVerdict;
  readonly assertions: readonly AssertionResult[];
  /** One result per `cover`, in source order ([] when the program has none). */
  readonly coverage: readonly CoverageResult[];
  readonly diagnostics: readonly Diagnostic[];
  /** The hints the proof rests on (verdict `proved-under-hints`); absent or [] when none. */
  readonly hints?: readonly HintUse[];
  readonly timings: VerifyTimings;
  /** The bpftrace dialect whose rules the program was verified under (a profile's version, `0.23`). */
  readonly dialect?: string;
}

/** Which kernel knowledge a verification used. */
export interface ContractsUsed {
  /** `kernel`: the running kernel's contracts served by kgentd (BTF, tracefs formats, prototypes);
   *  `local`: read by kgentctl itself from this host's BTF and tracefs; `recorded`: `--formats DIR`. */
  readonly source: 'kernel' | 'local' | 'recorded';
  /** Kernel release the contracts describe, when known. */
  readonly kernel?: string;
  /** One line for people: `kernel 6.18.0 via kgentd`. */
  readonly description: string;
}

export interface VerifyProgramResult {
  readonly report: VerifyReport;
  readonly contracts: ContractsUsed;
  /** The bpftrace dialect the program was verified under (a profile's version, `0.23`). */
  readonly dialect?: string;
}

/**
 * Verifies an annotated program against the running kernel's contracts with the daemon's warm
 * solver. `candidate`: the unannotated program, which the annotated one minus annotations must equal.
 */
export const VerifyProgram = defineMethod<VerifyProgramResult>()(
  'verify.program',
  obj({
    source: str({ min: 1, max: MAX_SOURCE_CHARS }),
    fileName: optional(str({ min: 1, max: 4096 })),
    timeoutMs: optional(int({ min: 1, max: 600_000 })),
    candidate: optional(str({ min: 1, max: MAX_SOURCE_CHARS })),
    /** Verify for another host's bpftrace (`0.23`, `0.27.1`); default: the bpftrace kgentd runs. */
    dialect: optional(str({ min: 1, max: 32 })),
  }),
);
