// Text shapes shared by the terminal commands and the MCP server: a log entry, a numbered program.
import type { LogEntry } from '../daemon/protocol/index.js';

/** One log entry as a human reads it: printf text as is, maps and others as compact JSON. */
export function formatEntry(e: LogEntry): string {
  const t = e.time.slice(11, 23);
  if (e.type === 'printf' && typeof e.data === 'string') return `${t} ${e.data.replace(/\n$/, '')}`;
  if (e.type === 'stderr' || e.type === 'text') return `${t} [${e.type}] ${String(e.data)}`;
  return `${t} [${e.type}] ${JSON.stringify(e.data)}`;
}

/** `text` with right-aligned line numbers, as the verifier counts lines (from 1). */
export function numberLines(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const w = String(lines.length).length;
  return lines.map((l, i) => `  ${String(i + 1).padStart(w)} | ${l}`).join('\n');
}
