/**
 * The options of the contract service and of its calls, apart from the service so that its parts
 * (service/*.ts) can name them without importing the service that composes them.
 */
import type { KernelHost } from '../kernel-reader/host.js';
import type { ProbeSupportOptions } from '../kernel-reader/probe-support.js';
import type { ContractsLanguageModel } from '../language-model.js';
import type { BtfLoader } from '../rebuild/build.js';

/** The logging the service does (pino's `(obj, msg)` shape). */
export interface ContractLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const quietLogger: ContractLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface ContractServiceOptions {
  /** Where `contracts.db`, `contracts.lance` and `source-index.json` live. */
  readonly stateDir: string;
  /** The kernel (default: the live system). */
  readonly host?: KernelHost;
  /** The language model for enrichment (`chatModel`) and vectors (`embedModel`), handed in by the daemon. */
  readonly llm?: ContractsLanguageModel;
  /** Answers tried per enrichment before giving up (default 3). */
  readonly enrichAttempts?: number;
  /** Kernel source tree; undefined: the newest `/usr/src/linux-*` directory; null: none. */
  readonly sourceTree?: string | null;
  /** Directories where new kernels appear (default `/lib/modules`, `/boot`); [] disables watching. */
  readonly watchPaths?: readonly string[];
  readonly watchDebounceMs?: number;
  readonly logger?: ContractLogger;
  /** BTF loading (default: the kernel reader). */
  readonly loadBtf?: BtfLoader;
  /** Passed to the kernel reader's probe-support detection (e.g. bpftrace's `--info`). */
  readonly probeOptions?: ProbeSupportOptions;
  /** Rebuild on start when the identity differs (default true). */
  readonly rebuildOnStart?: boolean;
  /** Parsed BTF kept for struct lookups is dropped after this idle time (default 60 s). */
  readonly btfIdleMs?: number;
  /**
   * The search index (LanceDB's connection, tables and their caches) is closed after this long
   * without a search (default 60 s), and opened again by the next one.
   */
  readonly docsIdleMs?: number;
  /**
   * Run each rebuild in a child process (`rebuild/build-main.js`), so that what a build leaves
   * behind (parsed BTF, malloc'd memory, LanceDB's native state: ~150 MB of RSS) goes with it.
   * The child reads the live system: only for the real host (`host` and `loadBtf` are not used
   * by it). `script` defaults to the compiled build-main.js beside this module; the child asks
   * this process for vectors, which asks `llm.embed`.
   */
  readonly buildInChild?: { readonly script?: string; readonly logLevel?: string };
}

export interface LookupOptions {
  /** Ask the LLM for conditions when none are cached (first use). Needs `llm.chatModel`. */
  readonly enrich?: boolean;
}

export interface SearchOptions {
  readonly kind?: 'function' | 'tracepoint';
  readonly attachable?: boolean;
  /** Attach points of the examples that best match the request, best first: strong evidence. */
  readonly hints?: readonly string[];
}
