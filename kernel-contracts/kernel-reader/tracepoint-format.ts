/**
 * Tracepoint formats from tracefs (`events/<category>/<event>/format`): the record layout a
 * `tracepoint:` probe sees as `args`.
 */
import { ContractsError } from '../errors.js';
import type { KernelHost } from './host.js';

/** One field of a tracepoint record. */
export interface TracepointField {
  /** Field name (`dport`, `common_pid`). */
  readonly name: string;
  /**
   * C type as written, without the name, the array suffix and any `__data_loc`/`__rel_loc` prefix:
   * `__u16`, `const char *`, `unsigned long`, `char` (for `__data_loc char[] filename`).
   */
  readonly type: string;
  /** The declaration exactly as in the format file (`__u8 saddr[4]`, `__data_loc char[] name`). */
  readonly declaration: string;
  /** Byte offset in the record. */
  readonly offset: number;
  /** Size in bytes as the kernel states it (for a data-loc field: the 4-byte locator). */
  readonly size: number;
  /** The kernel's `signed:` flag. */
  readonly signed: boolean;
  /** Present for array fields; `length` is null when unsized (`char[]` behind `__data_loc`) or symbolic. */
  readonly array?: { readonly length: number | null };
  /**
   * True for `__data_loc`/`__rel_loc` fields: the record holds a 32-bit locator (offset in the low
   * 16 bits, length in the high 16) and the data lives later in the record. bpftrace reads
   * `args->name` of such a `char[]` field as a string (`str(args->name)`).
   */
  readonly dataLoc: boolean;
  /** True for `__rel_loc` (offset relative to the end of the locator field). */
  readonly relLoc: boolean;
  /** True for the `common_*` header fields every event shares. */
  readonly common: boolean;
}

/** A parsed format file. */
export interface TracepointFormat {
  readonly category: string;
  readonly event: string;
  /** Event id (`ID:` line); -1 when the file has none. */
  readonly id: number;
  /** All fields in file order, common fields first. */
  readonly fields: readonly TracepointField[];
  /** The `print fmt:` text (format string and arguments), '' when absent. */
  readonly printFmt: string;
}

/** A tracepoint name. */
export interface TracepointName {
  readonly category: string;
  readonly event: string;
}

const FIELD_RE = /^field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*(?:signed:(-?\d+);)?/;

/**
 * Parses one field declaration (`__u8 saddr[4]`, `__data_loc char[] name`, `const char * name`).
 * Returns undefined when no identifier can be found.
 */
export function parseFieldDeclaration(decl: string): Pick<TracepointField, 'name' | 'type' | 'array' | 'dataLoc' | 'relLoc'> | undefined {
  let text = decl.trim().replace(/\s+/g, ' ');
  let dataLoc = false;
  let relLoc = false;
  const loc = /^__(data|rel)_loc\s+/.exec(text);
  if (loc) {
    dataLoc = true;
    relLoc = loc[1] === 'rel';
    text = text.slice(loc[0].length);
  }
  let array: { length: number | null } | undefined;
  // Trailing array on the name: `name[4]`, `name[TASK_COMM_LEN]`.
  const arr = /\[\s*([^\]]*)\s*\]\s*$/.exec(text);
  if (arr) {
    array = { length: arrayLength(arr[1] ?? '') };
    text = text.slice(0, arr.index).trimEnd();
  }
  const m = /^(.*?)([A-Za-z_]\w*)$/.exec(text);
  if (!m || m[2] === undefined) return undefined;
  let type = (m[1] ?? '').trim();
  const name = m[2];
  // `__data_loc char[] name`: the `[]` sits on the type.
  const typeArr = /\[\s*([^\]]*)\s*\]$/.exec(type);
  if (typeArr) {
    array = { length: arrayLength(typeArr[1] ?? '') };
    type = type.slice(0, typeArr.index).trimEnd();
  }
  if (!type) return undefined;
  type = type.replace(/\s*\*/g, ' *').replace(/\* \*/g, '**').replace(/\s+/g, ' ').trim();
  if (dataLoc && !array) array = { length: null };
  return { name, type, ...(array ? { array } : {}), dataLoc, relLoc };
}

function arrayLength(s: string): number | null {
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t, 16);
  return null;
}

/**
 * Parses the text of `events/<category>/<event>/format`. Throws a `ContractsError('io')` naming the
 * file and line when a field line cannot be understood.
 */
export function parseTracepointFormat(category: string, event: string, text: string): TracepointFormat {
  let id = -1;
  const fields: TracepointField[] = [];
  let printFmt = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line.startsWith('print fmt:')) {
      // The print fmt runs to the end of the file and may contain newlines of its own.
      printFmt = [line.slice('print fmt:'.length).trimStart(), ...lines.slice(i + 1)].join('\n').trimEnd();
      break;
    }
    if (line.startsWith('ID:')) {
      id = Number.parseInt(line.slice(3).trim(), 10);
      continue;
    }
    if (line.startsWith('name:') || line === 'format:') continue;
    if (line.startsWith('field:')) {
      const m = FIELD_RE.exec(line);
      const decl = m ? parseFieldDeclaration(m[1] ?? '') : undefined;
      if (!m || !decl) {
        throw new ContractsError('io', `cannot parse field of tracepoint ${category}:${event} (line ${i + 1}): ${line}`, {
          category,
          event,
          line: i + 1,
        });
      }
      fields.push({
        ...decl,
        declaration: (m[1] ?? '').trim(),
        offset: Number(m[2]),
        size: Number(m[3]),
        // Very old kernels omit `signed:`; treat as unsigned.
        signed: m[4] !== undefined && Number(m[4]) !== 0,
        common: decl.name.startsWith('common_'),
      });
      continue;
    }
    // Unknown header lines are ignored: newer kernels may add some.
  }
  return { category, event, id, fields, printFmt };
}

/** One `__print_symbolic`/`__print_flags` call of a print fmt: its field and `{ VALUE, "label" }` entries as text. */
export interface PrintFmtTable {
  readonly field: string;
  readonly flags: boolean;
  readonly u64: boolean;
  readonly entries: readonly { readonly value: string; readonly label: string }[];
}

/** Every symbol table of a print fmt, in order, values as written (literals or enumerator names). */
export function printFmtTables(printFmt: string): PrintFmtTable[] {
  const out: PrintFmtTable[] = [];
  const re = /__print_(symbolic|flags)(_u64)?\(\s*REC->(\w+)\s*,/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(printFmt)) !== null) {
    // Walk to the matching close paren of this call, skipping parens inside string labels.
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
    while ((e = entry.exec(body)) !== null) entries.push({ value: (e[1] ?? '').trim(), label: e[2] ?? '' });
    out.push({ field: m[3] ?? '', flags: m[1] === 'flags', u64: m[2] !== undefined, entries });
  }
  return out;
}

/**
 * Value tables of `__print_symbolic` / `__print_flags` whose values are integer literals, by field
 * (the first table of a field wins).
 */
export function printFmtSymbols(
  printFmt: string,
): Record<string, { readonly flags: boolean; readonly values: readonly { value: bigint; name: string }[] }> {
  const out: Record<string, { flags: boolean; values: { value: bigint; name: string }[] }> = {};
  for (const t of printFmtTables(printFmt)) {
    const values: { value: bigint; name: string }[] = [];
    for (const e of t.entries) {
      const v = intLiteral(e.value);
      if (v !== undefined) values.push({ value: v, name: e.label });
    }
    if (values.length > 0 && !out[t.field]) out[t.field] = { flags: t.flags, values };
  }
  return out;
}

function intLiteral(s: string): bigint | undefined {
  let t = s.trim();
  while (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1).trim();
  const neg = t.startsWith('-');
  if (neg) t = t.slice(1).trim();
  t = t.replace(/[uUlL]+$/, '');
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) return undefined;
  const v = BigInt(t);
  return neg ? -v : v;
}

/** Options for {@link listTracepoints}. */
export interface ListTracepointsOptions {
  /**
   * Include the `ftrace` category (internal ftrace record formats, not attachable as tracepoints;
   * bpftrace does not list them). Default false. When true the events directory is walked.
   */
  readonly includeFtrace?: boolean;
}

/**
 * All tracepoints of the host, sorted by category then event. Reads `available_events` when
 * present (one file); otherwise walks `events/`. [] when tracefs is absent.
 */
export async function listTracepoints(host: KernelHost, opts: ListTracepointsOptions = {}): Promise<TracepointName[]> {
  const root = await host.tracefsRoot();
  if (!root) return [];
  const out: TracepointName[] = [];
  const avail = opts.includeFtrace ? undefined : await host.readText(`${root}/available_events`);
  if (avail !== undefined) {
    for (const line of avail.split('\n')) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      out.push({ category: line.slice(0, i), event: line.slice(i + 1).trim() });
    }
  } else {
    for (const category of await host.list(`${root}/events`)) {
      if (category === 'ftrace' && !opts.includeFtrace) continue;
      const events = await host.list(`${root}/events/${category}`);
      for (const event of events) {
        if (await host.exists(`${root}/events/${category}/${event}/format`)) out.push({ category, event });
      }
    }
  }
  out.sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
  return out;
}

/** Reads and parses one format file; undefined when the tracepoint does not exist on the host. */
export async function readTracepointFormat(
  host: KernelHost,
  category: string,
  event: string,
): Promise<TracepointFormat | undefined> {
  if (!isSafeName(category) || !isSafeName(event)) return undefined;
  const root = await host.tracefsRoot();
  if (!root) return undefined;
  const text = await host.readText(`${root}/events/${category}/${event}/format`);
  return text === undefined ? undefined : parseTracepointFormat(category, event, text);
}

// Names come from user programs: never let one walk out of the events directory.
function isSafeName(s: string): boolean {
  return s.length > 0 && !s.includes('/') && s !== '.' && s !== '..';
}
