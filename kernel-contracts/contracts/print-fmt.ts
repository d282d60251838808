/**
 * Print-fmt symbol tables whose values are names rather than literals
 * (`__print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }, ...)`): the names are
 * enumerators in BTF, so their values can be looked up and the field still gets its domain.
 */
import { printFmtTables } from '../kernel-reader/tracepoint-format.js';
import { fromBigInt } from './expr.js';
import { valueConditions } from './derive.js';
import type { TracepointContract, ValueContract } from './model.js';

/** Entries `{ NAME_OR_VALUE, "label" }` of each `__print_symbolic(REC->field, ...)`, as text. */
export function symbolicEntryTexts(printFmt: string): Record<string, { value: string; label: string }[]> {
  const out: Record<string, { value: string; label: string }[]> = {};
  for (const t of printFmtTables(printFmt)) {
    if (!t.flags && t.entries.length && !out[t.field]) out[t.field] = t.entries.map((e) => ({ ...e }));
  }
  return out;
}

/**
 * Gives fields without a domain one from their symbolic print-fmt table when every entry's value
 * is an enumerator `enumerator` knows. Conditions are re-derived for the changed fields.
 */
export function resolvePrintFmtEnums(c: TracepointContract, enumerator: (name: string) => bigint | undefined): TracepointContract {
  const tables = symbolicEntryTexts(c.printFmt);
  let changed = false;
  const fields: ValueContract[] = c.fields.map((f) => {
    const tbl = tables[f.name];
    if (f.enum || !tbl || !(f.kind === 'int' || f.kind === 'enum')) return f;
    const values: { name: string; value: number | string }[] = [];
    for (const e of tbl) {
      const v = /^-?(0x[0-9a-fA-F]+|\d+)$/.test(e.value) ? BigInt(e.value) : /^[A-Za-z_]\w*$/.test(e.value) ? enumerator(e.value) : undefined;
      if (v === undefined) return f; // one unknown entry: no domain rather than a wrong one
      values.push({ name: e.label, value: fromBigInt(v) });
    }
    changed = true;
    return { ...f, enum: { source: 'print-fmt', values } };
  });
  if (!changed) return c;
  const conditions = fields.flatMap((v) => valueConditions(v, 'pre'));
  return { ...c, fields, conditions };
}
