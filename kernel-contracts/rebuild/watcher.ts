/**
 * Watches where a new kernel gets installed (`/lib/modules/<release>/`, `/boot/vmlinuz-*`,
 * `/boot/config-*`) and reports additions, debounced, so the service can check whether the
 * running kernel changed. Paths are configurable so tests use temp dirs.
 */
import { watch, type FSWatcher } from 'chokidar';

export interface KernelWatcher {
  /** Resolves once the initial scan is done (events before that are not reported). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Calls `onChange(paths)` after additions under `paths` settle for `debounceMs`. Only entries
 * directly inside each watched directory count (a new `/lib/modules/6.19.0` dir, a new
 * `/boot/vmlinuz-6.19.0`), not churn deeper down. Missing directories are fine.
 */
export function watchKernelInstalls(paths: readonly string[], onChange: (added: string[]) => void, debounceMs = 1000): KernelWatcher {
  let timer: NodeJS.Timeout | undefined;
  let pending: string[] = [];
  const fire = (p: string): void => {
    pending.push(p);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const added = pending;
      pending = [];
      onChange(added);
    }, debounceMs);
  };
  const w: FSWatcher = watch([...paths], { ignoreInitial: true, depth: 0, persistent: true });
  w.on('addDir', fire);
  w.on('add', fire);
  // A watch that breaks (permissions, inotify limits) must not crash the daemon; the next start
  // still compares identities.
  w.on('error', () => undefined);
  const ready = new Promise<void>((resolve) => w.once('ready', () => resolve()));
  return {
    ready,
    close: async () => {
      if (timer) clearTimeout(timer);
      await w.close();
    },
  };
}
