/**
 * kgentd configuration: defaults (the real host paths) < /etc/kgent/config.json (or --config) <
 * environment (KGENT_*) < command-line flags. Development and tests point --socket and --state-dir at
 * temp paths so the daemon runs without touching /run or /var/lib.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROBE_TYPES } from '../kernel-contracts/probe-types.js';
import { KgentError } from './errors.js';

export interface RunnerConfig {
  /** Restarts allowed after a crash within `restartWindowMs` before the program is marked failed. */
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
  readonly restartDelayMs: number;
  /** Log file size after which it is rotated to `<id>.jsonl.1`. */
  readonly maxLogBytes: number;
  /** Output lines per second a program may write to its log; beyond it lines are dropped and counted. */
  readonly maxLinesPerSecond: number;
}

export interface KgentConfig {
  readonly socketPath: string;
  /** Group that may use the socket (mode 0660, owner root:socketGroup). */
  readonly socketGroup: string;
  readonly stateDir: string;
  readonly bpftracePath: string;
  readonly ollamaHost: string;
  /** Ollama model names per stage (must be pulled: `ollama pull NAME`). */
  readonly models: { readonly synthesis: string; readonly comprehension: string; readonly embedding: string };
  /** Context size sent as `options.num_ctx` on every chat call (Ollama's own default, 2048, silently truncates). */
  readonly numCtx: number;
  /** Tokens of `numCtx` kept free for the answer (also sent as `num_predict`); the prompt gets the rest. */
  readonly llmAnswerTokens: number;
  /** Time limit of one LLM call (chat or embed), in ms. */
  readonly llmTimeoutMs: number;
  /** Allow programs that use system(), signal(), override() (bpftrace --unsafe). */
  readonly allowUnsafe: boolean;
  /** Max bytes of one JSON message on the control socket. */
  readonly maxMessageBytes: number;
  /** Max bytes of a submitted program. */
  readonly maxProgramBytes: number;
  readonly kernelCheckTimeoutMs: number;
  /** Kernel checks (each a bpftrace: ~100 MB) that run at once; more wait in a queue. */
  readonly maxConcurrentKernelChecks: number;
  /** Members' checks that may wait for a slot, all together; beyond it a check is refused (try again). */
  readonly maxQueuedKernelChecks: number;
  /** Kernel checks one member uid may have running at once. */
  readonly maxRunningKernelChecksPerUid: number;
  /** Kernel checks one member uid may have waiting; beyond it their next check is refused. */
  readonly maxQueuedKernelChecksPerUid: number;
  /** Kernel-check slots only admins use, besides `maxConcurrentKernelChecks`. */
  readonly adminKernelCheckSlots: number;
  /** Longest a kernel check waits for a slot before it is refused, in ms. */
  readonly kernelCheckMaxWaitMs: number;
  /** Address space (RLIMIT_AS) of one kernel check's bpftrace, in bytes; 0 for no bound. */
  readonly kernelCheckMemoryBytes: number;
  readonly runner: RunnerConfig;
  readonly logLevel: string;
  /** Trials of the Kgent loop before asking for a hint (DESIGN.md section 2). */
  readonly trials: number;
  /** Examples retrieved into each prompt, best first (the prompt budget may drop the last ones). */
  readonly examplesPerPrompt: number;
  readonly contracts: ContractsConfig;
  /**
   * The verifier's solver (a child process) and the hook search index (LanceDB) are let go after
   * this long unused, in ms, and come back on the next use: an idle daemon holds neither.
   */
  readonly idleReleaseMs: number;
  /** Who may do what, and the limits that keep one user from starving the others (daemon/policy/). */
  readonly policy: PolicyConfig;
  /** Who may own the socket of a local Ollama: requests refuse an endpoint held by anyone else. */
  readonly ollamaUser: string;
  /** Send prompts to a local Ollama port held by a user other than root or `ollamaUser` (not advised). */
  readonly allowForeignOllama: boolean;
  /** How much the requests of the Kgent loop may keep on disk, per request and per uid. */
  readonly storage: StorageConfig;
  /** kgentd's own log: stdout (the journal under systemd), or a file it rotates by size. */
  readonly log: LogConfig;
  /** What `kgentctl mcp` (the server AI agents call) may offer. */
  readonly mcp: McpConfig;
}

/**
 * `kgentctl mcp` offers agents everything up to a program waiting for approval; a person approves
 * with `kgentctl approve`. This host-wide key (set by whoever owns /etc/kgent/config.json, not by
 * the user who configures an agent) may also offer `approve` and `run` to agents of admins; the
 * daemon's rights checks apply to those calls as to any other.
 */
export interface McpConfig {
  readonly adminsMayApprove: boolean;
}

export interface StorageConfig {
  /** Bytes of one stored text (request text, hint, prompt, LLM answer, program, report, feedback); longer is cut with a marker. */
  readonly maxFieldBytes: number;
  /** Bytes all attempts of one request keep; beyond it fields keep a short preview, and no hint continues the request. */
  readonly maxRequestBytes: number;
  /** Bytes the stored requests of one member uid may hold; 0: no limit. */
  readonly memberQuotaBytes: number;
  /** Stored requests of one member uid; 0: no limit. */
  readonly memberQuotaRequests: number;
  /** The same for admins (root, the admin group); 0: no limit (the default). */
  readonly adminQuotaBytes: number;
  readonly adminQuotaRequests: number;
}

export interface LogConfig {
  /** A file kgentd writes its log to (rotated by size); "" writes to stdout, for journald. */
  readonly file: string;
  /** Size at which the file is rotated to `<file>.1` (`.1` to `.2` ...). */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
}

/** What a program may use, for one role (members of the socket group, or admins). */
export interface RolePolicy {
  /** Probe types allowed, canonical names (`tracepoint`, `kprobe` ...); `["*"]` allows all. */
  readonly probeTypes: string[];
  /** Builtins refused besides the unsafe ones (e.g. `cat`, which the daemon runs as root). */
  readonly deniedBuiltins: string[];
  /** `system()`, `signal()`, `override()`; needs the top-level `allowUnsafe` as well. */
  readonly unsafe: boolean;
  /** Reads of memory at fixed addresses (`*(uint64 *)0xffff...`, `kptr(0x...)`). */
  readonly rawMemory: boolean;
  /**
   * Programs may name any host file (true): `#include` of any file and every preprocessor
   * directive, uprobes on any binary, clang's full text about included files. Or none (false):
   * only `#include <vetted/system/header.h>`, directives that read no file, uprobes on files
   * everyone may read, and a location and reason instead of clang's text about a header.
   */
  readonly hostFiles: boolean;
}

export interface PolicyConfig {
  /** Group whose members (and root) may approve, attach, run, stop others' programs, rebuild, remove. */
  readonly adminGroup: string;
  /** Members (user names) whose requests may carry `--attach` for their own verified programs. */
  readonly attachUsers: string[];
  readonly members: RolePolicy;
  readonly admins: RolePolicy;
  /** Programs attached (running or restarting) at once; an attach beyond it is refused. */
  readonly maxAttachedPrograms: number;
  /** Characters of a request's English text. */
  readonly maxRequestChars: number;
  /** Open connections of all non-root users together; root is never counted nor refused. */
  readonly maxConnections: number;
  /** Open connections of one non-root uid. */
  readonly maxConnectionsPerUid: number;
  /** A connection with no request in flight and nothing followed is closed after this long. */
  readonly idleTimeoutMs: number;
  /** A request line must be complete (newline) this long after its first byte, or the connection is closed. */
  readonly requestLineTimeoutMs: number;
  /** What happens to the programs of a user no longer in the socket or admin group: stopped, or only flagged. */
  readonly revokedPrograms: 'stop' | 'flag';
  /** How often group membership of program owners and connected users is checked again, in ms. */
  readonly membershipSweepMs: number;
}

export interface ContractsConfig {
  /** Serve kernel contracts (KernelCompDataset) from this daemon. */
  readonly enabled: boolean;
  /** Rebuild in the background at start when the running kernel differs from the stored one. */
  readonly rebuildOnStart: boolean;
  /** Directories where a newly installed kernel appears; [] disables watching. */
  readonly watchPaths: string[];
  /** Kernel source tree for doc comments; "" picks the newest /usr/src/linux-* when present. */
  readonly sourceTree: string;
}

export const DEFAULT_CONFIG_PATH = '/etc/kgent/config.json';

export const DEFAULTS: KgentConfig = {
  socketPath: '/run/kgent/kgentd.sock',
  socketGroup: 'kgent',
  stateDir: '/var/lib/kgent',
  bpftracePath: 'bpftrace',
  ollamaHost: 'http://127.0.0.1:11434',
  models: { synthesis: 'qwen2.5-coder:7b', comprehension: 'qwen2.5-coder:7b', embedding: 'nomic-embed-text' },
  numCtx: 8192,
  llmAnswerTokens: 1536,
  llmTimeoutMs: 180_000,
  allowUnsafe: false,
  maxMessageBytes: 1024 * 1024,
  maxProgramBytes: 256 * 1024,
  kernelCheckTimeoutMs: 60_000,
  maxConcurrentKernelChecks: 2,
  maxQueuedKernelChecks: 64,
  maxRunningKernelChecksPerUid: 1,
  maxQueuedKernelChecksPerUid: 4,
  adminKernelCheckSlots: 1,
  kernelCheckMaxWaitMs: 5 * 60_000,
  kernelCheckMemoryBytes: 1024 * 1024 * 1024,
  runner: { maxRestarts: 3, restartWindowMs: 10 * 60_000, restartDelayMs: 1000, maxLogBytes: 64 * 1024 * 1024, maxLinesPerSecond: 2000 },
  logLevel: 'info',
  trials: 3,
  examplesPerPrompt: 4,
  contracts: { enabled: true, rebuildOnStart: true, watchPaths: ['/lib/modules', '/boot'], sourceTree: '' },
  idleReleaseMs: 60_000,
  policy: {
    adminGroup: 'kgent-admin',
    attachUsers: [],
    members: { probeTypes: ['*'], deniedBuiltins: ['cat'], unsafe: false, rawMemory: false, hostFiles: false },
    admins: { probeTypes: ['*'], deniedBuiltins: [], unsafe: true, rawMemory: true, hostFiles: true },
    maxAttachedPrograms: 32,
    maxRequestChars: 8192,
    maxConnections: 256,
    maxConnectionsPerUid: 16,
    idleTimeoutMs: 10 * 60_000,
    requestLineTimeoutMs: 10_000,
    revokedPrograms: 'stop',
    membershipSweepMs: 30_000,
  },
  ollamaUser: 'ollama',
  allowForeignOllama: false,
  storage: {
    maxFieldBytes: 64 * 1024,
    maxRequestBytes: 1024 * 1024,
    memberQuotaBytes: 50 * 1024 * 1024,
    memberQuotaRequests: 1000,
    adminQuotaBytes: 0,
    adminQuotaRequests: 0,
  },
  log: { file: '', maxBytes: 16 * 1024 * 1024, keep: 4 },
  mcp: { adminsMayApprove: false },
};

export interface ConfigSources {
  readonly configPath?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly flags: Partial<Record<'socket' | 'stateDir' | 'bpftrace' | 'logLevel' | 'logFile', string>>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** Loads the configuration; a bad file or value is a `config` error naming the file and the key. */
export function loadConfig(sources: ConfigSources): KgentConfig {
  const cfg = structuredClone(DEFAULTS) as Mutable<KgentConfig>;
  const file = sources.configPath ?? sources.env.KGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
  const explicit = sources.configPath !== undefined || sources.env.KGENT_CONFIG !== undefined;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (explicit || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KgentError('config', `cannot read config ${file}: ${(err as Error).message}; fix the path or remove --config`, { file });
    }
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new KgentError('config', `config ${file} is not valid JSON: ${(err as Error).message}`, { file });
    }
    mergeInto(cfg as unknown as Record<string, unknown>, parsed, file, '');
  }
  const env = sources.env;
  if (env.KGENT_SOCKET) cfg.socketPath = env.KGENT_SOCKET;
  if (env.KGENT_STATE_DIR) cfg.stateDir = env.KGENT_STATE_DIR;
  if (env.KGENT_BPFTRACE) cfg.bpftracePath = env.KGENT_BPFTRACE;
  if (env.KGENT_LOG_LEVEL) cfg.logLevel = env.KGENT_LOG_LEVEL;
  if (env.OLLAMA_HOST) cfg.ollamaHost = normaliseOllamaHost(env.OLLAMA_HOST);
  const f = sources.flags;
  if (f.socket) cfg.socketPath = f.socket;
  if (f.stateDir) cfg.stateDir = f.stateDir;
  if (f.bpftrace) cfg.bpftracePath = f.bpftrace;
  if (f.logLevel) cfg.logLevel = f.logLevel;
  if (env.KGENT_LOG_FILE !== undefined) cfg.log.file = env.KGENT_LOG_FILE;
  if (f.logFile !== undefined) cfg.log.file = f.logFile;
  cfg.socketPath = path.resolve(cfg.socketPath);
  if (cfg.log.file) cfg.log.file = path.resolve(cfg.log.file);
  cfg.stateDir = path.resolve(cfg.stateDir);
  // kgentd changes into an empty directory of its own at start (process/empty-cwd.ts).
  if (cfg.bpftracePath.includes('/')) cfg.bpftracePath = path.resolve(cfg.bpftracePath);
  const where = text !== undefined ? file : 'defaults/environment';
  validateLlm(cfg, where);
  validateLimits(cfg, where);
  return cfg;
}

/**
 * Every number has a range and every name a shape, so a typo cannot start a daemon that refuses
 * everything (`maxMessageBytes: -5`) or lets everyone in (`maxConnectionsPerUid: 0`).
 */
function validateLimits(cfg: KgentConfig, file: string): void {
  const bad = (key: string, why: string): never => {
    throw new KgentError('config', `config ${file}: "${key}" ${why}`, { file, key });
  };
  const int = (key: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) bad(key, `must be an integer from ${min} to ${max}, not ${v}`);
  };
  int('maxMessageBytes', cfg.maxMessageBytes, 4096, 64 * 1024 * 1024);
  int('maxProgramBytes', cfg.maxProgramBytes, 64, 1024 * 1024);
  int('kernelCheckTimeoutMs', cfg.kernelCheckTimeoutMs, 1000, 600_000);
  int('maxConcurrentKernelChecks', cfg.maxConcurrentKernelChecks, 1, 64);
  int('maxQueuedKernelChecks', cfg.maxQueuedKernelChecks, 0, 10_000);
  int('maxRunningKernelChecksPerUid', cfg.maxRunningKernelChecksPerUid, 1, 64);
  int('maxQueuedKernelChecksPerUid', cfg.maxQueuedKernelChecksPerUid, 0, 10_000);
  int('adminKernelCheckSlots', cfg.adminKernelCheckSlots, 0, 64);
  int('kernelCheckMaxWaitMs', cfg.kernelCheckMaxWaitMs, 1000, 3_600_000);
  int('idleReleaseMs', cfg.idleReleaseMs, 100, 24 * 3600_000);
  if (cfg.kernelCheckMemoryBytes !== 0) int('kernelCheckMemoryBytes', cfg.kernelCheckMemoryBytes, 256 * 1024 * 1024, 64 * 1024 * 1024 * 1024);
  int('runner.maxRestarts', cfg.runner.maxRestarts, 0, 1000);
  int('runner.restartWindowMs', cfg.runner.restartWindowMs, 1000, 7 * 24 * 3600_000);
  int('runner.restartDelayMs', cfg.runner.restartDelayMs, 0, 3_600_000);
  int('runner.maxLogBytes', cfg.runner.maxLogBytes, 4096, 64 * 1024 * 1024 * 1024);
  int('runner.maxLinesPerSecond', cfg.runner.maxLinesPerSecond, 1, 1_000_000);
  const p = cfg.policy;
  int('policy.maxAttachedPrograms', p.maxAttachedPrograms, 1, 10_000);
  int('policy.maxRequestChars', p.maxRequestChars, 16, 8192);
  int('policy.maxConnections', p.maxConnections, 1, 100_000);
  int('policy.maxConnectionsPerUid', p.maxConnectionsPerUid, 1, 100_000);
  int('policy.idleTimeoutMs', p.idleTimeoutMs, 1000, 7 * 24 * 3600_000);
  int('policy.requestLineTimeoutMs', p.requestLineTimeoutMs, 100, 600_000);
  int('policy.membershipSweepMs', p.membershipSweepMs, 1000, 24 * 3600_000);
  if (p.revokedPrograms !== 'stop' && p.revokedPrograms !== 'flag') bad('policy.revokedPrograms', `must be "stop" or "flag", not "${p.revokedPrograms}"`);
  if (p.maxConnectionsPerUid > p.maxConnections) {
    bad('policy.maxConnectionsPerUid', `must be at most policy.maxConnections (${p.maxConnections}), not ${p.maxConnectionsPerUid}`);
  }
  const st = cfg.storage;
  int('storage.maxFieldBytes', st.maxFieldBytes, 1024, 16 * 1024 * 1024);
  int('storage.maxRequestBytes', st.maxRequestBytes, 16 * 1024, 1024 * 1024 * 1024);
  if (st.maxFieldBytes > st.maxRequestBytes) bad('storage.maxFieldBytes', `must be at most storage.maxRequestBytes (${st.maxRequestBytes}), not ${st.maxFieldBytes}`);
  for (const role of ['member', 'admin'] as const) {
    const bytes = st[`${role}QuotaBytes`];
    if (bytes !== 0) int(`storage.${role}QuotaBytes`, bytes, st.maxRequestBytes, Number.MAX_SAFE_INTEGER);
    int(`storage.${role}QuotaRequests`, st[`${role}QuotaRequests`], 0, 100_000_000);
  }
  int('log.maxBytes', cfg.log.maxBytes, 64 * 1024, 64 * 1024 * 1024 * 1024);
  int('log.keep', cfg.log.keep, 1, 100);
  const name = /^[a-z_][a-z0-9_.-]*\$?$/i;
  for (const [key, v] of [['socketGroup', cfg.socketGroup], ['policy.adminGroup', p.adminGroup], ['ollamaUser', cfg.ollamaUser]] as const) {
    if (!name.test(v) || v.length > 32) bad(key, `must be a user or group name like kgent, not "${v}"`);
  }
  p.attachUsers.forEach((u, i) => {
    if (!name.test(u) || u.length > 32) bad(`policy.attachUsers[${i}]`, `must be a user name, not "${u}"`);
  });
  for (const role of ['members', 'admins'] as const) {
    const r = p[role];
    r.probeTypes.forEach((t, i) => {
      if (t !== '*' && !(PROBE_TYPES as readonly string[]).includes(t)) {
        bad(`policy.${role}.probeTypes[${i}]`, `must be "*" or one of ${PROBE_TYPES.join(', ')}, not "${t}"`);
      }
    });
    r.deniedBuiltins.forEach((b, i) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(b)) bad(`policy.${role}.deniedBuiltins[${i}]`, `must be a builtin name like cat, not "${b}"`);
    });
  }
}

/** The LLM keys: model names Ollama accepts, a context that leaves room for a prompt, a positive timeout. */
function validateLlm(cfg: KgentConfig, file: string): void {
  const bad = (key: string, why: string): never => {
    throw new KgentError('config', `config ${file}: "${key}" ${why}`, { file, key });
  };
  for (const stage of ['synthesis', 'comprehension', 'embedding'] as const) {
    const name = cfg.models[stage];
    if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:]*$/.test(name)) bad(`models.${stage}`, `must be an Ollama model name like qwen2.5-coder:7b, not "${name}"`);
  }
  const int = (key: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) bad(key, `must be an integer from ${min} to ${max}, not ${v}`);
  };
  int('numCtx', cfg.numCtx, 2048, 1_048_576);
  int('llmAnswerTokens', cfg.llmAnswerTokens, 256, 65_536);
  int('llmTimeoutMs', cfg.llmTimeoutMs, 1000, 3_600_000);
  int('trials', cfg.trials, 1, 10);
  int('examplesPerPrompt', cfg.examplesPerPrompt, 0, 20);
  if (cfg.llmAnswerTokens > cfg.numCtx / 2) bad('llmAnswerTokens', `must be at most half of numCtx (${cfg.numCtx}), not ${cfg.llmAnswerTokens}`);
}

/** OLLAMA_HOST may be `host:port` or `0.0.0.0`, as the ollama CLI accepts; the client wants a URL. */
export function normaliseOllamaHost(value: string): string {
  const v = value.trim();
  if (/^https?:\/\//.test(v)) return v.replace(/\/+$/, '');
  const hostPort = v.includes(':') ? v : `${v}:11434`;
  return `http://${hostPort.replace(/^0\.0\.0\.0/, '127.0.0.1')}`;
}

function mergeInto(target: Record<string, unknown>, source: unknown, file: string, prefix: string): void {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new KgentError('config', `config ${file}: ${prefix || 'top level'} must be an object`, { file });
  }
  for (const [key, value] of Object.entries(source)) {
    const where = prefix ? `${prefix}.${key}` : key;
    if (!(key in target)) throw new KgentError('config', `config ${file}: unknown key "${where}"`, { file, key: where });
    const current = target[key];
    if (Array.isArray(current)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new KgentError('config', `config ${file}: "${where}" must be an array of strings`, { file, key: where });
      }
      target[key] = value;
    } else if (typeof current === 'object' && current !== null) {
      mergeInto(current as Record<string, unknown>, value, file, where);
    } else if (typeof value !== typeof current) {
      throw new KgentError('config', `config ${file}: "${where}" must be a ${typeof current}`, { file, key: where });
    } else {
      target[key] = value;
    }
  }
}
