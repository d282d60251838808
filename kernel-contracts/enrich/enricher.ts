/**
 * LLM enrichment: turns a contract's documentation and source into pre/post conditions through an
 * LLM chat model (the daemon's, see ../language-model.ts). The answer must be one JSON object valid against `schema.json`
 * (`#/$defs/enrichment`) and must only name values of the hook; anything else is rejected with
 * the reasons, which are sent back to the model for a bounded number of retries. A rejected
 * answer is never returned (so never stored).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ContractsError } from '../errors.js';
import { checkCondition, renderCond, validateAgainstSchema, type Condition, type EnrichmentAnswer, type Scope, type ScopeValue } from '../contracts/expr.js';
import type { SchemaError } from '../contracts/json-schema.js';
import type { Contract, ValueContract } from '../contracts/model.js';
import type { FunctionSource } from '../source-reader/index.js';
import type { ChatTurn, ContractsLanguageModel } from '../language-model.js';
import { promptsDir } from '../paths.js';

export interface EnricherOptions {
  readonly llm: Pick<ContractsLanguageModel, 'chatJson'>;
  /** The chat model's name, e.g. `qwen2.5-coder:7b` (stored with the answer). */
  readonly model: string;
  /** Answers tried before giving up (default 3). */
  readonly maxAttempts?: number;
  /** Directory of `enrich-*.txt` templates (default kernel-contracts/prompts). */
  readonly promptsDir?: string;
  /** Resolves a member path through a pointer value (for `{"field":"sk","path":[...]}`). */
  readonly memberOf?: (pointee: string, path: readonly string[]) => { bits: number; signed: boolean } | undefined;
  /** Called with each rejected answer's reasons (for logs). */
  readonly onRejected?: (attempt: number, reasons: readonly string[]) => void;
}

export interface EnrichmentResult {
  readonly answer: EnrichmentAnswer;
  readonly conditions: readonly Condition[];
  readonly attempts: number;
  readonly model: string;
}

/** Why an answer was rejected: one line per problem, with JSON paths. */
export interface Rejection {
  readonly attempt: number;
  readonly reasons: readonly string[];
}

/** Reads a template and fills `{{name}}` placeholders. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values[k] ?? '');
}

function loadTemplate(dir: string, name: string): string {
  try {
    return readFileSync(path.join(dir, name), 'utf8');
  } catch (err) {
    throw new ContractsError('config', `prompt template ${name} missing in ${dir}`, { dir, name }, { cause: err });
  }
}

/** The names a condition may use on this contract, with their types. */
export function scopeOf(c: Contract, memberOf?: EnricherOptions['memberOf']): Scope {
  const toScope = (v: ValueContract): ScopeValue => {
    const pointer = v.kind === 'pointer';
    const pointee = v.pointee;
    return {
      bits: v.bits,
      signed: v.signed,
      pointer,
      ...(pointer && pointee && memberOf ? { member: (p: readonly string[]) => memberOf(pointee, p) } : {}),
    };
  };
  if (c.kind === 'function') {
    return { values: new Map(c.args.map((a) => [a.name, toScope(a)])), ...(c.ret ? { ret: toScope(c.ret) } : {}) };
  }
  return { values: new Map(c.fields.map((f) => [f.name, toScope(f)])) };
}

/**
 * Checks an LLM answer (text) for a contract: JSON, schema, then names/types. Returns the parsed
 * answer or the reasons it was rejected.
 */
export function checkAnswer(text: string, contract: Contract, memberOf?: EnricherOptions['memberOf']): { ok: true; answer: EnrichmentAnswer } | { ok: false; reasons: string[] } {
  let value: unknown;
  const trimmed = text.trim();
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    // Models often fence JSON in ``` blocks; accept exactly one fenced object, nothing looser.
    const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n```$/.exec(trimmed);
    if (!fenced) return { ok: false, reasons: [`not valid JSON: ${(err as Error).message}`] };
    try {
      value = JSON.parse(fenced[1]!);
    } catch (err2) {
      return { ok: false, reasons: [`not valid JSON inside the code fence: ${(err2 as Error).message}`] };
    }
  }
  const schemaErrs = validateAgainstSchema(value, 'enrichment');
  if (schemaErrs.length) return { ok: false, reasons: dedupe(schemaErrs) };
  const answer = value as EnrichmentAnswer;
  const scope = scopeOf(contract, memberOf);
  const errs: SchemaError[] = [];
  answer.pre.forEach((c, i) => errs.push(...checkCondition(c.expr, 'pre', scope, `$.pre[${i}].expr`)));
  if (contract.kind === 'tracepoint' && answer.post.length) errs.push({ path: '$.post', message: 'a tracepoint has no return: post must be []' });
  else answer.post.forEach((c, i) => errs.push(...checkCondition(c.expr, 'post', scope, `$.post[${i}].expr`)));
  if (errs.length) return { ok: false, reasons: dedupe(errs) };
  return { ok: true, answer };
}

function dedupe(errs: readonly SchemaError[]): string[] {
  return [...new Set(errs.map((e) => `at ${e.path}: ${e.message}`))].slice(0, 12);
}

/** The chat messages of the first attempt. */
export function buildPrompt(contract: Contract, source: FunctionSource | undefined, dir = promptsDir()): { system: string; user: string } {
  const system = loadTemplate(dir, 'enrich-system.txt');
  const user = fillTemplate(loadTemplate(dir, 'enrich-user.txt'), promptValues(contract, source));
  return { system, user };
}

function promptValues(c: Contract, src: FunctionSource | undefined): Record<string, string> {
  const describe = (v: ValueContract): string =>
    `  ${v.name}: ${v.type} (${v.kind}, ${v.bits}-bit ${v.signed ? 'signed' : 'unsigned'}${v.byteOrder !== 'host' ? `, ${v.byteOrder}-endian` : ''}${v.nullable ? ', may be NULL' : ''})${v.doc ? ` -- ${v.doc}` : ''}`;
  const values = c.kind === 'function' ? c.args : c.fields;
  const doc = [
    c.doc?.summary,
    c.doc?.description,
    c.doc?.context ? `Context: ${c.doc.context}` : undefined,
    c.doc?.returns ? `Return: ${c.doc.returns}` : undefined,
    src?.commentText,
  ]
    .filter(Boolean)
    .join('\n');
  const body = src?.body ? `${src.signature}\n${src.body.length > 6000 ? `${src.body.slice(0, 6000)}\n/* ... truncated ... */` : src.body}` : '(no source tree available)';
  return {
    hook: c.id,
    declaration: c.kind === 'function' ? c.prototype : `tracepoint ${c.category}:${c.event}; print fmt: ${c.printFmt.slice(0, 800)}`,
    names: values.map(describe).join('\n') || '  (none)',
    known: c.conditions.map((k) => `  ${k.kind}: ${renderCond(k.expr)}`).join('\n') || '  (none)',
    doc: doc || '(none)',
    source: body,
  };
}

/**
 * Asks the model for conditions, validating each answer; retries with the rejection reasons up to
 * `maxAttempts`. Throws `ContractsError('unavailable')` when the model cannot be reached, and
 * `ContractsError('refused')` with every rejection when no answer was valid.
 */
export async function enrichContract(contract: Contract, source: FunctionSource | undefined, opts: EnricherOptions): Promise<EnrichmentResult> {
  const dir = opts.promptsDir ?? promptsDir();
  const { system, user } = buildPrompt(contract, source, dir);
  const retry = loadTemplate(dir, 'enrich-retry.txt');
  const max = Math.max(1, opts.maxAttempts ?? 3);
  const messages: ChatTurn[] = [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
  const rejections: Rejection[] = [];
  for (let attempt = 1; attempt <= max; attempt++) {
    let text: string;
    try {
      text = await opts.llm.chatJson(messages);
    } catch (err) {
      throw new ContractsError('unavailable', `LLM enrichment of ${contract.id} failed: the model ${opts.model} did not answer (${(err as Error).message})`, { hook: contract.id, model: opts.model }, { cause: err });
    }
    const checked = checkAnswer(text, contract, opts.memberOf);
    if (checked.ok) {
      const conditions: Condition[] = [
        ...checked.answer.pre.map((c) => ({ kind: 'pre' as const, expr: c.expr, source: 'llm' as const, ...(c.note ? { note: c.note } : {}) })),
        ...checked.answer.post.map((c) => ({ kind: 'post' as const, expr: c.expr, source: 'llm' as const, ...(c.note ? { note: c.note } : {}) })),
      ];
      return { answer: checked.answer, conditions, attempts: attempt, model: opts.model };
    }
    rejections.push({ attempt, reasons: checked.reasons });
    opts.onRejected?.(attempt, checked.reasons);
    messages.push({ role: 'assistant', content: text });
    messages.push({ role: 'user', content: fillTemplate(retry, { reasons: checked.reasons.map((r) => `- ${r}`).join('\n') }) });
  }
  const last = rejections.at(-1)?.reasons[0] ?? 'no answer';
  throw new ContractsError('refused', `LLM enrichment of ${contract.id} rejected after ${max} answer(s); last reason: ${last}`, {
    hook: contract.id,
    model: opts.model,
    rejections,
  });
}
