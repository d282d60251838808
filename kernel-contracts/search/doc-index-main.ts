/**
 * The search index's process (see doc-index.ts): LanceDB's doc index of `--state-dir` (the
 * `contracts.lance` directory), serving the parent's calls on stdin (json-lines-child.ts). It asks
 * the parent for the vectors of a build; it exits when its stdin closes (the parent let it go).
 */
import { runChildScript } from '../util/json-lines-child.js';
import type { DocIndexState, DocRow, DocSearchOptions } from './doc-index.js';
import { LanceDocIndex } from './lance-doc-index.js';

runChildScript('contracts-search-index', {}, async ({ stateDir, ask, serve }) => {
  let docs: LanceDocIndex | undefined;
  const open = async (): Promise<LanceDocIndex> => (docs ??= await LanceDocIndex.open(stateDir));
  const state = (d: LanceDocIndex): DocIndexState => ({ ready: d.ready, hasVectors: d.hasVectors });
  serve(async (method, args) => {
    switch (method) {
      case 'open': {
        const d = await open();
        if (typeof args[0] === 'number') await d.activate(args[0], false);
        return state(d);
      }
      case 'state':
        return state(await open());
      case 'build': {
        const [gen, rows, o] = args as [number, DocRow[], { embed: boolean; batch?: number }];
        await (await open()).build(gen, rows, {
          ...(o.batch ? { batch: o.batch } : {}),
          ...(o.embed ? { embed: async (texts) => (await ask('embed', texts)) as number[][] } : {}),
          onProgress: (done, total) => void process.stdout.write(`${JSON.stringify({ progress: { done, total } })}\n`),
        });
        return null;
      }
      case 'activate': {
        const d = await open();
        await d.activate(args[0] as number, args[1] as boolean);
        return state(d);
      }
      case 'addRows':
        return (await open()).addRows(args[0] as DocRow[]);
      case 'drop':
        return (await open()).drop(args[0] as number);
      case 'search':
        return (await open()).search(args[0] as string, args[1] as number, args[2] as DocSearchOptions);
      default:
        throw new Error(`the search index has no method "${method}"`);
    }
  });
  // Serves until the parent closes stdin (runChildScript exits then).
  return new Promise<number>(() => undefined);
});
