/**
 * An ExampleStore over a real LanceDB directory in a temp dir, for the retrieval tests: `open()`
 * opens (or reopens) the store there; every opened store is closed and the directory removed when
 * the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { ExampleStore, type EmbedFn } from '../../daemon/retrieval/example-store.js';

export interface TempExampleStore {
  readonly dir: string;
  readonly open: (o?: { embed?: EmbedFn; embedModel?: string }) => Promise<ExampleStore>;
}

export async function withExampleStore(t: Test, prefix = 'kgent-examples-'): Promise<TempExampleStore> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const opened: ExampleStore[] = [];
  t.teardown(() => {
    for (const s of opened) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    open: async (o = {}) => {
      const s = await ExampleStore.open({ stateDir: dir, ...o });
      opened.push(s);
      return s;
    },
  };
}
