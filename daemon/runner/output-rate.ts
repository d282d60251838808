/**
 * The output rate limit of a program: a token bucket of `linesPerSecond` lines (and as many in a
 * burst). A program that prints faster has the excess dropped and counted, so one chatty probe on a
 * hot path cannot fill the disk or starve the daemon; the drop is said in the program's own log,
 * once a second at most, with the count.
 */
export class OutputRate {
  private tokens: number;
  private last: number;
  private droppedSinceNote = 0;
  private lastNote = -Infinity;
  /** Lines dropped over the limit since the program started. */
  dropped = 0;

  constructor(
    private readonly linesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = linesPerSecond;
    this.last = this.now();
  }

  /** True when this line may be written; false when it is over the limit (counted as dropped). */
  admit(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.linesPerSecond, this.tokens + ((t - this.last) / 1000) * this.linesPerSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    this.droppedSinceNote++;
    return false;
  }

  /** The lines dropped since the last note, when a note is due (at most once a second); else undefined. */
  noteDue(): number | undefined {
    if (this.droppedSinceNote === 0) return undefined;
    const t = this.now();
    if (t - this.lastNote < 1000) return undefined;
    this.lastNote = t;
    const n = this.droppedSinceNote;
    this.droppedSinceNote = 0;
    return n;
  }
}
