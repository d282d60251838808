/**
 * The kernel source tree with its index of definitions (`source-index.json` in the state
 * directory): loaded at start when saved, built (once at a time) by a rebuild or an enrichment.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { SourceReader, type SourceIndexData } from '../source-reader/index.js';
import type { ContractLogger } from './options.js';

export class SourceIndex {
  readonly reader: SourceReader;
  private indexing: Promise<void> | undefined;

  constructor(
    root: string,
    private readonly stateDir: string,
    private readonly log: ContractLogger,
  ) {
    this.reader = new SourceReader(root);
  }

  get root(): string {
    return this.reader.root;
  }

  get indexed(): boolean {
    return this.reader.indexed;
  }

  /** Loads the saved index, when there is one. */
  load(): void {
    try {
      const data = JSON.parse(readFileSync(this.file(), 'utf8')) as SourceIndexData;
      if (this.reader.loadIndexData(data)) this.log.info({ root: this.reader.root }, 'kernel contracts: source index loaded');
    } catch {
      // no saved index: built with the next rebuild
    }
  }

  /** Builds and saves the index unless it is there; joins a build under way. */
  async ensure(onProgress?: (done: number) => void): Promise<void> {
    const src = this.reader;
    if (src.indexed) return;
    this.indexing ??= (async () => {
      const stats = await src.buildIndex(onProgress ? { onProgress } : {});
      const file = this.file();
      writeFileSync(`${file}.tmp`, JSON.stringify(src.toIndexData()));
      renameSync(`${file}.tmp`, file);
      this.log.info({ ...stats }, 'kernel contracts: source tree indexed');
    })().finally(() => {
      this.indexing = undefined;
    });
    await this.indexing;
  }

  private file(): string {
    return path.join(this.stateDir, 'source-index.json');
  }
}
