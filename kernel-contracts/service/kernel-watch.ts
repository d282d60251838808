/**
 * The watch on the directories where new kernels appear (`/lib/modules`, `/boot`): each
 * installation is announced (`kernel-installed`) and, when the running kernel no longer matches
 * the dataset (a module tree for it appeared, or the dataset is outdated), rebuilds it.
 */
import type { EventEmitter } from 'node:events';
import type { KernelHost } from '../kernel-reader/host.js';
import { readKernelIdentity } from '../kernel-reader/identity.js';
import type { ContractStore } from '../store/contract-db.js';
import { watchKernelInstalls, type KernelWatcher } from '../rebuild/watcher.js';
import type { ContractLogger } from './options.js';
import { rebuildReason, type RebuildRunner } from './rebuild-runner.js';

export interface KernelWatchDeps {
  readonly paths: readonly string[];
  readonly debounceMs: number;
  readonly host: KernelHost;
  readonly log: ContractLogger;
  /** The store while the service runs; undefined once it stopped. */
  readonly store: () => ContractStore | undefined;
  readonly stopped: () => boolean;
  readonly rebuilds: RebuildRunner;
  /** Where `kernel-installed` is emitted. */
  readonly events: EventEmitter;
}

/** Starts watching (resolves once the watch is ready); undefined when there is nothing to watch. */
export async function watchForNewKernels(d: KernelWatchDeps): Promise<KernelWatcher | undefined> {
  if (!d.paths.length) return undefined;
  const watcher = watchKernelInstalls(d.paths, (added) => onKernelInstalled(added, d), d.debounceMs);
  await watcher.ready;
  return watcher;
}

function onKernelInstalled(added: string[], d: KernelWatchDeps): void {
  d.events.emit('kernel-installed', added);
  if (d.stopped() || !d.store()) return;
  void (async () => {
    const running = await readKernelIdentity(d.host);
    const why = rebuildReason(d.store()?.currentGeneration(), running);
    d.log.info({ added, running: running.key }, `kernel contracts: new kernel files appeared${why ? `; ${why}: rebuilding` : '; the running kernel is unchanged (the new one is used after a reboot)'}`);
    if (why && !d.rebuilds.current) await d.rebuilds.start().catch(() => undefined);
  })();
}
