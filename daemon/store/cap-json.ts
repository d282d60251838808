/**
 * A JSON value stored within a byte bound without breaking its shape: readers parse it back as the
 * same type (a report, a kernel check, feedback), only with long strings cut (each ending with the
 * truncation marker) and long arrays shortened. Used for the JSON columns of the request store.
 */
import { capText, utf8Bytes } from '../util/truncate.js';

/** Shrinking steps: string bytes and array items kept, from gentle to drastic. */
const STEPS: readonly { readonly str: number; readonly items: number }[] = [
  { str: 16 * 1024, items: 200 },
  { str: 4096, items: 50 },
  { str: 1024, items: 20 },
  { str: 256, items: 5 },
  { str: 64, items: 1 },
  { str: 16, items: 0 },
];

function shrink(v: unknown, str: number, items: number, depth: number): unknown {
  if (typeof v === 'string') return capText(v, str);
  if (Array.isArray(v)) return v.slice(0, items).map((x) => shrink(x, str, items, depth + 1));
  if (v !== null && typeof v === 'object') {
    // Deep nesting is not something kgent writes; cut it rather than recurse without end.
    if (depth > 32) return {};
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shrink(x, str, items, depth + 1)]));
  }
  return v;
}

/** `JSON.stringify(value)` when it fits `maxBytes`; else the first shrinking step that fits, or the last. */
export function capJson(value: unknown, maxBytes: number): string {
  const whole = JSON.stringify(value);
  if (utf8Bytes(whole) <= maxBytes) return whole;
  let out = whole;
  for (const s of STEPS) {
    out = JSON.stringify(shrink(value, Math.min(s.str, maxBytes), s.items, 0));
    if (utf8Bytes(out) <= maxBytes) return out;
  }
  return out;
}
