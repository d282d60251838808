/**
 * kgentd's `request.progress` events as MCP progress notifications. MCP wants `progress` to grow
 * with every notification (and lets `total` be a guess): an attempt is five stages, each stage's
 * start and end a step, and events that do not move the stage forward (tokens received, feedback)
 * add a sliver so the value still grows.
 */
import type { AttemptStage, RequestProgress } from '../../daemon/protocol/index.js';

const STAGES: readonly AttemptStage[] = ['retrieving', 'synthesizing', 'annotating', 'verifying', 'kernel-check'];

export interface McpProgress {
  readonly progress: number;
  readonly total: number;
  readonly message: string;
}

/** One line for a person or an agent watching: `R3 attempt 1/3: verifying done (412 ms)`. */
export function progressMessage(p: RequestProgress): string {
  // The last event names no attempt (0): it says how the request ended.
  if (p.stage === 'done') return `R${p.requestId} ended${p.message ? `: ${p.message.split('\n')[0]}` : ''}`;
  const head = `R${p.requestId} attempt ${p.attempt}/${p.trials}: ${p.stage}`;
  if (p.phase === 'info') return `${head}${p.tokens !== undefined ? ` ${p.tokens} tokens` : ''}${p.message ? ` ${p.message.split('\n')[0]}` : ''}`;
  if (p.phase === 'start') return `${head} started`;
  return `${head} ${p.stopped ? 'stopped' : 'done'}${p.ms !== undefined ? ` (${Math.round(p.ms)} ms)` : ''}`;
}

/** Turns the stream of one request's events into growing MCP progress values. */
export class ProgressCounter {
  private last = 0;

  next(p: RequestProgress): McpProgress {
    const perAttempt = STAGES.length * 2;
    const stage = STAGES.indexOf(p.stage as AttemptStage);
    const total = Math.max(p.trials, p.attempt) * perAttempt;
    let at: number;
    if (p.stage === 'done') at = total;
    else if (stage < 0 || p.phase === 'info') at = this.last;
    else at = (p.attempt - 1) * perAttempt + stage * 2 + (p.phase === 'end' ? 2 : 1);
    // Never back, never the same: a hint round's attempts start past the first round's trials.
    const progress = at > this.last ? at : this.last + 0.01;
    this.last = progress;
    return { progress: Math.round(progress * 100) / 100, total: Math.max(total, Math.ceil(progress)), message: progressMessage(p) };
  }
}
