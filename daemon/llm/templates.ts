/**
 * The prompt templates of the two LLM stages, `daemon/llm/prompts/<stage>-{system,user}.txt`,
 * with `{{name}}` placeholders. They are found from the repository root (like kernel-contracts'
 * `enrich-*.txt`), so the same lookup works from sources and from dist/, which holds no .txt
 * files. Filling reuses kernel-contracts' {@link fillTemplate}, made strict here: a placeholder
 * without a value is an error, never a silently empty section of the prompt.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fillTemplate } from '../../kernel-contracts/enrich/enricher.js';
import { KgentError } from '../errors.js';
import { repoRoot } from '../util/repo-root.js';
import type { LlmMessage, LlmStage } from './backend.js';

/** Values of the synthesis templates (each a ready-made block of text). */
export interface SynthesisPromptValues {
  /** e.g. `0.17.0`. */
  readonly bpftraceVersion: string;
  /** How tracepoint fields are written on this version ({@link argsDialect}), then the facts of its dialect profile. */
  readonly dialect: string;
  /** e.g. `kprobe, kretprobe, tracepoint, uprobe, interval, profile`. */
  readonly probeTypes: string;
  /** The user's request, with any hint. */
  readonly request: string;
  /** Hooks of this host that fit the request, with their fields, widths and byte order. */
  readonly hooks: string;
  /** Retrieved examples (the budget may have dropped some). */
  readonly examples: string;
  /** Feedback so far (`(none)` on the first attempt). */
  readonly feedback: string;
}

/** Values of the comprehension templates. */
export interface ComprehensionPromptValues {
  readonly request: string;
  /** The candidate, unfenced. */
  readonly program: string;
  /** e.g. `0.17.0`. */
  readonly bpftraceVersion: string;
  /** The language facts of that version, as in {@link SynthesisPromptValues.dialect}. */
  readonly dialect: string;
  /** Contracts of the hooks and kernel fields the candidate uses; hints marked as not guaranteed. */
  readonly contracts: string;
  /** Annotated examples. */
  readonly examples: string;
  readonly feedback: string;
}

export interface PromptValuesOf {
  synthesis: SynthesisPromptValues;
  comprehension: ComprehensionPromptValues;
}

/** `daemon/llm/prompts` in the repository (or installation). */
export function llmPromptsDir(): string {
  return path.join(repoRoot(), 'daemon', 'llm', 'prompts');
}

const cache = new Map<string, string>();

/** The text of one template file, e.g. `synthesis-user.txt` (read once per process). */
export function loadPromptTemplate(name: string, dir = llmPromptsDir()): string {
  const file = path.join(dir, name);
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KgentError('config', `prompt template ${name} missing in ${dir}: reinstall kgent`, { dir, name }, { cause: err });
  }
  cache.set(file, text);
  return text;
}

/** The `{{name}}` placeholders of a template, in order of first use. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))];
}

/** Fills a template; a placeholder with no value throws (naming the template and the names). */
export function fillPromptTemplate(name: string, values: Readonly<Record<string, string>>, dir = llmPromptsDir()): string {
  const template = loadPromptTemplate(name, dir);
  const missing = placeholders(template).filter((p) => typeof values[p] !== 'string');
  if (missing.length) throw new KgentError('internal', `prompt template ${name} needs values for ${missing.join(', ')}`, { name, missing });
  return fillTemplate(template, values).trimEnd();
}

/** The system and user messages of a stage, filled. */
export function renderPrompt<S extends LlmStage>(stage: S, values: PromptValuesOf[S], dir = llmPromptsDir()): LlmMessage[] {
  const v = values as unknown as Readonly<Record<string, string>>;
  return [
    { role: 'system', content: fillPromptTemplate(`${stage}-system.txt`, v, dir) },
    { role: 'user', content: fillPromptTemplate(`${stage}-user.txt`, v, dir) },
  ];
}

/**
 * How tracepoint fields are written for a bpftrace version: `args->name` up to 0.19, `args.name`
 * from 0.20 (where `args` became a struct). An unparsable version gets the 0.17 form.
 */
export function argsDialect(bpftraceVersion: string): string {
  const m = /(\d+)\.(\d+)/.exec(bpftraceVersion);
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 17;
  return major > 0 || minor >= 20
    ? `Tracepoint fields are written args.name on bpftrace ${bpftraceVersion}, e.g. args.filename.`
    : `Tracepoint fields are written args->name on bpftrace ${bpftraceVersion}, e.g. args->filename; args.name does not parse here.`;
}
