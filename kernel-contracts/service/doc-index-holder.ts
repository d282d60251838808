/**
 * The doc index over `contracts.lance`, opened by its first use (a search or a rebuild: LanceDB
 * costs an idle kgentd tens of MB, so it is not loaded at start) and closed once nothing has used
 * it for an idle time, except while a rebuild runs (the rebuild switches it to its generation).
 */
import path from 'node:path';
import { ContractsError } from '../errors.js';
import type { DocIndex } from '../search/doc-index.js';
import type { ContractLogger } from './options.js';

export interface DocIndexHolderOptions {
  readonly stateDir: string;
  /** The generation the index opens at (the current one). */
  readonly generation: () => number | undefined;
  readonly idleMs: number;
  readonly log: ContractLogger;
  /** True while the index must stay open although idle (a rebuild runs). */
  readonly keepOpen: () => boolean;
  /** True once the service is stopping: no idle timer is armed any more. */
  readonly stopped: () => boolean;
}

export class DocIndexHolder {
  private opening: Promise<DocIndex> | undefined;
  private docs: DocIndex | undefined;
  /** Searches using the index now: it is not closed under them. */
  private inUse = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DocIndexHolderOptions) {}

  /** The index, opened now when it is not (the caller does not hold it against the idle close). */
  open(): Promise<DocIndex> {
    this.opening ??= (async () => {
      const { DocIndex } = await import('../search/doc-index.js');
      const docs = await DocIndex.open(path.join(this.o.stateDir, 'contracts.lance'), this.o.generation(), { log: this.o.log });
      this.docs = docs;
      return docs;
    })().catch((err: unknown) => {
      this.opening = undefined;
      throw new ContractsError('unavailable', `the kernel-contracts search index could not be opened: ${(err as Error).message}`, undefined, { cause: err });
    });
    return this.opening;
  }

  /** Runs `fn` with the index open; the index is closed once nothing has used it for the idle time. */
  async use<T>(fn: (docs: DocIndex) => Promise<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    this.inUse++;
    try {
      return await fn(await this.open());
    } finally {
      this.inUse--;
      this.armIdle();
    }
  }

  /** True when the index is open or opening. */
  get isOpen(): boolean {
    return this.opening !== undefined;
  }

  /** The open index, undefined while it is not open (yet). */
  get opened(): DocIndex | undefined {
    return this.docs;
  }

  /** The index being opened or open; undefined when it is not, or its opening failed. */
  async whenOpened(): Promise<DocIndex | undefined> {
    return this.opening?.catch(() => undefined);
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const docs = await this.whenOpened();
    docs?.close();
    this.docs = undefined;
    this.opening = undefined;
  }

  private armIdle(): void {
    if (this.inUse > 0 || this.o.stopped()) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      // A rebuild switches the open index to its generation at the end: keep it open until then.
      if (this.o.keepOpen()) return this.armIdle();
      if (this.inUse > 0 || !this.opening) return;
      const opening = this.opening;
      this.opening = undefined;
      this.docs = undefined;
      void opening.then(
        (docs) => {
          docs.close();
          this.o.log.info({ idleMs: this.o.idleMs }, 'kernel contracts: search index closed (idle)');
        },
        () => undefined,
      );
    }, this.o.idleMs);
    this.idleTimer.unref();
  }
}
