/**
 * Bounding text that the daemon keeps (the store, its own log): text over a size is cut at a UTF-8
 * character boundary and ends with a marker saying how much was cut, so a reader knows it is not
 * the whole text and a member cannot make kgentd keep more than the configured bytes.
 */

/** `… [truncated 312456 bytes]`: appended to text that was cut. */
export function truncationMarker(cutBytes: number): string {
  return `… [truncated ${cutBytes} bytes]`;
}

/** Bytes of `s` in UTF-8 (what SQLite and the log file hold). */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * `s` when it holds at most `maxBytes` bytes of UTF-8; otherwise its start and the marker, the
 * whole at most `maxBytes` bytes (or the bare marker when `maxBytes` is smaller than the marker).
 */
export function capText(s: string, maxBytes: number): string {
  const total = utf8Bytes(s);
  if (total <= maxBytes) return s;
  // The marker's own length depends on the count it shows; size it for the largest count.
  const room = Math.max(0, maxBytes - utf8Bytes(truncationMarker(total)));
  const buf = Buffer.from(s, 'utf8');
  let end = room;
  // Back up to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (end > 0 && end < buf.length && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}${truncationMarker(total - end)}`;
}
