/**
 * The Prompter (paper section 3.2): the parts of each prompt, in the order of their importance.
 * Fixed parts always go in (the request and its hints, this host's facts, the hooks that fit);
 * examples are ranked (the budget drops the lowest first); feedback is every message of this
 * request so far, oldest first (the budget shortens the oldest first). `llm/` renders the parts
 * into the template of each stage and fits them into num_ctx.
 */
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { FeedbackMessage } from '../protocol/requests-api.js';
import { argsDialect } from '../llm/templates.js';
import { DEFAULT_DIALECT, nearestProfile, type Dialect } from '../verifier/dialect/index.js';
import { dialectFactsText } from './dialect-facts.js';
import { probeTypesText, renderHook, type HostFacts } from './hook-facts.js';
import type { RetrievedExample } from './stages.js';

export interface PromptParts {
  /** Template values that always go in, by placeholder name. */
  readonly fixed: Readonly<Record<string, string>>;
  /** Ranked examples, best first: `{{examples}}`. */
  readonly examples: readonly { readonly id: string; readonly text: string }[];
  /** Feedback messages, oldest first: `{{feedback}}`. */
  readonly feedback: readonly string[];
}

function requestText(text: string, hints: readonly string[]): string {
  return hints.length === 0 ? text : `${text}\nHints from the user (follow them):\n${hints.map((h) => `- ${h}`).join('\n')}`;
}

function fence(program: string): string {
  return '```bpftrace\n' + program.trim() + '\n```';
}

export function feedbackLine(f: FeedbackMessage): string {
  return `attempt ${f.attempt}, ${f.stage}: ${f.message}`;
}

function exampleText(e: RetrievedExample, annotated: boolean): string {
  if (e.kind === 'learned-avoid') {
    return `Request: ${e.prompt}\nThis earlier attempt FAILED; avoid its mistake:\n${fence(e.program)}\nWhy it failed:\n${(e.feedback ?? []).map((f) => `- ${f}`).join('\n')}`;
  }
  return `Request: ${e.prompt}\n${annotated ? 'Annotated program' : 'Program'}:\n${fence(annotated && e.annotated ? e.annotated : e.program)}`;
}

/** The host's dialect: the one kgentd chose, else the profile nearest its bpftrace version. */
function dialectOf(host: Pick<HostFacts, 'bpftraceVersion' | 'dialect'>): Dialect {
  if (host.dialect) return host.dialect;
  const choice = nearestProfile(host.bpftraceVersion);
  return choice.kind === 'unsupported' ? DEFAULT_DIALECT : choice.dialect;
}

/** `{{dialect}}`: how tracepoint fields are written, then the facts of the host's dialect profile (dialect-facts.ts). */
function dialectText(host: Pick<HostFacts, 'bpftraceVersion' | 'dialect'>): string {
  return `${argsDialect(host.bpftraceVersion)}\n- ${dialectFactsText(dialectOf(host))}`;
}

/** The synthesis prompt's parts. */
export function synthesisParts(o: {
  text: string;
  hints: readonly string[];
  host: HostFacts;
  hooks: readonly Contract[];
  examples: readonly RetrievedExample[];
  feedback: readonly FeedbackMessage[];
}): PromptParts {
  return {
    fixed: {
      request: requestText(o.text, o.hints),
      bpftraceVersion: o.host.bpftraceVersion,
      dialect: dialectText(o.host),
      probeTypes: probeTypesText(o.host),
      hooks: o.hooks.length ? o.hooks.map((h) => renderHook(h)).join('\n\n') : '(no hook of this kernel matched the request words; choose from the probe types above)',
    },
    examples: o.examples.map((e) => ({ id: e.id, text: exampleText(e, false) })),
    feedback: o.feedback.map(feedbackLine),
  };
}

/** The comprehension prompt's parts: the candidate, the contracts of what it reads, annotated examples. */
export function comprehensionParts(o: {
  text: string;
  hints: readonly string[];
  /** The host's bpftrace (default: 0.17's rules when unknown). */
  host?: Pick<HostFacts, 'bpftraceVersion' | 'dialect'>;
  candidate: string;
  hooks: readonly Contract[];
  /** Kernel struct members the candidate reads, with their BTF types. */
  members: readonly { struct: string; member: string; type: string }[];
  examples: readonly RetrievedExample[];
  feedback: readonly FeedbackMessage[];
}): PromptParts {
  const hooks = o.hooks.length ? o.hooks.map((h) => renderHook(h)).join('\n\n') : '(no contract known for the hooks of this program)';
  const members = o.members.map((m) => `  struct ${m.struct}.${m.member}: ${m.type}${/\b__be(16|32|64)\b/.test(m.type) ? ' (network byte order, guaranteed by its BTF type)' : ''}`);
  return {
    fixed: {
      request: requestText(o.text, o.hints),
      program: o.candidate.trim(),
      bpftraceVersion: o.host?.bpftraceVersion ?? DEFAULT_DIALECT.version,
      dialect: dialectText(o.host ?? { bpftraceVersion: DEFAULT_DIALECT.version }),
      contracts: members.length ? `${hooks}\n\nKernel fields it reads (BTF of this kernel):\n${members.join('\n')}` : hooks,
    },
    examples: o.examples.filter((e) => e.kind !== 'learned-avoid' && e.annotated).map((e) => ({ id: e.id, text: exampleText(e, true) })),
    feedback: o.feedback.filter((f) => f.stage === 'guard' || f.stage === 'symbolic' || f.stage === 'comprehension').map(feedbackLine),
  };
}
