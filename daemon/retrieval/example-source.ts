/**
 * The example library as the Kgent loop uses it: top-k examples for a prompt as its submitter
 * sees them, and learning a request's outcome as its submitter's (an approved verified program as
 * a positive example, a failure as an "avoid" note).
 */
import type { ExampleSource } from '../pipeline/stages.js';
import { attachableExamples, overFetch } from './attachable-examples.js';
import type { ExampleLibrary } from './library.js';

/**
 * `hookUsable` says whether an attach point can attach on this host: entries with one that
 * cannot are never returned (see attachable-examples.ts).
 */
export function exampleSource(library: ExampleLibrary, hookUsable: (hook: string) => boolean): ExampleSource {
  return {
    async search(text, k, viewerUid) {
      const r = await library.search(text, overFetch(k), { viewer: { uid: viewerUid } });
      return attachableExamples(r.hits, hookUsable, k).map((h) => ({
        id: h.id,
        kind: h.kind,
        prompt: h.prompt,
        program: h.program,
        ...(h.annotated ? { annotated: h.annotated } : {}),
        ...(h.feedback ? { feedback: h.feedback } : {}),
        hooks: h.hooks,
      }));
    },
    async learn(o) {
      await library.learn({
        requestId: `R${o.requestId}`,
        ownerUid: o.ownerUid,
        owner: o.owner,
        prompt: o.prompt,
        ...(o.program ? { program: o.program } : {}),
        ...(o.annotated ? { annotated: o.annotated } : {}),
        verdict: o.verdict === 'proved' ? 'verified' : o.verdict,
        ...(o.feedback ? { feedback: o.feedback } : {}),
      });
    },
    async forgetAvoid(ownerUid, prompt) {
      await (await library.store()).forgetAvoid(ownerUid, prompt);
    },
  };
}
