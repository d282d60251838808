/**
 * The LLM as the pipeline sees it: {@link LlmBackend}, one chat call per stage, embeddings, and a
 * health check, over the `ollama` client and plain HTTP. Every call has a time limit and can be
 * aborted; both go to `fetch` itself, so an abort closes the HTTP connection and Ollama stops
 * generating. Failures are {@link LlmError}s with one line saying what fixes them.
 */
import { Ollama } from 'ollama';
import { hasModel } from './ollama-client.js';
import { LlmError, llmErrors } from './errors.js';

export type LlmStage = 'synthesis' | 'comprehension';

export interface LlmMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface LlmChatRequest {
  readonly stage: LlmStage;
  readonly messages: readonly LlmMessage[];
  /** Sent as `options.num_ctx`; the prompt must already fit (see prompt-budget.ts). */
  readonly numCtx: number;
  /** Aborts the call (client gone, `request.cancel`): the HTTP request is closed. */
  readonly signal?: AbortSignal;
  /** The model to ask instead of the stage's configured one (the evaluation compares models). */
  readonly model?: string;
  /**
   * Told the number of answer tokens received so far, as they arrive: the answer is then streamed
   * (Ollama sends one token per line), so a person watching a slow model sees it working.
   */
  readonly onTokens?: (received: number) => void;
  /** `json`: the answer is constrained to one JSON object (Ollama's `format`; kernel-contracts' enrichment). */
  readonly format?: 'json';
  /** Sent as `options.temperature` (the model's default when absent). */
  readonly temperature?: number;
}

export interface LlmChatResult {
  /** The assistant's text, non-empty. */
  readonly content: string;
  /** The model that answered. */
  readonly model: string;
  /** Wall time of the call. */
  readonly ms: number;
  /** Ollama's `prompt_eval_count` (absent when the prompt came from its cache or was not reported). */
  readonly promptTokens?: number;
  /** Ollama's `eval_count`. */
  readonly answerTokens?: number;
  /** The answer stopped at the token limit (`done_reason: "length"`): it may be cut off. */
  readonly truncated?: boolean;
}

export interface LlmCheck {
  readonly reachable: boolean;
  /** Models Ollama lists. */
  readonly models: string[];
  /** Configured models (synthesis, comprehension, embedding) that are not pulled. */
  readonly missing: string[];
  /** Why it is not reachable, one line. */
  readonly error?: string;
}

/** What the pipeline uses of the LLM. */
export interface LlmBackend {
  readonly host: string;
  chat(req: LlmChatRequest): Promise<LlmChatResult>;
  /** One vector per text, or `undefined` when no embedding model is present or answering. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][] | undefined>;
  check(): Promise<LlmCheck>;
}

export interface LlmBackendOptions {
  /** Ollama base URL, e.g. `http://127.0.0.1:11434` (config `ollamaHost`, env OLLAMA_HOST). */
  readonly host: string;
  readonly models: { readonly synthesis: string; readonly comprehension: string; readonly embedding: string };
  /** Time limit of each call in ms (config `llmTimeoutMs`). */
  readonly timeoutMs: number;
  /** Sent as `options.num_predict` so prompt + answer stay within num_ctx (config `llmAnswerTokens`). */
  readonly answerTokens?: number;
  /** Told why embeddings are unavailable (pino's `warn` fits). */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** The backend the daemon uses, over Ollama. */
export function createLlmBackend(opts: LlmBackendOptions): LlmBackend {
  const host = opts.host.replace(/\/+$/, '');

  /** A client whose every request carries the caller's signal and this call's time limit. */
  const clientFor = (signal: AbortSignal): Ollama =>
    new Ollama({ host, fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, signal }) });

  /** Runs `fn` with a fresh client, turning every failure into an LlmError. */
  const call = async <T>(what: string, model: string, caller: AbortSignal | undefined, fn: (client: Ollama) => Promise<T>): Promise<T> => {
    if (caller?.aborted) throw llmErrors.cancelled(what, model, caller.reason);
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
    try {
      return await fn(clientFor(signal));
    } catch (err) {
      if (caller?.aborted) throw llmErrors.cancelled(what, model, err);
      if (timeout.aborted) throw llmErrors.timeout(host, what, model, opts.timeoutMs, err);
      throw classify(err, host, what, model);
    }
  };

  return {
    host,

    async chat(req) {
      const model = req.model ?? opts.models[req.stage];
      if (!Number.isInteger(req.numCtx) || req.numCtx <= 0) {
        throw new LlmError('malformed', `chat call for ${req.stage} without a valid numCtx (${req.numCtx})`, { numCtx: req.numCtx });
      }
      const started = performance.now();
      const params = {
        model,
        messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
        options: { num_ctx: req.numCtx, ...(opts.answerTokens ? { num_predict: opts.answerTokens } : {}), ...(req.temperature !== undefined ? { temperature: req.temperature } : {}) },
        ...(req.format ? { format: req.format } : {}),
      };
      const onTokens = req.onTokens;
      const res = await call(req.stage, model, req.signal, async (client) => {
        if (!onTokens) return client.chat({ ...params, stream: false });
        // Streamed: the pieces make the content; the last part carries the counts and done_reason.
        let content = '';
        let received = 0;
        let last: Awaited<ReturnType<typeof client.chat>> | undefined;
        for await (const part of await client.chat({ ...params, stream: true })) {
          const piece = part.message?.content;
          if (typeof piece === 'string' && piece !== '') {
            content += piece;
            received++;
            onTokens(received);
          }
          last = part;
        }
        if (!last) throw llmErrors.malformed(host, req.stage, model, 'the stream ended without a part');
        return { ...last, message: { ...last.message, content } };
      });
      const ms = Math.round(performance.now() - started);
      const content: unknown = (res as { message?: { content?: unknown } } | null)?.message?.content;
      if (typeof content !== 'string') throw llmErrors.malformed(host, req.stage, model, 'no message content in the answer');
      if (content.trim() === '') throw llmErrors.malformed(host, req.stage, model, 'the answer is empty');
      const count = (n: unknown): number | undefined => (typeof n === 'number' && Number.isFinite(n) ? n : undefined);
      const promptTokens = count(res.prompt_eval_count);
      const answerTokens = count(res.eval_count);
      return {
        content,
        model: typeof res.model === 'string' && res.model ? res.model : model,
        ms,
        ...(promptTokens !== undefined ? { promptTokens } : {}),
        ...(answerTokens !== undefined ? { answerTokens } : {}),
        ...(res.done_reason === 'length' ? { truncated: true } : {}),
      };
    },

    async embed(texts, signal) {
      if (texts.length === 0) return [];
      const model = opts.models.embedding;
      try {
        const res = await call('embedding', model, signal, (client) => client.embed({ model, input: texts }));
        const vectors: unknown = (res as { embeddings?: unknown } | null)?.embeddings;
        const ok =
          Array.isArray(vectors) &&
          vectors.length === texts.length &&
          vectors.every((v) => Array.isArray(v) && v.length > 0 && v.length === (vectors[0] as unknown[]).length && v.every((x) => typeof x === 'number'));
        if (!ok) throw llmErrors.malformed(host, 'embedding', model, `expected ${texts.length} vectors of equal length`);
        return vectors as number[][];
      } catch (err) {
        // Cancellation is the caller's decision, not a missing model: it still propagates.
        if (err instanceof LlmError && err.kind === 'cancelled') throw err;
        opts.log?.warn({ err, model, host }, `embeddings unavailable: ${(err as Error).message}`);
        return undefined;
      }
    },

    async check() {
      const wanted = [...new Set([opts.models.synthesis, opts.models.comprehension, opts.models.embedding])];
      try {
        const res = await call('list', '', undefined, (client) => client.list());
        const models = res.models.map((m) => m.name);
        return { reachable: true, models, missing: wanted.filter((m) => !hasModel(models, m)) };
      } catch (err) {
        return { reachable: false, models: [], missing: wanted, error: (err as Error).message };
      }
    },
  };
}

/** Maps what fetch or the ollama client threw to an LlmError. */
function classify(err: unknown, host: string, what: string, model: string): LlmError {
  if (err instanceof LlmError) return err;
  const e = err as Error & { status_code?: number; cause?: { code?: string; message?: string } };
  if (e?.name === 'ResponseError' && typeof e.status_code === 'number') {
    // Ollama: 404 {"error":"model \"x\" not found, try pulling it first"}
    if (e.status_code === 404 && /not found/i.test(e.message)) return llmErrors.modelMissing(host, model, err);
    return llmErrors.failed(host, what, model, e.status_code, e.message, err);
  }
  if (e instanceof SyntaxError) return llmErrors.malformed(host, what, model, `not JSON: ${e.message}`, err);
  // undici: TypeError('fetch failed') with the socket error as cause.
  if (e instanceof TypeError && e.cause) return llmErrors.unreachable(host, e.cause.code ?? e.cause.message ?? 'fetch failed', err);
  return llmErrors.failed(host, what, model, 0, e instanceof Error ? e.message : String(err), err);
}
