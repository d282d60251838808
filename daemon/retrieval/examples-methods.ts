/**
 * The `examples.*` methods of the control socket, served from the example library. The store's
 * entries are the wire's entries (the compiler checks it here).
 *
 * Learned entries are their owner's (the person whose request they came from). A member sees the
 * dataset, promoted entries and their own learned entries; an admin sees all, with the owner. An
 * entry the caller may not see answers exactly like an unknown id (`not-found`), so ids and
 * request texts of other users cannot be probed. Promoting and demoting are admins' (checked by
 * daemon/policy/method-rights.ts before these run) and audited with the caller's identity;
 * removing is an admin's, or the owner's for their own learned entries.
 */
import { KgentError } from '../errors.js';
import { nearestProfile, PROFILES } from '../verifier/dialect/index.js';
import type { Rights } from '../policy/rights.js';
import {
  ExamplesDemote,
  ExamplesList,
  ExamplesPromote,
  ExamplesRemove,
  ExamplesSearch,
  ExamplesShow,
  type ExampleEntry,
  type ExampleSummary,
} from '../protocol/examples-api.js';
import type { ConnectionContext, MethodRegistry } from '../server/control-server.js';
import { peerLabel } from '../server/peer-identity.js';
import type { ExampleViewer, StoredExample } from './example-rows.js';
import { notFound } from './example-rows.js';
import type { ExampleStoreApi } from './example-store-client.js';
import type { ExampleLibrary } from './library.js';

const wire = (e: StoredExample): ExampleEntry => e;

/** The profile a user named (`0.23`, `0.23.2`): the nearest at or below it; a usage error when there is none. */
function dialectProfile(name: string): string {
  const c = nearestProfile(name);
  if (c.kind === 'unsupported' || c.kind === 'newer-than-known') {
    throw new KgentError('bad-request', `no bpftrace dialect "${name}": kgent models ${PROFILES.map((d) => d.version).join(', ')}`);
  }
  return c.dialect.version;
}

function summary(e: ExampleEntry): ExampleSummary {
  const { program: _p, annotated: _a, feedback: _f, ...rest } = e;
  return rest;
}

/**
 * What a member is shown of an entry: another user's promoted entry without its owner and
 * request id (the text was shared, not who asked it or the id of their request).
 */
function shownTo(e: StoredExample, viewer: ExampleViewer): ExampleEntry {
  if (viewer === 'all' || viewer === 'shared' || e.ownerUid === viewer.uid) return wire(e);
  const { ownerUid: _u, owner: _o, requestId: _r, ...rest } = wire(e);
  return rest;
}

/** Registers `examples.*`; without a library each method answers `unavailable` with why. */
export function registerExampleMethods(server: MethodRegistry, library: ExampleLibrary | undefined, rights: Rights, why = 'the example library failed to open'): void {
  // The table (and LanceDB) is opened by the first call, after the library's first sync.
  const need = async (): Promise<ExampleStoreApi> => {
    if (!library) throw new KgentError('unavailable', `${why}; see the kgentd log`);
    return library.store();
  };
  const viewerOf = (conn: ConnectionContext): ExampleViewer => (rights.isAdmin(conn.peer) ? 'all' : { uid: conn.peer.uid });
  server.register(ExamplesList, async (p, conn) => {
    const store = await need();
    const viewer = viewerOf(conn);
    const all = await store.list({ viewer });
    const count = (k: StoredExample['kind']): number => all.filter((e) => e.kind === k).length;
    const counts = { dataset: count('dataset'), learnedPositive: count('learned-positive'), learnedAvoid: count('learned-avoid') };
    const shown = p.learnedOnly ? all.filter((e) => e.kind !== 'dataset') : all;
    const host = library?.dialect;
    return { examples: shown.map((e) => summary(shownTo(e, viewer))), counts, vectors: store.hasVectors, profiles: PROFILES.map((d) => d.version), ...(host !== undefined ? { dialect: host } : {}) };
  });
  server.register(ExamplesSearch, async (p, conn) => {
    const viewer = viewerOf(conn);
    // As the prompts see it: only entries that fit the host's dialect, or the one asked for.
    const dialect = p.dialect !== undefined ? dialectProfile(p.dialect) : library?.dialect;
    const r = await (await need()).search(p.text, p.k ?? 5, { viewer, ...(dialect !== undefined ? { dialect } : {}) });
    return { mode: r.mode, hits: r.hits.map((h) => ({ ...shownTo(h, viewer), score: h.score })), ...(dialect !== undefined ? { dialect } : {}) };
  });
  server.register(ExamplesShow, async (p, conn) => {
    const viewer = viewerOf(conn);
    const e = await (await need()).get(p.id, viewer);
    if (!e) throw notFound(p.id);
    return { example: shownTo(e, viewer) };
  });
  server.register(ExamplesRemove, async (p, conn) => {
    const store = await need();
    const viewer = viewerOf(conn);
    const e = await store.get(p.id, viewer);
    if (!e) throw notFound(p.id);
    // The dataset is refused by the store for everyone; a promoted entry of another user needs an admin.
    if (e.kind !== 'dataset') rights.require(conn.peer, 'remove-example', e.ownerUid !== undefined ? { ownerUid: e.ownerUid } : {});
    const removed = await store.remove(p.id);
    rights.decision('example-remove', conn.peer, {}, `examples.remove ${p.id} (${e.kind}, owner ${e.owner ?? '?'}${e.ownerUid !== undefined ? ` uid ${e.ownerUid}` : ''})`);
    return { removed: shownTo(removed, viewer) };
  });
  server.register(ExamplesPromote, async (p, conn) => {
    // Also checked by method-rights before this runs; asked here too so no registry can skip it.
    rights.require(conn.peer, 'promote-example');
    const store = await need();
    const e = await store.promote(p.id, peerLabel(conn.peer));
    rights.decision('example-promote', conn.peer, {}, `examples.promote ${p.id} (owner ${e.owner ?? '?'}${e.ownerUid !== undefined ? ` uid ${e.ownerUid}` : ''}): now in every user's prompts`);
    return { example: wire(e) };
  });
  server.register(ExamplesDemote, async (p, conn) => {
    rights.require(conn.peer, 'promote-example');
    const store = await need();
    const e = await store.demote(p.id);
    rights.decision('example-demote', conn.peer, {}, `examples.demote ${p.id} (owner ${e.owner ?? '?'}${e.ownerUid !== undefined ? ` uid ${e.ownerUid}` : ''}): its owner's prompts only`);
    return { example: wire(e) };
  });
}
