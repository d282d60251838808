/**
 * The parent side of a build in a child process (`build-main.js`): spawns it, streams its
 * progress lines to `onProgress`, logs its pino lines through the service's logger, and resolves
 * with its {@link BuildResult}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RebuildProgress } from '../api.js';
import type { BuildResult } from './build.js';

/** One stdout line of the child. */
export interface ChildLine {
  readonly progress?: RebuildProgress;
  readonly result?: BuildResult;
  readonly error?: string;
}

export interface BuildChildOptions {
  /** The compiled `build-main.js`. */
  readonly script: string;
  readonly args: readonly string[];
  readonly onProgress: (p: RebuildProgress) => void;
  readonly log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Called with the child once it is spawned (the service kills it on stop). */
  readonly started?: (child: ChildProcess) => void;
}

/** Runs the build child; rejects with its error line, or its exit status and stderr. */
export function runBuildChild(o: BuildChildOptions): Promise<BuildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [o.script, ...o.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    o.started?.(child);
    let result: BuildResult | undefined;
    let error: string | undefined;
    let out = '';
    let err = '';
    const line = (l: string): void => {
      if (!l.trim()) return;
      let msg: ChildLine & Record<string, unknown>;
      try {
        msg = JSON.parse(l) as ChildLine & Record<string, unknown>;
      } catch {
        o.log.warn({ line: l.slice(0, 500) }, 'kernel contracts: build child printed a line that is not JSON');
        return;
      }
      if (msg.progress) o.onProgress(msg.progress);
      else if (msg.result) result = msg.result;
      else if (typeof msg.error === 'string') error = msg.error;
      else {
        const { level, msg: text, ...rest } = msg;
        const lvl = Number(level);
        const fn = lvl >= 50 ? o.log.error : lvl >= 40 ? o.log.warn : o.log.info;
        if (lvl >= 30) fn.call(o.log, { ...rest, build: 'child' }, typeof text === 'string' ? text : 'kernel contracts: build child');
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        line(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 4000) err += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      line(out);
      if (code === 0 && result) resolve(result);
      else reject(new Error(error ?? `the build child ${signal ? `was killed by ${signal}` : `exited ${code}`}${err.trim() ? `: ${err.trim().slice(-1000)}` : ''}`));
    });
  });
}
