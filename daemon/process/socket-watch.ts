/**
 * Keeps the control socket reachable. If its file is removed (a careless `rm -rf /run/kgent/*`,
 * a tmpfiles clean-up), the daemon would keep running with nobody able to reach it. We watch the
 * runtime dir (inotify through fs.watch) and also look every few seconds (the watch dies with its
 * dir); when the file is gone or is no longer our socket, the server listens again on the path.
 * If the path is taken by a live socket of another process, or listening again fails, the daemon
 * exits loudly rather than run unreachable.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';

export interface SocketWatchOptions {
  readonly socketPath: string;
  /** Closes the server (its clients reconnect) and listens again on `socketPath`. */
  relisten(): Promise<void>;
  /** The daemon cannot serve its socket: stop it, loudly. */
  fatal(reason: string): void;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

export interface SocketWatch {
  close(): void;
}

export function watchSocket(o: SocketWatchOptions): SocketWatch {
  let inode = inodeOf(o.socketPath);
  let watcher: FSWatcher | undefined;
  let busy = false;
  let closed = false;

  const check = async (): Promise<void> => {
    if (busy || closed) return;
    busy = true;
    try {
      const now = inodeOf(o.socketPath);
      if (now !== undefined && now === inode) return;
      if (now !== undefined && (await answers(o.socketPath))) {
        o.fatal(`${o.socketPath} was replaced by a socket another process serves`);
        return;
      }
      o.logger.warn({ socket: o.socketPath }, now === undefined ? 'control socket removed: listening again' : 'control socket replaced: listening again');
      await o.relisten();
      inode = inodeOf(o.socketPath);
      rewatch();
      o.logger.info({ socket: o.socketPath }, 'control socket re-created');
    } catch (err) {
      o.fatal(`cannot re-create ${o.socketPath}: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };

  const rewatch = (): void => {
    watcher?.close();
    watcher = undefined;
    try {
      const w = watch(path.dirname(o.socketPath), (_event, name) => {
        if (name === null || name === path.basename(o.socketPath)) void check();
      });
      w.on('error', () => {
        w.close();
        if (watcher === w) watcher = undefined;
      });
      watcher = w;
    } catch {
      // the dir is gone: the periodic look re-creates it
    }
  };

  rewatch();
  const timer = setInterval(() => void check(), o.intervalMs ?? 5000);
  timer.unref();
  return {
    close() {
      closed = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}

function inodeOf(p: string): number | undefined {
  try {
    const st = lstatSync(p);
    return st.isSocket() ? st.ino : -1;
  } catch {
    return undefined;
  }
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
