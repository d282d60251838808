/**
 * A small JSON Schema validator for the subset of draft 2020-12 that `schema.json` uses:
 * `$ref` (local), `type`, `enum`, `const`, `properties`, `required`, `additionalProperties: false`,
 * `items`, `minItems`, `maxItems`, `oneOf`, `anyOf`, `pattern`, `minLength`, `maxLength`,
 * `minimum`, `maximum`. It exists so that `schema.json` itself is what LLM answers are checked
 * against, with messages precise enough to feed back to the model ("at $.pre[0].expr: unknown op
 * \"inside\", expected one of ...").
 */

/** A JSON Schema node (the subset above). */
export interface JsonSchema {
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly description?: string;
  readonly title?: string;
}

/** One validation failure: a JSON path (`$.pre[0].expr.op`) and what is wrong there. */
export interface SchemaError {
  readonly path: string;
  readonly message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Validates `value` against `schema` (whose `$defs` resolve `#/$defs/...` refs). */
export function validateSchema(root: JsonSchema, value: unknown, at: JsonSchema = root, path = '$'): SchemaError[] {
  const deref = (s: JsonSchema): JsonSchema => {
    let cur = s;
    for (let guard = 0; cur.$ref && guard < 32; guard++) {
      const ref = cur.$ref;
      if (ref === '#') cur = { ...root, $ref: undefined };
      else {
        const m = /^#\/\$defs\/(.+)$/.exec(ref);
        const target = m ? root.$defs?.[m[1]!] : undefined;
        if (!target) throw new Error(`json-schema: unresolvable $ref ${ref}`);
        cur = target;
      }
    }
    return cur;
  };
  const s = deref(at);
  const errs: SchemaError[] = [];
  const t = typeOf(value);

  if (s.type !== undefined) {
    const types = typeof s.type === 'string' ? [s.type] : s.type;
    const ok = types.some((ty) => ty === t || (ty === 'number' && t === 'integer'));
    if (!ok) return [{ path, message: `expected ${types.join(' or ')}, got ${t === 'integer' || t === 'number' ? `number ${show(value)}` : t}` }];
  }
  if (s.const !== undefined && JSON.stringify(value) !== JSON.stringify(s.const)) {
    return [{ path, message: `must be ${show(s.const)}, got ${show(value)}` }];
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return [{ path, message: `must be one of ${s.enum.map(show).join(', ')}, got ${show(value)}` }];
  }
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) errs.push({ path, message: `shorter than ${s.minLength} characters` });
    if (s.maxLength !== undefined && value.length > s.maxLength) errs.push({ path, message: `longer than ${s.maxLength} characters` });
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) errs.push({ path, message: `${show(value)} does not match ${s.pattern}` });
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errs.push({ path, message: `must be >= ${s.minimum}` });
    if (s.maximum !== undefined && value > s.maximum) errs.push({ path, message: `must be <= ${s.maximum}` });
    if (Number.isInteger(value) && !Number.isSafeInteger(value) && (s.type === 'integer' || (Array.isArray(s.type) && s.type.includes('integer')))) {
      errs.push({ path, message: `integer ${show(value)} is beyond 2^53 and not exact in JSON; write it as a string` });
    }
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) errs.push({ path, message: `needs at least ${s.minItems} item(s)` });
    if (s.maxItems !== undefined && value.length > s.maxItems) errs.push({ path, message: `has more than ${s.maxItems} items` });
    if (s.items) value.forEach((item, i) => errs.push(...validateSchema(root, item, s.items!, `${path}[${i}]`)));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in obj)) errs.push({ path, message: `missing required property "${r}"` });
    if (s.additionalProperties === false) {
      for (const k of Object.keys(obj)) if (!s.properties || !(k in s.properties)) errs.push({ path, message: `unknown property "${k}"` });
    }
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      if (k in obj) errs.push(...validateSchema(root, obj[k], sub, `${path}.${k}`));
    }
  }
  if (s.anyOf) {
    const results = s.anyOf.map((b) => validateSchema(root, value, b, path));
    if (!results.some((r) => r.length === 0)) errs.push(...explainNoMatch(root, s.anyOf, results, value, path, deref));
  }
  if (s.oneOf) {
    const results = s.oneOf.map((b) => validateSchema(root, value, b, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) errs.push(...explainNoMatch(root, s.oneOf, results, value, path, deref));
    else if (passing > 1) errs.push({ path, message: `matches ${passing} alternatives; must match exactly one` });
  }
  return errs;
}

// Picks the alternative the value was evidently meant to be (same `op`, or the one whose
// required key it has), so the message says what is wrong rather than "matches nothing".
function explainNoMatch(
  root: JsonSchema,
  branches: readonly JsonSchema[],
  results: SchemaError[][],
  value: unknown,
  path: string,
  deref: (s: JsonSchema) => JsonSchema,
): SchemaError[] {
  const flat = (b: JsonSchema): JsonSchema[] => {
    const d = deref(b);
    return d.oneOf ? d.oneOf.flatMap(flat) : d.anyOf ? d.anyOf.flatMap(flat) : [d];
  };
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    if ('op' in obj) {
      const ops: string[] = [];
      for (let i = 0; i < branches.length; i++) {
        for (const leaf of flat(branches[i]!)) {
          const opS = leaf.properties?.['op'];
          if (!opS) continue;
          const allowed = opS.const !== undefined ? [opS.const] : (opS.enum ?? []);
          ops.push(...allowed.map(String));
          if (allowed.includes(obj['op'])) return validateSchema(root, value, leaf, path);
        }
      }
      if (ops.length) return [{ path: `${path}.op`, message: `unknown op ${show(obj['op'])}, expected one of ${ops.join(', ')}` }];
    }
    for (let i = 0; i < branches.length; i++) {
      for (const leaf of flat(branches[i]!)) {
        const req = leaf.required ?? [];
        if (req.length && req.every((k) => k !== 'op') && req.some((k) => k in obj)) return validateSchema(root, value, leaf, path);
      }
    }
  }
  // A scalar of the right JSON type that fails a finer check (pattern, 2^53): report that check.
  const vt = typeOf(value);
  for (const b of branches) {
    for (const leaf of flat(b)) {
      if (leaf.type === vt && vt !== 'object') {
        const e = validateSchema(root, value, leaf, path);
        if (e.length) return e;
      }
    }
  }
  const kinds = branches.map((b) => describeBranch(deref(b), deref)).join(' | ');
  return [{ path, message: `${show(value)} is not ${kinds}` }];
}

function describeBranch(s: JsonSchema, deref: (s: JsonSchema) => JsonSchema): string {
  if (s.oneOf) return s.oneOf.map((b) => describeBranch(deref(b), deref)).join(' | ');
  if (s.type === 'object' && s.required?.length) {
    const op = s.properties?.['op'];
    if (op?.const !== undefined) return `{op:${show(op.const)}}`;
    if (op?.enum) return `{op:${op.enum.map(show).join('/')}}`;
    return `{${s.required.join(',')}}`;
  }
  if (typeof s.type === 'string') return s.type === 'string' && s.pattern ? 'an integer string' : `a${/^[aeiou]/.test(s.type) ? 'n' : ''} ${s.type}`;
  return 'valid';
}
