/**
 * Print-fmt symbol tables whose values are names rather than literals
 * (`__print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }, ...)`): the names are
 * enumerators in BTF, so their values can be looked up and the field still gets its domain.
 */
import { fromBigInt } from './expr.js';
import { valueConditions } from './derive.js';
import type { TracepointContract, ValueContract } from './model.js';

/** Entries `{ NAME_OR_VALUE, "label" }` of each `__print_symbolic(REC->field, ...)`, as text. */
export function symbolicEntryTexts(printFmt: string): Record<string, { value: string; label: string }[]> {
  const out: Record<string, { value: string; label: string }[]> = {};
  const re = /__print_symbolic(?:_u64)?\(\s*REC->(\w+)\s*,/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(printFmt)) !== null) {
    let depth = 1;
    let j = re.lastIndex;
    let inStr = false;
    for (; j < printFmt.length && depth > 0; j++) {
      const c = printFmt[j];
      if (inStr) {
        if (c === '\\') j++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    }
    const body = printFmt.slice(re.lastIndex, j - 1);
    const entries: { value: string; label: string }[] = [];
    const entry = /\{\s*([^,{}]+?)\s*,\s*"([^"]*)"\s*\}/g;
    let e: RegExpExecArray | null;
    while ((e = entry.exec(body)) !== null) entries.push({ value: e[1]!.trim(), label: e[2]! });
    if (entries.length && !out[m[1]!]) out[m[1]!] = entries;
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
