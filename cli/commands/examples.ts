/**
 * kgentctl examples list [--learned] | search TEXT... [-k N] | show ID | remove ID  (all with --json)
 *
 * The few-shot example library of kgentd: the repository's dataset and what it learned from
 * finished requests. Argument parsing and rendering only. Error messages carry no
 * `kgentctl examples:` prefix; the caller adds it once.
 */
import {
  ExamplesList,
  ExamplesRemove,
  ExamplesSearch,
  ExamplesShow,
  type ExampleEntry,
  type ExamplesListResult,
  type ExamplesSearchResult,
  type MethodSpec,
} from '../../daemon/protocol/index.js';
import type { CallOptions } from '../client.js';
import { parseCommandArgs } from '../args.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { printJson, table, type CliIO } from '../io.js';

/** What the command needs of a connection to kgentd (a KgentClient, or a test's stand-in). */
export interface ExamplesClient {
  call<P, R>(spec: MethodSpec<P, R>, params: P, opts?: CallOptions): Promise<R>;
  close?(): void;
}

export const EXAMPLES_HELP = `kgentctl examples — the example library the synthesis prompt draws on

Usage:
  kgentctl examples list [--learned] [--json]     dataset examples and learned entries
  kgentctl examples search TEXT... [-k N] [--json] the examples a request would be given (top N, default 5)
  kgentctl examples show ID [--json]              one entry: prompt, program, annotated program, feedback
  kgentctl examples remove ID [--json]            forget a learned entry (dataset entries come back with the dataset)

IDs: AREA/SLUG (dataset), learned/REQUEST (a verified program), avoid/REQUEST (a failure and its feedback).
`;

const KIND_LABEL: Record<ExampleEntry['kind'], string> = { dataset: 'dataset', 'learned-positive': 'learned', 'learned-avoid': 'avoid' };

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

export function renderList(r: ExamplesListResult, learnedOnly: boolean): string {
  const head = `${r.counts.dataset} dataset examples, ${r.counts.learnedPositive} learned, ${r.counts.learnedAvoid} avoid notes; search: ${r.vectors ? 'full-text + vectors (hybrid)' : 'full-text'}\n`;
  if (!r.examples.length) return `${head}${learnedOnly ? 'nothing learned yet\n' : 'no examples\n'}`;
  const rows: string[][] = [['ID', 'KIND', 'PROMPT']];
  for (const e of r.examples) rows.push([e.id, KIND_LABEL[e.kind], clip(e.prompt, 80)]);
  return `${head}${table(rows)}\n`;
}

export function renderSearch(r: ExamplesSearchResult): string {
  if (!r.hits.length) return 'no matching examples\n';
  const rows: string[][] = [['SCORE', 'ID', 'KIND', 'PROMPT']];
  for (const h of r.hits) rows.push([h.score.toFixed(h.score < 1 ? 4 : 2), h.id, KIND_LABEL[h.kind], clip(h.prompt, 70)]);
  return `${table(rows)}\n(${r.mode} search; kgentctl examples show ID prints one)\n`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export function renderShow(e: ExampleEntry): string {
  const rows: string[][] = [
    ['id', e.id],
    ['kind', e.kind === 'dataset' ? 'dataset example' : e.kind === 'learned-positive' ? 'learned: verified program' : 'learned: avoid (the request failed)'],
    ['prompt', e.prompt],
  ];
  if (e.tags.length) rows.push(['tags', e.tags.join(', ')]);
  if (e.hooks.length) rows.push(['hooks', e.hooks.join(', ')]);
  if (e.requestId) rows.push(['request', `${e.requestId} (kgentctl show ${e.requestId})`]);
  if (e.verdict) rows.push(['verdict', e.verdict]);
  if (e.learnedAt) rows.push(['learned at', e.learnedAt]);
  const out = [table(rows)];
  if (e.program.trim()) out.push(`${e.kind === 'learned-avoid' ? 'last candidate' : 'program'}:\n${indent(e.program)}`);
  if (e.annotated?.trim()) out.push(`annotated:\n${indent(e.annotated)}`);
  if (e.feedback?.length) out.push(`feedback:\n${e.feedback.map((f, i) => indent(`${i + 1}. ${f}`)).join('\n')}`);
  return `${out.join('\n\n')}\n`;
}

/**
 * The full ID for what the user typed: an ID with its area (`network/tcp-retransmits`) as is; a
 * bare slug (`tcp-retransmits`, or `R12` for a learned entry) when exactly one entry ends with it.
 */
export async function resolveId(client: ExamplesClient, typed: string): Promise<string> {
  if (typed.includes('/')) return typed;
  const slug = /^R\d+$/i.test(typed) ? typed.slice(1) : typed;
  const { examples } = await client.call(ExamplesList, {});
  const matches = examples.filter((e) => e.id.slice(e.id.indexOf('/') + 1) === slug);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length > 1) throw new CliError(ExitCode.Usage, `"${typed}" names ${matches.length} entries: ${matches.map((e) => e.id).join(', ')}; give one of them`);
  throw new CliError(ExitCode.NotFound, `no example "${typed}" (kgentctl examples list shows the IDs: AREA/SLUG, learned/N, avoid/N)`);
}

/** Runs `kgentctl examples ...`; returns the exit status. Connects only once the arguments are valid. */
export async function examplesCommand(argv: readonly string[], io: CliIO, connect: () => Promise<ExamplesClient>): Promise<number> {
  const parsed = parseCommandArgs([...argv], {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    learned: { type: 'boolean', default: false },
    k: { type: 'string', short: 'k' },
  } as const, 'examples');

  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help || !sub) {
    (values.help ? io.stdout : io.stderr).write(EXAMPLES_HELP);
    return values.help ? ExitCode.Ok : ExitCode.Usage;
  }
  const json = values.json;
  const oneId = (): string => {
    if (rest.length !== 1) throw new CliError(ExitCode.Usage, `${sub}: give exactly one ID (kgentctl examples list shows them)`);
    return rest[0]!;
  };
  let client: ExamplesClient | undefined;
  const open = async (): Promise<ExamplesClient> => (client ??= await connect());
  try {
    switch (sub) {
      case 'list': {
        const r = await (await open()).call(ExamplesList, values.learned ? { learnedOnly: true } : {});
        if (json) printJson(io, r);
        else io.stdout.write(renderList(r, values.learned));
        return ExitCode.Ok;
      }
      case 'search': {
        const text = rest.join(' ').trim();
        if (!text) throw new CliError(ExitCode.Usage, 'search: missing TEXT');
        const k = values.k === undefined ? 5 : Number(values.k);
        if (!Number.isSafeInteger(k) || k < 1 || k > 50) throw new CliError(ExitCode.Usage, `search: -k wants 1..50, got "${values.k}"`);
        const r = await (await open()).call(ExamplesSearch, { text, k });
        if (json) printJson(io, r);
        else io.stdout.write(renderSearch(r));
        return r.hits.length ? ExitCode.Ok : ExitCode.NotFound;
      }
      case 'show': {
        const typed = oneId();
        const id = await resolveId(await open(), typed);
        const r = await (await open()).call(ExamplesShow, { id });
        if (json) printJson(io, r);
        else io.stdout.write(renderShow(r.example));
        return ExitCode.Ok;
      }
      case 'remove': {
        const typed = oneId();
        const id = await resolveId(await open(), typed);
        const r = await (await open()).call(ExamplesRemove, { id });
        if (json) printJson(io, r);
        else io.stdout.write(`removed ${r.removed.id} (${KIND_LABEL[r.removed.kind]}: ${clip(r.removed.prompt, 70)})\n`);
        return ExitCode.Ok;
      }
      default:
        throw new CliError(ExitCode.Usage, `unknown subcommand "${sub}" (list, search, show, remove)`);
    }
  } finally {
    client?.close?.();
  }
}
