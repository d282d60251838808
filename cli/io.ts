/** Where a command writes; tests pass buffers, the binary passes process streams. */
export interface CliIO {
  readonly stdout: { write(s: string): unknown };
  /** `isTTY`: a terminal, where progress is drawn in place (process.stderr has it). */
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns for human output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
