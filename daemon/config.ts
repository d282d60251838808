/**
 * kgentd configuration: defaults (the real host paths) < /etc/kgent/config.json (or --config) <
 * environment (KGENT_*) < command-line flags. Development and tests point --socket and --state-dir at
 * temp paths so the daemon runs without touching /run or /var/lib.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KgentError } from './errors.js';

export interface RunnerConfig {
  /** Restarts allowed after a crash within `restartWindowMs` before the program is marked failed. */
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
  readonly restartDelayMs: number;
  /** Log file size after which it is rotated to `<id>.jsonl.1`. */
  readonly maxLogBytes: number;
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
  readonly runner: RunnerConfig;
  readonly logLevel: string;
  /** Trials of the Kgent loop before asking for a hint (DESIGN.md section 2). */
  readonly trials: number;
  /** Examples retrieved into each prompt, best first (the prompt budget may drop the last ones). */
  readonly examplesPerPrompt: number;
  readonly contracts: ContractsConfig;
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
  runner: { maxRestarts: 3, restartWindowMs: 10 * 60_000, restartDelayMs: 1000, maxLogBytes: 64 * 1024 * 1024 },
  logLevel: 'info',
  trials: 3,
  examplesPerPrompt: 4,
  contracts: { enabled: true, rebuildOnStart: true, watchPaths: ['/lib/modules', '/boot'], sourceTree: '' },
};

export interface ConfigSources {
  readonly configPath?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly flags: Partial<Record<'socket' | 'stateDir' | 'bpftrace' | 'logLevel', string>>;
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
  cfg.socketPath = path.resolve(cfg.socketPath);
  cfg.stateDir = path.resolve(cfg.stateDir);
  validateLlm(cfg, text !== undefined ? file : 'defaults/environment');
  return cfg;
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
