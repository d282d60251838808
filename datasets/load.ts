/**
 * kgent's own prompt -> bpftrace examples (EBPFNLDATASET, DESIGN.md section 6): one plain program
 * per `datasets/examples/<area>/<slug>.bt`, the prompt and its metadata in a header comment, and
 * beside it `<slug>.annotated.bt`, the same program with the `assume`/`assert`/`cover` annotations
 * our verifier proves. The format is described in datasets/README.md.
 *
 * Pure reading and validation: parsing the programs and verifying them is the CI test's job
 * (test/datasets/examples.test.ts), so loading stays cheap for retrieval.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readVersionsFile, versionsFileFor, versionsOf, type NotFit, type VersionsFile } from './versions.js';

/** The areas (folders) of the dataset. */
export const AREAS = ['process', 'file', 'network', 'block', 'sched', 'memory', 'syscall', 'signal', 'lock', 'timer', 'misc'] as const;
export type Area = (typeof AREAS)[number];

/** One example: a prompt, its plain program and the annotated version that proves. */
export interface Example {
  /** `area/slug`, unique across the dataset. */
  readonly id: string;
  readonly area: Area;
  readonly slug: string;
  /** The English request, one line. */
  readonly prompt: string;
  readonly tags: readonly string[];
  /** The probes the program attaches to, as written in the header (`tracepoint:sched:sched_switch`). */
  readonly hooks: readonly string[];
  /** Slug of the twin example (same request through another probe type, e.g. kprobe vs tracepoint). */
  readonly variantOf?: string;
  /** The plain program, header comment removed. */
  readonly program: string;
  /** The annotated program, header comment removed. */
  readonly annotated: string;
  /** Absolute path of the plain `.bt` file. */
  readonly file: string;
  /** Absolute path of the `.annotated.bt` file. */
  readonly annotatedFile: string;
  /**
   * The bpftrace dialect profiles it fits (`0.17`, ... ), from datasets/example-versions.json
   * (datasets/versions.ts); `0.17` alone when the file has no record of it.
   */
  readonly versions: readonly string[];
  /** The profiles it does not fit, with why. */
  readonly notFit?: readonly NotFit[];
}

/** A malformed example; the message names the file. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DatasetError';
  }
}

/** Where the examples are in this repository (works from the sources and from dist/). */
export function defaultExamplesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'examples'), path.join(here, '..', '..', 'datasets', 'examples')];
  return candidates.find((c) => existsSync(c)) ?? (candidates[0] as string);
}

const HEADER_KEYS = ['prompt', 'tags', 'hooks', 'variant-of'] as const;
type HeaderKey = (typeof HEADER_KEYS)[number];
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const ANNOTATED_SUFFIX = '.annotated.bt';

interface Parsed {
  readonly header: Partial<Record<HeaderKey, string>>;
  readonly headerText: string;
  readonly body: string;
}

/**
 * Splits a file into its header (the leading `// key: value` lines) and the program after it.
 * Every leading `//` line must be a known key; each key at most once.
 */
export function parseHeader(text: string, file: string): Parsed {
  const lines = text.split('\n');
  const header: Partial<Record<HeaderKey, string>> = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const line = (lines[i] as string).trimEnd();
    if (!line.startsWith('//')) break;
    const m = /^\/\/\s*([a-z-]+):\s*(.*)$/.exec(line);
    if (!m) throw new DatasetError(file, `line ${i + 1}: header lines are "// key: value" (keys: ${HEADER_KEYS.join(', ')})`);
    const key = m[1] as string;
    if (!(HEADER_KEYS as readonly string[]).includes(key)) {
      throw new DatasetError(file, `line ${i + 1}: unknown header key "${key}" (keys: ${HEADER_KEYS.join(', ')})`);
    }
    if (header[key as HeaderKey] !== undefined) throw new DatasetError(file, `line ${i + 1}: header key "${key}" given twice`);
    const value = (m[2] as string).trim();
    if (value === '') throw new DatasetError(file, `line ${i + 1}: header key "${key}" is empty`);
    header[key as HeaderKey] = value;
  }
  const headerText = lines.slice(0, i).join('\n');
  const body = lines.slice(i).join('\n').replace(/^\s*\n/, '');
  return { header, headerText, body };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function readExample(dir: string, area: Area, slug: string, recorded: VersionsFile | undefined): Example {
  const file = path.join(dir, area, `${slug}.bt`);
  const annotatedFile = path.join(dir, area, `${slug}${ANNOTATED_SUFFIX}`);
  if (!SLUG.test(slug)) throw new DatasetError(file, `slug "${slug}" must be lower-case words joined by "-"`);
  if (!existsSync(annotatedFile)) throw new DatasetError(file, `has no annotated version ${path.basename(annotatedFile)}`);
  const plain = parseHeader(readFileSync(file, 'utf8'), file);
  const annotated = parseHeader(readFileSync(annotatedFile, 'utf8'), annotatedFile);
  const { prompt, tags, hooks } = plain.header;
  if (prompt === undefined) throw new DatasetError(file, 'header has no "// prompt:" line');
  if (tags === undefined) throw new DatasetError(file, 'header has no "// tags:" line');
  if (hooks === undefined) throw new DatasetError(file, 'header has no "// hooks:" line');
  if (plain.body.trim() === '') throw new DatasetError(file, 'has no program after its header');
  if (annotated.headerText !== plain.headerText) {
    throw new DatasetError(annotatedFile, `header differs from ${path.basename(file)}'s (copy it exactly)`);
  }
  const variantOf = plain.header['variant-of'];
  if (variantOf !== undefined && !SLUG.test(variantOf)) throw new DatasetError(file, `variant-of "${variantOf}" is not a slug`);
  const fit = versionsOf(recorded, `${area}/${slug}`);
  return {
    id: `${area}/${slug}`,
    area,
    slug,
    prompt,
    tags: list(tags),
    hooks: list(hooks),
    ...(variantOf !== undefined ? { variantOf } : {}),
    program: plain.body,
    annotated: annotated.body,
    file,
    annotatedFile,
    versions: fit.versions,
    ...(fit.notFit ? { notFit: fit.notFit } : {}),
  };
}

/**
 * Reads every example under `dir` (default: this repository's `datasets/examples`), sorted by id.
 * Throws a {@link DatasetError} naming the file for a malformed example: missing or unknown header
 * keys, a folder that is not an area, a plain file without its annotated twin (or the reverse),
 * a `variant-of` naming no example of the dataset. Each example carries the versions recorded for
 * it in `opts.versionsFile` (default: datasets/example-versions.json for this repository's
 * examples, none for another directory).
 */
export function loadExamples(dir: string = defaultExamplesDir(), opts: { versionsFile?: string } = {}): Example[] {
  if (!existsSync(dir)) throw new DatasetError(dir, 'examples directory does not exist');
  // The repository's record sits beside its examples; another directory has none unless named.
  const versionsFile = opts.versionsFile ?? (path.resolve(dir) === path.resolve(defaultExamplesDir()) ? versionsFileFor(dir) : undefined);
  let recorded: VersionsFile | undefined;
  try {
    recorded = versionsFile ? readVersionsFile(versionsFile) : undefined;
  } catch (err) {
    throw new DatasetError(versionsFile as string, (err as Error).message);
  }
  const examples: Example[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const areaDir = path.join(dir, entry);
    if (!statSync(areaDir).isDirectory()) throw new DatasetError(areaDir, 'only area folders belong in the examples directory');
    if (!(AREAS as readonly string[]).includes(entry)) throw new DatasetError(areaDir, `"${entry}" is not an area (${AREAS.join(', ')})`);
    const names = readdirSync(areaDir).sort();
    for (const name of names) {
      const full = path.join(areaDir, name);
      if (name.endsWith(ANNOTATED_SUFFIX)) {
        const plain = name.slice(0, -ANNOTATED_SUFFIX.length) + '.bt';
        if (!names.includes(plain)) throw new DatasetError(full, `has no plain version ${plain}`);
        continue;
      }
      if (!name.endsWith('.bt')) throw new DatasetError(full, 'only .bt files belong in an area folder');
      examples.push(readExample(dir, entry as Area, name.slice(0, -'.bt'.length), recorded));
    }
  }
  const slugs = new Map<string, Example>();
  for (const e of examples) {
    const other = slugs.get(e.slug);
    if (other) throw new DatasetError(e.file, `slug "${e.slug}" is also used by ${other.id} (slugs are unique across areas)`);
    slugs.set(e.slug, e);
  }
  for (const e of examples) {
    if (e.variantOf !== undefined && !slugs.has(e.variantOf)) throw new DatasetError(e.file, `variant-of "${e.variantOf}" names no example`);
  }
  return examples;
}
