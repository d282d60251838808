/**
 * The parent side of a build in a child process (`build-main.js`): spawns it, streams its
 * progress lines to `onProgress`, logs its pino lines through the service's logger, and resolves
 * with its {@link BuildResult}.
 */
import { describeExit, runJsonLinesChild, type ChildProcess } from '../util/json-lines-child.js';
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
  /** Vectors the child asks for (it was given `--embed-model`). */
  readonly embed?: (texts: readonly string[]) => Promise<number[][]>;
}

/** Runs the build child; rejects with its error line, or its exit status and stderr. */
export async function runBuildChild(o: BuildChildOptions): Promise<BuildResult> {
  let result: BuildResult | undefined;
  let error: string | undefined;
  const exit = await runJsonLinesChild({
    args: [o.script, ...o.args],
    what: 'kernel contracts: build child',
    log: { info: (...a) => o.log.info(...a), warn: (...a) => o.log.warn(...a), error: (...a) => o.log.error(...a) },
    tag: { build: 'child' },
    ...(o.started ? { started: o.started } : {}),
    answer: async (question, args) => {
      if (question !== 'embed' || !o.embed) throw new Error(`the build child asked "${question}", which is not answered`);
      return o.embed(args[0] as string[]);
    },
    onMessage(m) {
      const msg = m as ChildLine;
      if (msg.progress) o.onProgress(msg.progress);
      else if (msg.result) result = msg.result;
      else if (typeof msg.error === 'string') error = msg.error;
    },
  });
  if (exit.code === 0 && result) return result;
  throw new Error(error ?? `the build child ${describeExit(exit)}`);
}
