/**
 * Evaluation cases (datasets/eval/*.jsonl, datasets/README.md): one JSON object per line,
 * `{id, prompt, trigger, expect, reference, wrong: [{program, bug}], annotated?, waitMs?}`. Extra
 * fields are ignored by the eval; `wrong` and `annotated` test the oracle and the harness.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EvalCase } from '../protocol/eval-api.js';
import { repoRoot } from '../util/repo-root.js';

/** A case as the file holds it: the eval's fields plus what tests use. */
export interface EvalCaseFile extends EvalCase {
  readonly wrong: readonly { readonly program: string; readonly bug: string }[];
  /** The reference with annotations our verifier proves (the comprehension answer of a replay). */
  readonly annotated?: string;
  /** The file and line it came from. */
  readonly source: string;
}

/** Where the bundled cases are (from the sources and from dist/). */
export function defaultEvalCasesDir(): string {
  return path.join(repoRoot(), 'datasets', 'eval');
}

/** Reads a `.jsonl` file or every `.jsonl` file of a directory (sorted); errors name file and line. */
export function loadEvalCases(fileOrDir: string = defaultEvalCasesDir()): EvalCaseFile[] {
  if (!existsSync(fileOrDir)) throw new Error(`${fileOrDir}: no such file or directory`);
  const files = statSync(fileOrDir).isDirectory()
    ? readdirSync(fileOrDir)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => path.join(fileOrDir, f))
    : [fileOrDir];
  const out: EvalCaseFile[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        const where = `${file}:${i + 1}`;
        const c = parseEvalCase(line, where);
        if (seen.has(c.id)) throw new Error(`${where}: duplicate case id "${c.id}"`);
        seen.add(c.id);
        out.push(c);
      });
  }
  return out;
}

/** One line of a case file. */
export function parseEvalCase(line: string, where: string): EvalCaseFile {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object`);
  const o = v as Record<string, unknown>;
  const text = (k: string): string => {
    const x = o[k];
    if (typeof x !== 'string' || x.trim() === '') throw new Error(`${where}: "${k}" must be a non-empty string`);
    return x;
  };
  const id = text('id');
  const expect = text('expect');
  try {
    new RegExp(expect, 'm');
  } catch (err) {
    throw new Error(`${where}: "expect" is not a regular expression: ${(err as Error).message}`);
  }
  const wrongRaw = o['wrong'] ?? [];
  if (!Array.isArray(wrongRaw)) throw new Error(`${where}: "wrong" must be an array of {program, bug}`);
  const wrong = wrongRaw.map((w, j) => {
    const r = w as Record<string, unknown>;
    if (typeof r?.['program'] !== 'string' || typeof r['bug'] !== 'string') throw new Error(`${where}: wrong[${j}] needs "program" and "bug" strings`);
    return { program: r['program'], bug: r['bug'] };
  });
  const waitMs = o['waitMs'];
  if (waitMs !== undefined && (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > 60_000)) {
    throw new Error(`${where}: "waitMs" must be an integer from 0 to 60000`);
  }
  const annotated = o['annotated'];
  if (annotated !== undefined && typeof annotated !== 'string') throw new Error(`${where}: "annotated" must be a string`);
  return {
    id,
    prompt: text('prompt'),
    trigger: text('trigger'),
    expect,
    reference: text('reference'),
    wrong,
    ...(annotated !== undefined ? { annotated } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
    source: where,
  };
}

/** The fields the eval needs (what `eval.run` carries over the socket). */
export function evalCaseOf(c: EvalCase): EvalCase {
  return { id: c.id, prompt: c.prompt, trigger: c.trigger, expect: c.expect, reference: c.reference, ...(c.waitMs !== undefined ? { waitMs: c.waitMs } : {}) };
}
