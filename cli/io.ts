/** Where a command writes; tests pass buffers, the binary passes process streams. */
export interface CliIO {
  readonly stdout: { write(s: string): unknown };
  /** `isTTY`: a terminal, where progress is drawn in place (process.stderr has it). */
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A cell cut to at most `max` characters, on one line (runs of whitespace become one space); a cut
 * cell ends with "…" so a reader sees that text is missing. Counts code points, not UTF-16 units,
 * so a cut never splits a character.
 */
export function clip(s: string, max: number): string {
  const chars = [...s.replace(/\s+/g, ' ').trim()];
  if (chars.length <= max) return chars.join('');
  return max < 1 ? '' : `${chars.slice(0, max - 1).join('')}…`;
}

/** Left-aligned columns for human output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
