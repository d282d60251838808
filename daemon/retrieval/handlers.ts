/**
 * The `examples.*` methods of the control socket, served from the example library. The store's
 * entries are the wire's entries (the compiler checks it here).
 */
import { KgentError } from '../errors.js';
import {
  ExamplesList,
  ExamplesRemove,
  ExamplesSearch,
  ExamplesShow,
  type ExampleEntry,
  type ExampleSummary,
} from '../protocol/examples.js';
import type { MethodRegistry } from '../server/control-server.js';
import type { StoredExample } from './example-rows.js';
import type { ExampleStore } from './example-store.js';
import type { ExampleLibrary } from './library.js';

const wire = (e: StoredExample): ExampleEntry => e;

function summary(e: StoredExample): ExampleSummary {
  const { program: _p, annotated: _a, feedback: _f, ...rest } = wire(e);
  return rest;
}

/** Registers `examples.*`; without a library each method answers `unavailable` with why. */
export function registerExampleMethods(server: MethodRegistry, library: ExampleLibrary | undefined, why = 'the example library failed to open'): void {
  // The table (and LanceDB) is opened by the first call, after the library's first sync.
  const need = async (): Promise<ExampleStore> => {
    if (!library) throw new KgentError('unavailable', `${why}; see the kgentd log`);
    return library.store();
  };
  server.register(ExamplesList, async (p) => {
    const store = await need();
    const all = await store.list();
    const count = (k: StoredExample['kind']): number => all.filter((e) => e.kind === k).length;
    const counts = { dataset: count('dataset'), learnedPositive: count('learned-positive'), learnedAvoid: count('learned-avoid') };
    const shown = p.learnedOnly ? all.filter((e) => e.kind !== 'dataset') : all;
    return { examples: shown.map(summary), counts, vectors: store.hasVectors };
  });
  server.register(ExamplesSearch, async (p) => {
    const r = await (await need()).search(p.text, p.k ?? 5);
    return { mode: r.mode, hits: r.hits.map((h) => ({ ...wire(h), score: h.score })) };
  });
  server.register(ExamplesShow, async (p) => {
    const e = await (await need()).get(p.id);
    if (!e) throw new KgentError('not-found', `no example "${p.id}" (kgentctl examples list shows them)`, { id: p.id });
    return { example: wire(e) };
  });
  // Removing is an admin action (root or kgent-admin): kgentd registers these methods through
  // daemon/policy/method-rights.ts, which refuses (and audits) anyone else before this runs.
  // Dataset entries are refused by the store either way.
  server.register(ExamplesRemove, async (p) => ({ removed: wire(await (await need()).remove(p.id)) }));
}
