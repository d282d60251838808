/**
 * Fits a prompt into the model's context before it is sent. Ollama silently drops the start of a
 * prompt longer than `num_ctx` (the system text, the request, the oldest feedback), so kgent
 * counts first and trims what matters least: the lowest-ranked examples, then the oldest feedback
 * (cut to its first line). The fixed parts (system text, request, host facts) are never cut; when
 * they alone do not fit, {@link fitPrompt} throws instead of sending a prompt that cannot fit.
 */
import { LlmError } from './errors.js';
import type { LlmMessage } from './backend.js';

/** What the prompt may lose, in the order given. */
export interface PromptParts<E extends { readonly id: string }> {
  /** Retrieved examples, best first; dropped from the end. */
  readonly examples: readonly E[];
  /** Feedback messages of this request, oldest first; shortened from the start. */
  readonly feedback: readonly string[];
}

export interface BudgetLimits {
  /** The context size sent as `num_ctx`. */
  readonly numCtx: number;
  /** Tokens kept free for the answer. */
  readonly answerTokens: number;
}

/** What was trimmed to fit; store it with the attempt. */
export interface BudgetReport {
  /** Ids of the examples left out, lowest-ranked first. */
  readonly droppedExamples: string[];
  /** How many feedback messages were cut to their first line. */
  readonly shortenedFeedback: number;
  /** Estimated tokens of the prompt as sent. */
  readonly tokens: number;
  /** Tokens the prompt may use: numCtx - answerTokens. */
  readonly budget: number;
}

export interface FittedPrompt<E> {
  readonly messages: LlmMessage[];
  /** The examples kept, in rank order. */
  readonly examples: E[];
  /** The feedback as sent (some perhaps shortened), oldest first. */
  readonly feedback: string[];
  readonly report: BudgetReport;
}

/** The marker put after the first line of a shortened feedback message. */
export const SHORTENED_MARKER = '[... shortened to fit the context window]';
/** A first line longer than this is cut too. */
const MAX_FIRST_LINE = 300;
// The chat template wraps each message (`<|im_start|>role\n ... <|im_end|>\n` for Qwen, similar
// for Llama): a few tokens per message, plus the assistant header that opens the answer.
const PER_MESSAGE_TOKENS = 8;
const PER_PROMPT_TOKENS = 16;

/**
 * A conservative token count for text, without the model's tokenizer (none is available
 * offline). Byte-level BPE tokenizers (Qwen2.5, Llama 3) first split text into pieces — a run of
 * letters with the space before it, a single digit (Qwen), a run of punctuation with the space
 * before it, a run of other whitespace — and never merge across pieces, so the count here is per
 * piece: a letter run one token per 4 letters (their vocabularies hold most English words and
 * identifier parts whole), each digit one token, a punctuation run one token per 2 characters
 * (`->`, `");` are single tokens), a whitespace run one token, and each non-ASCII character one
 * token per UTF-8 byte (the hard upper bound of byte-level BPE). The result is never below
 * UTF-8 bytes / 3 either. Plain `bytes / 3` alone undercounts punctuation-dense code such as
 * `printf("%d\n", args->dport);` and numbers (Qwen spells digits one token each), which is exactly
 * what these prompts contain. Measured on this repository's prompts and examples it is above the
 * real count; it is an estimate, so the answer reserve is generous as well.
 */
export function estimateTokens(text: string): number {
  let pieces = 0;
  for (const m of text.matchAll(/ ?[A-Za-z]+|[0-9]| ?[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]+|\s+|[^\x00-\x7f]/g)) {
    const s = m[0].startsWith(' ') && m[0].length > 1 ? m[0].slice(1) : m[0];
    const c = s.charCodeAt(0);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) pieces += Math.ceil(s.length / 4);
    else if (c >= 0x21 && c <= 0x7e && !(c >= 48 && c <= 57)) pieces += Math.ceil(s.length / 2);
    else if (c > 0x7f) pieces += Buffer.byteLength(s, 'utf8');
    else pieces += 1;
  }
  // Control characters other than whitespace match no piece; the bytes / 3 floor covers them.
  return Math.max(pieces, Math.ceil(Buffer.byteLength(text, 'utf8') / 3));
}

/** Estimated tokens of a chat prompt as the model sees it (template overhead included). */
export function estimatePromptTokens(messages: readonly LlmMessage[]): number {
  return PER_PROMPT_TOKENS + messages.reduce((n, m) => n + PER_MESSAGE_TOKENS + estimateTokens(m.content), 0);
}

/** A feedback message cut to its first line and the marker. */
export function shortenFeedback(text: string): string {
  const nl = text.indexOf('\n');
  let first = nl < 0 ? text : text.slice(0, nl);
  if (first.length > MAX_FIRST_LINE) first = `${first.slice(0, MAX_FIRST_LINE)}...`;
  return `${first}\n${SHORTENED_MARKER}`;
}

/**
 * Renders the prompt with as much as fits in `numCtx - answerTokens`: all parts when they fit;
 * otherwise drops examples from the lowest-ranked up, then cuts feedback messages from the oldest
 * on (the newest last) to their first line. `render` builds the messages from the parts kept —
 * the fixed parts live in it and are counted on every try. Throws `LlmError('prompt-too-long')`
 * when even the fixed parts with every example dropped and all feedback shortened do not fit.
 */
export function fitPrompt<E extends { readonly id: string }>(
  parts: PromptParts<E>,
  render: (kept: { examples: readonly E[]; feedback: readonly string[] }) => LlmMessage[],
  limits: BudgetLimits,
): FittedPrompt<E> {
  const budget = limits.numCtx - limits.answerTokens;
  const examples = [...parts.examples];
  const feedback = [...parts.feedback];
  const droppedExamples: string[] = [];
  let shortenedFeedback = 0;
  const attempt = (): { messages: LlmMessage[]; tokens: number } => {
    const messages = render({ examples, feedback });
    return { messages, tokens: estimatePromptTokens(messages) };
  };
  let cur = attempt();
  while (cur.tokens > budget && examples.length > 0) {
    droppedExamples.push(examples.pop()!.id);
    cur = attempt();
  }
  for (let i = 0; cur.tokens > budget && i < feedback.length; i++) {
    const short = shortenFeedback(feedback[i]!);
    if (short.length >= feedback[i]!.length) continue;
    feedback[i] = short;
    shortenedFeedback++;
    cur = attempt();
  }
  if (cur.tokens > budget) {
    const need = cur.tokens + limits.answerTokens;
    const raiseTo = Math.ceil(need / 1024) * 1024;
    throw new LlmError(
      'prompt-too-long',
      `the request itself needs ~${cur.tokens} prompt tokens but num_ctx ${limits.numCtx} leaves ${budget} after ${limits.answerTokens} for the answer: shorten the request or raise numCtx to ${raiseTo} in the configuration`,
      { tokens: cur.tokens, budget, numCtx: limits.numCtx, answerTokens: limits.answerTokens, droppedExamples, shortenedFeedback, raiseTo },
    );
  }
  return { messages: cur.messages, examples, feedback, report: { droppedExamples, shortenedFeedback, tokens: cur.tokens, budget } };
}
