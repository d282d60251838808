/**
 * kgentctl examples list [--learned] | search TEXT... [-k N] | show ID | remove ID | promote ID | demote ID  (all with --json)
 *
 * The few-shot example library of kgentd: the repository's dataset and what it learned from
 * requests, each learned entry its submitter's (kgentd shows a member theirs and promoted ones). Argument parsing and rendering only. Error messages carry no
 * `kgentctl examples:` prefix; the caller adds it once.
 */
import {
  ExamplesDemote,
  ExamplesList,
  ExamplesPromote,
  ExamplesRemove,
  ExamplesSearch,
  ExamplesShow,
  versionRanges,
  type ExampleEntry,
  type ExamplesListResult,
  type ExamplesSearchResult,
  type MethodSpec,
} from '../../daemon/protocol/index.js';
import type { CallOptions } from '../client.js';
import { parseCommandArgs } from '../args.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { clip, printJson, table, type CliIO } from '../io.js';

/** What the command needs of a connection to kgentd (a KgentClient, or a test's stand-in). */
export interface ExamplesClient {
  call<P, R>(spec: MethodSpec<P, R>, params: P, opts?: CallOptions): Promise<R>;
  close?(): void;
}

export const EXAMPLES_HELP = `kgentctl examples — the example library the synthesis prompt draws on

Usage:
  kgentctl examples list [--learned] [--json]     dataset examples and learned entries, with the bpftrace versions each fits
  kgentctl examples search TEXT... [-k N] [--dialect V] [--json]
                                                  the examples a request of yours would be given (top N, default 5);
                                                  only those that fit this host's bpftrace, or version V (e.g. 0.23)
  kgentctl examples show ID [--json]              one entry: prompt, program, annotated program, feedback
  kgentctl examples remove ID [--json]            forget a learned entry of yours (admins: any; dataset entries come back with the dataset)
  kgentctl examples promote ID [--json]           admins: put a learned verified program into every user's prompts
  kgentctl examples demote ID [--json]            admins: take it back out (its owner's prompts only)

VERSIONS: the bpftrace dialects kgent verifies under (0.17 ... 0.27) where the example's program is accepted
and its annotated version proved; a request's prompt gets only examples that fit the host's (marked *).
IDs: AREA/SLUG (dataset), learned/HASH (an approved verified program), avoid/HASH (a failed request and its feedback).
Learned entries are the submitter's: they serve that user's requests only until an admin promotes one.
A member sees the dataset, promoted entries and their own; admins see all, with the owner.
`;

const KIND_LABEL: Record<ExampleEntry['kind'], string> = { dataset: 'dataset', 'learned-positive': 'learned', 'learned-avoid': 'avoid' };

/** `learned*` for a learned entry promoted into the shared library. */
function kindLabel(e: Pick<ExampleEntry, 'kind' | 'promotedBy'>): string {
  return e.promotedBy ? `${KIND_LABEL[e.kind]}*` : KIND_LABEL[e.kind];
}

export function renderList(r: ExamplesListResult, learnedOnly: boolean): string {
  const head = `${r.counts.dataset} dataset examples, ${r.counts.learnedPositive} learned, ${r.counts.learnedAvoid} avoid notes (that you may see; * promoted); search: ${r.vectors ? 'full-text + vectors (hybrid)' : 'full-text'}\n`;
  if (!r.examples.length) return `${head}${learnedOnly ? 'nothing learned yet\n' : 'no examples\n'}`;
  const owners = r.examples.some((e) => e.owner !== undefined);
  const order = r.profiles ?? [];
  const fits = (e: ExamplesListResult['examples'][number]): string => (r.dialect !== undefined && (e.versions ?? []).includes(r.dialect) ? '*' : '');
  const rows: string[][] = [['ID', 'KIND', ...(owners ? ['OWNER'] : []), 'VERSIONS', 'PROMPT']];
  for (const e of r.examples) rows.push([e.id, kindLabel(e), ...(owners ? [e.owner ?? ''] : []), `${versionRanges(e.versions ?? [], order)}${fits(e)}`, clip(e.prompt, 70)]);
  const dialect = r.dialect !== undefined ? `this host's bpftrace dialect: ${r.dialect}; * marks the ${r.examples.filter((e) => fits(e)).length} entries its prompts may get\n` : '';
  return `${head}${dialect}${table(rows)}\n`;
}

export function renderSearch(r: ExamplesSearchResult): string {
  const of = r.dialect !== undefined ? ` that fit bpftrace ${r.dialect}` : '';
  if (!r.hits.length) return `no matching examples${of}\n`;
  const rows: string[][] = [['SCORE', 'ID', 'KIND', 'PROMPT']];
  for (const h of r.hits) rows.push([h.score.toFixed(h.score < 1 ? 4 : 2), h.id, kindLabel(h), clip(h.prompt, 70)]);
  return `${table(rows)}\n(${r.mode} search of the examples${of}; kgentctl examples show ID prints one)\n`;
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
  if (e.versions) rows.push(['versions', `bpftrace ${e.versions.length ? e.versions.join(', ') : 'none'}${e.kind === 'dataset' ? '' : ' (the dialect its request was verified under)'}`]);
  for (const n of e.notFit ?? []) rows.push([`not ${n.versions.join(', ')}`, n.why]);
  if (e.owner !== undefined || e.ownerUid !== undefined) rows.push(['owner', `${e.owner ?? '?'}${e.ownerUid !== undefined ? ` (uid ${e.ownerUid})` : ''}`]);
  if (e.kind !== 'dataset') rows.push(['shared', e.promotedBy ? `yes: promoted by ${e.promotedBy}${e.promotedAt ? ` at ${e.promotedAt}` : ''}` : "no: its owner's requests only"]);
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
    dialect: { type: 'string' },
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
        const dialect = values.dialect;
        if (dialect !== undefined && !/^v?\d+\.\d+(\.\d+)?$/.test(dialect)) throw new CliError(ExitCode.Usage, `search: --dialect needs a bpftrace version such as 0.23, got "${dialect}"`);
        const r = await (await open()).call(ExamplesSearch, { text, k, ...(dialect !== undefined ? { dialect } : {}) });
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
      case 'promote':
      case 'demote': {
        const id = oneId();
        const r = await (await open()).call(sub === 'promote' ? ExamplesPromote : ExamplesDemote, { id });
        if (json) printJson(io, r);
        else io.stdout.write(`${sub === 'promote' ? 'promoted' : 'demoted'} ${r.example.id} (${clip(r.example.prompt, 70)}): ${sub === 'promote' ? "now in every user's prompts" : `${r.example.owner ?? 'its owner'}'s prompts only`}\n`);
        return ExitCode.Ok;
      }
      default:
        throw new CliError(ExitCode.Usage, `unknown subcommand "${sub}" (list, search, show, remove, promote, demote)`);
    }
  } finally {
    client?.close?.();
  }
}
