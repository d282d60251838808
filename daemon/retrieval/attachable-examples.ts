/**
 * Only examples whose programs can attach on this host go into a prompt or to the user: an
 * example that teaches `kprobe:tcp_connect` on a kernel without kprobes (or a tracepoint this
 * kernel lacks) leads the model to a program the kernel check refuses. An example without
 * attach points (BEGIN/END, interval only) has nothing that can fail to attach.
 */

/** The first `k` entries (in their order) whose attach points all pass `usable`. */
export function attachableExamples<T extends { readonly hooks?: readonly string[] }>(entries: readonly T[], usable: (hook: string) => boolean, k: number): T[] {
  return entries.filter((e) => (e.hooks ?? []).every(usable)).slice(0, k);
}

/** How many more entries to ask the table for, so that `k` remain once unattachable ones are dropped. */
export function overFetch(k: number): number {
  return k * 3 + 6;
}
