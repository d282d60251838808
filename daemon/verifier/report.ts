/**
 * The verifier's result types: what `verifyProgram` returns, what `kgentctl verify --json` prints,
 * and what the Kgent loop turns into feedback. Verdicts are three-valued plus the two outcomes that
 * are not verdicts on the program's meaning (`unannotated`, `invalid`); `unknown` is never "verified".
 */
import type { Diagnostic } from '../protocol/diagnostic.js';

/** Per assertion. `trivial`: holds whatever the program computes, so it proves nothing. */
export type AssertionVerdict = 'proved' | 'refuted' | 'unknown' | 'trivial';

/** Per program. `proved` only when every assertion is proved and at least one is non-trivial. */
export type ProgramVerdict = 'proved' | 'refuted' | 'unknown' | 'unannotated' | 'invalid';

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

export interface VerifyReport {
  readonly verdict: ProgramVerdict;
  readonly assertions: readonly AssertionResult[];
  readonly diagnostics: readonly Diagnostic[];
  readonly timings: VerifyTimings;
}
