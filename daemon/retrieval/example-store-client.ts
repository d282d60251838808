/**
 * The example store as kgentd uses it: {@link ExampleStoreApi} over a child process
 * (example-store-main.ts) started by the first use and let go after `idleMs` without one, so
 * LanceDB's native library, its caches and the table's memory leave kgentd with the child (LanceDB
 * keeps them resident for the life of a process that loaded it). The next use starts a fresh one.
 *
 * Vectors: the child asks, this side answers with `embed` (the daemon's one LLM door). Errors keep
 * their code across the boundary (a missing example is `not-found` here as in the store).
 */
import { ChildHome, ChildLostError } from '../../kernel-contracts/util/child-home.js';
import { WireCallError } from '../../kernel-contracts/util/json-lines-child.js';
import type { ErrorCode } from '../protocol/errors.js';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EmbedFn, ExampleStore } from './example-store.js';

/** What kgentd uses of the example store (the store itself in one process, this client otherwise). */
export type ExampleStoreApi = Pick<ExampleStore, 'hasVectors' | 'search' | 'learn' | 'forgetAvoid' | 'list' | 'get' | 'remove' | 'promote' | 'demote'>;

export interface ExampleStoreClientOptions {
  readonly stateDir: string;
  /** The compiled `example-store-main.js`. */
  readonly script: string;
  readonly idleMs: number;
  /** The embedding model and the parent's way to it; absent: full text only. */
  readonly embedding?: { readonly model: string; readonly embed: EmbedFn };
  readonly logger: Logger;
}

/** The codes a KgentError of the child may carry (an Error's system code, ENOENT, is not one). */
const CODES: ReadonlySet<string> = new Set<ErrorCode>(['bad-request', 'not-found', 'conflict', 'refused', 'unavailable', 'kernel-unsupported', 'io', 'internal', 'timeout', 'config']);

type Method = 'search' | 'learn' | 'forgetAvoid' | 'list' | 'get' | 'remove' | 'promote' | 'demote';

export class ExampleStoreClient implements ExampleStoreApi {
  private readonly home: ChildHome;
  private vectors = false;

  constructor(o: ExampleStoreClientOptions) {
    this.home = new ChildHome({
      args: [o.script, '--state-dir', o.stateDir, ...(o.embedding ? ['--embed-model', o.embedding.model] : []), '--log-level', o.logger.level],
      what: 'examples: store',
      log: o.logger,
      tag: { store: 'child' },
      idleMs: o.idleMs,
      answer: async (question, args) => {
        if (question !== 'embed' || !o.embedding) throw new Error(`the example store asked "${question}", which is not answered`);
        return o.embedding.embed(args[0] as string[]);
      },
    });
  }

  /** As of the last answer of the child (false before the first). */
  get hasVectors(): boolean {
    return this.vectors;
  }

  /** The child's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.home.pid;
  }

  /** Children started so far (tests). */
  get started(): number {
    return this.home.started;
  }

  /** Asks the child for its state (starting it): `hasVectors` is then current. */
  async refresh(): Promise<void> {
    await this.call('state' as Method);
  }

  search: ExampleStore['search'] = (...a) => this.call('search', ...a);
  learn: ExampleStore['learn'] = (...a) => this.call('learn', ...a);
  forgetAvoid: ExampleStore['forgetAvoid'] = (...a) => this.call('forgetAvoid', ...a);
  list: ExampleStore['list'] = (...a) => this.call('list', ...a);
  get: ExampleStore['get'] = async (...a) => (await this.call<Awaited<ReturnType<ExampleStore['get']>> | null>('get', ...a)) ?? undefined;
  remove: ExampleStore['remove'] = (...a) => this.call('remove', ...a);
  promote: ExampleStore['promote'] = (...a) => this.call('promote', ...a);
  demote: ExampleStore['demote'] = (...a) => this.call('demote', ...a);

  /** Lets the child go; later calls are refused. */
  close(): Promise<void> {
    return this.home.close();
  }

  private async call<T>(method: Method, ...args: unknown[]): Promise<T> {
    try {
      const r = await this.home.call<{ value: T; hasVectors: boolean }>(method, ...args);
      this.vectors = r.hasVectors;
      return r.value;
    } catch (err) {
      if (err instanceof WireCallError) {
        const code = err.wire.code && CODES.has(err.wire.code) ? (err.wire.code as ErrorCode) : 'internal';
        throw new KgentError(code, err.message, err.wire.data as Record<string, unknown> | undefined);
      }
      if (err instanceof ChildLostError) throw new KgentError('unavailable', `the example library is unavailable: ${err.message}`);
      throw err;
    }
  }
}
