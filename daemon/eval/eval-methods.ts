/**
 * The evaluation methods on the control socket. `eval.run` streams `eval.progress` to the client
 * that asked; a client that disconnects interrupts the evaluation (its state stays on disk for
 * `resume`). Running an evaluation needs the `run` right (root or kgent-admin, see
 * policy/method-rights.ts): the oracle attaches programs and runs each case's trigger as root.
 */
import { EvalList, EvalProgressNotification, EvalRun } from '../protocol/eval-api.js';
import { callerOf } from '../pipeline/requests-methods.js';
import type { Rights } from '../policy/rights.js';
import type { MethodRegistry } from '../server/control-server.js';
import type { EvalService } from './runner.js';

export function registerEvalMethods(server: MethodRegistry, evals: EvalService, rights: Rights): void {
  server.register(EvalRun, async (p, conn) => {
    const release = conn.busy();
    try {
      return await evals.run(
        {
          ...(p.cases ? { cases: p.cases } : {}),
          ...(p.only ? { only: p.only } : {}),
          ...(p.configs ? { configs: p.configs } : {}),
          ...(p.models ? { models: p.models } : {}),
          ...(p.comprehensionModel ? { comprehensionModel: p.comprehensionModel } : {}),
          ...(p.trials !== undefined ? { trials: p.trials } : {}),
          ...(p.runs !== undefined ? { runs: p.runs } : {}),
          ...(p.resume ? { resume: p.resume } : {}),
          ...(p.html ? { html: true } : {}),
        },
        callerOf(conn, rights),
        (progress) => void conn.notify(EvalProgressNotification, progress),
        (fn) => conn.onClose(fn),
      );
    } finally {
      release();
    }
  });
  server.register(EvalList, async () => ({ evals: evals.list() }));
}
