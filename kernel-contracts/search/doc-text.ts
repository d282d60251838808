/**
 * The searchable text of a hook, apart from the index itself so that building it (the rebuild)
 * does not load LanceDB into a process that only imports the rebuild code.
 */

/** The searchable text of a hook: name split into words, then whatever describes it. */
export function docText(parts: { name: string; kind: 'function' | 'tracepoint'; extra: readonly (string | undefined)[] }): string {
  const words = parts.name.replace(/[_:]+/g, ' ').trim();
  // The tokenizer splits on `_` and `:`, so the words alone also find the exact name.
  // The name twice: what a hook is called weighs more than the words of its fields and docs.
  return [words, words, ...parts.extra.filter(Boolean)].join('\n');
}
