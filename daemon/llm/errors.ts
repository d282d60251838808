/**
 * Operational failures of an LLM call, each a {@link KgentError} with one line that says what
 * failed, why and what fixes it. `kind` tells the pipeline which one it is (retry, feedback, end
 * the request); `code` is the protocol code the socket carries.
 */
import { KgentError, type ErrorCode } from '../errors.js';

export type LlmErrorKind =
  /** No HTTP answer from the Ollama host (refused, DNS, reset). */
  | 'unreachable'
  /** Ollama answered 404 `model "x" not found`: the model is not pulled. */
  | 'model-missing'
  /** No complete answer within the configured time. */
  | 'timeout'
  /** The caller aborted (client disconnected, `request.cancel`). */
  | 'cancelled'
  /** An answer came but is not usable (empty content, not JSON, wrong shape). */
  | 'malformed'
  /** Ollama answered with another error status. */
  | 'failed'
  /** The fixed part of a prompt alone does not fit in num_ctx. */
  | 'prompt-too-long';

const CODE_OF: Readonly<Record<LlmErrorKind, ErrorCode>> = {
  unreachable: 'unavailable',
  'model-missing': 'unavailable',
  timeout: 'timeout',
  // The protocol has no `cancelled` error code; a cancelled call is the caller's own doing.
  cancelled: 'refused',
  malformed: 'internal',
  failed: 'unavailable',
  'prompt-too-long': 'bad-request',
};

export class LlmError extends KgentError {
  readonly kind: LlmErrorKind;

  constructor(kind: LlmErrorKind, message: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(CODE_OF[kind], message, { llm: kind, ...data }, options);
    this.name = 'LlmError';
    this.kind = kind;
  }
}

export const llmErrors = {
  unreachable: (host: string, why: string, cause?: unknown): LlmError =>
    new LlmError('unreachable', `Ollama is not reachable at ${host} (${why}): start Ollama or set OLLAMA_HOST`, { host, why }, { cause }),
  modelMissing: (host: string, model: string, cause?: unknown): LlmError =>
    new LlmError('model-missing', `model "${model}" is not pulled on the Ollama at ${host}: run \`ollama pull ${model}\``, { host, model }, { cause }),
  timeout: (host: string, what: string, model: string, ms: number, cause?: unknown): LlmError =>
    new LlmError(
      'timeout',
      `Ollama at ${host} did not answer the ${what} call${model ? ` (model ${model})` : ''} within ${ms} ms: raise llmTimeoutMs in the configuration${model ? ' or use a smaller model' : ''}`,
      { host, model, timeoutMs: ms, call: what },
      { cause },
    ),
  cancelled: (what: string, model: string, cause?: unknown): LlmError =>
    new LlmError('cancelled', `the ${what} call to model ${model} was cancelled`, { model, call: what }, { cause }),
  malformed: (host: string, what: string, model: string, why: string, cause?: unknown): LlmError =>
    new LlmError('malformed', `model ${model} at ${host} gave a malformed ${what} answer: ${why}`, { host, model, call: what, why }, { cause }),
  failed: (host: string, what: string, model: string, status: number, why: string, cause?: unknown): LlmError =>
    new LlmError('failed', `Ollama at ${host} failed the ${what} call (model ${model}): HTTP ${status} ${why}`, { host, model, call: what, status, why }, { cause }),
};
