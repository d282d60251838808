/**
 * How `kgentctl request` and `hint` show the loop's progress on stderr. On a terminal, each stage
 * is shown as it starts, on one line rewritten in place with its elapsed time (and, for the LLM,
 * the answer tokens received so far), and left as a finished line when it ends. Elsewhere (a pipe,
 * a file, a CI log) the same events are plain lines: one when a stage starts, one when it ends.
 */
import type { RequestProgress } from '../daemon/protocol/index.js';

const STAGE_WORD: Readonly<Record<string, string>> = {
  retrieving: 'retrieving examples and hooks',
  synthesizing: 'synthesizing (LLM)',
  annotating: 'annotating (LLM)',
  verifying: 'verifying (symbolic)',
  'kernel-check': 'kernel check (eBPF verifier)',
};

/** How often the in-place line is redrawn. */
const TICK_MS = 200;

export function formatMs(n: number | undefined): string {
  if (n === undefined) return '';
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}

function tokensText(n: number | undefined): string {
  return n === undefined ? '' : `, ${n} token${n === 1 ? '' : 's'}`;
}

export interface ProgressOut {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

export class ProgressView {
  private readonly tty: boolean;
  /** The stage being drawn in place (terminal only). */
  private live: { head: string; word: string; started: number; tokens?: number; timer: NodeJS.Timeout } | undefined;
  /** Set once the user pressed Ctrl-C: a stage that ends from then on was stopped, not finished. */
  cancelling = false;

  constructor(
    private readonly out: ProgressOut,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tty = out.isTTY === true;
  }

  show(p: RequestProgress): void {
    const head = `[R${p.requestId} ${p.attempt}/${p.trials}]`;
    if (p.stage === 'done') return;
    if (p.stage === 'feedback' || p.stage === 'trimmed') {
      this.line(`${head}   ${p.stage === 'feedback' ? 'feedback: ' : ''}${indentMore(p.message ?? '', `${head}   `.length + (p.stage === 'feedback' ? 10 : 0))}`);
      return;
    }
    const word = STAGE_WORD[p.stage] ?? p.stage;
    if (p.phase === 'start') {
      if (!this.tty) {
        this.out.write(`${head} ${word} ...\n`);
        return;
      }
      this.stopLive();
      const started = this.now();
      const timer = setInterval(() => this.draw(), TICK_MS);
      timer.unref();
      this.live = { head, word, started, timer };
      this.draw();
      return;
    }
    if (p.phase === 'info') {
      if (this.live && p.tokens !== undefined) {
        this.live.tokens = p.tokens;
        this.draw();
      }
      return;
    }
    // end
    const stopped = p.stopped === true || this.cancelling;
    const text = `${head} ${word}: ${stopped ? `${this.cancelling ? 'cancelled' : 'stopped'} after ${formatMs(p.ms)}` : formatMs(p.ms)}${tokensText(p.tokens)}`;
    this.stopLive();
    this.out.write(`${this.tty ? '\r\x1b[K' : ''}${text}\n`);
  }

  /** Ends the in-place line (before other output, or when the call ends). */
  close(): void {
    if (!this.live) return;
    this.stopLive();
    this.out.write('\n');
  }

  /** A line of its own, above the in-place one. */
  private line(text: string): void {
    if (this.tty && this.live) {
      this.out.write(`\r\x1b[K${text}\n`);
      this.draw();
    } else this.out.write(`${text}\n`);
  }

  private draw(): void {
    const l = this.live;
    if (!l) return;
    const elapsed = Math.round(this.now() - l.started);
    this.out.write(`\r\x1b[K${l.head} ${l.word} ... ${formatMs(elapsed)}${tokensText(l.tokens)}`);
  }

  private stopLive(): void {
    if (this.live) clearInterval(this.live.timer);
    this.live = undefined;
  }
}

/** Continuation lines of a multi-line message, indented under its first line. */
function indentMore(message: string, by: number): string {
  return message.trimEnd().split('\n').join(`\n${' '.repeat(by)}`);
}
