/**
 * The example library's process (see example-store-client.ts): the {@link ExampleStore} over
 * `<state-dir>/examples.lance`, with LanceDB loaded here and never in kgentd. It serves the
 * parent's calls on stdin (json-lines-child.ts), asks the parent for vectors (`--embed-model`
 * names the model; the daemon asks it through its one LLM door), and exits when its stdin
 * closes: kgentd lets it go after an idle time.
 *
 * Each reply is `{ value, hasVectors }`, so the parent answers `hasVectors` without asking.
 */
import { runChildScript } from '../../kernel-contracts/util/json-lines-child.js';
import { ExampleStore, type EmbedFn } from './example-store.js';

runChildScript('examples-store', {}, async ({ values, stateDir, log, ask, serve }) => {
  const model = values['embed-model'];
  const embed: EmbedFn | undefined =
    typeof model === 'string' ? async (texts) => ((await ask('embed', texts)) as number[][] | null | undefined) ?? undefined : undefined;
  const store = await ExampleStore.open({ stateDir, ...(embed ? { embed, embedModel: model as string } : {}), logger: log });
  const methods: Record<string, (...a: never[]) => Promise<unknown>> = {
    search: (text: string, k: number, opts: Parameters<ExampleStore['search']>[2]) => store.search(text, k, opts),
    learn: (o: Parameters<ExampleStore['learn']>[0]) => store.learn(o),
    forgetAvoid: (uid: number, prompt: string) => store.forgetAvoid(uid, prompt),
    list: (o: Parameters<ExampleStore['list']>[0]) => store.list(o),
    get: (id: string, viewer: Parameters<ExampleStore['get']>[1]) => store.get(id, viewer),
    remove: (id: string) => store.remove(id),
    promote: (id: string, by: string) => store.promote(id, by),
    demote: (id: string) => store.demote(id),
    state: async () => null,
  };
  serve(async (method, args) => {
    const fn = methods[method];
    if (!fn) throw new Error(`the example library has no method "${method}"`);
    const value = await fn(...(args as never[]));
    return { value: value ?? null, hasVectors: store.hasVectors };
  });
  return new Promise<number>(() => undefined);
});
