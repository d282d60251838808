import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONDITION_SCHEMA,
  checkCondition,
  evalCond,
  integerRange,
  renderCond,
  validateAgainstSchema,
  type Cond,
  type Scope,
} from '../../kernel-contracts/contracts/expr.js';

const here = path.dirname(fileURLToPath(import.meta.url));

t.test('schema.json is the schema in use and is valid JSON with all refs resolvable', async (t) => {
  const onDisk = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'kernel-contracts', 'contracts', 'schema.json'), 'utf8'));
  t.same(onDisk, CONDITION_SCHEMA);
  const refs = JSON.stringify(onDisk).match(/"\$ref":"#\/\$defs\/(\w+)"/g) ?? [];
  for (const r of refs) {
    const name = /\/(\w+)"$/.exec(r)![1]!;
    t.ok(onDisk.$defs[name], `$defs.${name} exists`);
  }
});

t.test('valid conditions pass the schema', async (t) => {
  const good: unknown[] = [
    { op: 'in', lhs: { field: 'family' }, rhs: [2, 10] },
    { op: 'range', lhs: { field: 'dport' }, min: 0, max: 65535 },
    { op: 'range', lhs: { field: 'x' }, min: '-9223372036854775808', max: '0x7fffffffffffffff' },
    { op: 'byteOrder', lhs: { field: 'sk', path: ['__sk_common', 'skc_dport'] }, order: 'big' },
    { op: 'and', args: [{ op: 'ne', lhs: { field: 'sk' }, rhs: 0 }, { op: 'le', lhs: { ret: true }, rhs: { const: 0 } }] },
    { op: 'implies', lhs: { op: 'eq', lhs: { field: 'family' }, rhs: 2 }, rhs: { op: 'not', arg: { op: 'eq', lhs: { op: 'band', lhs: { field: 'flags' }, rhs: '0x1' }, rhs: 1 } } },
  ];
  for (const g of good) t.same(validateAgainstSchema(g, 'cond'), [], JSON.stringify(g));
});

t.test('malformed conditions are rejected with a clear reason and path', async (t) => {
  const cases: { value: unknown; want: RegExp }[] = [
    { value: { op: 'inside', lhs: { field: 'a' }, rhs: [1] }, want: /\$\.op: unknown op "inside", expected one of .*in/ },
    { value: { op: 'in', lhs: { field: 'a' }, rhs: [] }, want: /\$\.rhs: needs at least 1 item/ },
    { value: { op: 'in', lhs: { field: 'a' }, rhs: ['AF_INET'] }, want: /\$\.rhs\[0\]: "AF_INET" does not match/ },
    { value: { op: 'range', lhs: { field: 'a' }, min: 0 }, want: /missing required property "max"/ },
    { value: { op: 'eq', lhs: { field: 'a', extra: 1 }, rhs: 1 }, want: /\$\.lhs: unknown property "extra"/ },
    { value: { op: 'eq', lhs: { field: '1bad' }, rhs: 1 }, want: /\$\.lhs\.field: "1bad" does not match/ },
    { value: { op: 'byteOrder', lhs: { field: 'a' }, order: 'network' }, want: /\$\.order: must be one of "big", "little"/ },
    { value: { op: 'eq', lhs: { field: 'a' }, rhs: 1.5 }, want: /\$\.rhs: 1\.5 is not/ },
    { value: { op: 'eq', lhs: { field: 'a' }, rhs: 18446744073709551615 }, want: /beyond 2\^53/ },
    { value: 'x > 1', want: /"x > 1" is not/ },
  ];
  for (const c of cases) {
    const errs = validateAgainstSchema(c.value, 'cond');
    t.ok(errs.length > 0, `rejected: ${JSON.stringify(c.value)}`);
    t.match(errs.map((e) => `${e.path}: ${e.message}`).join('\n'), c.want);
  }
  const ans = validateAgainstSchema({ pre: [{ expr: { op: 'eq', lhs: { field: 'a' }, rhs: 1 } }] }, 'enrichment');
  t.match(ans.map((e) => e.message).join(), /missing required property "post"/);
});

t.test('semantic checks: names exist, ret only in post, constants fit the type', async (t) => {
  const scope: Scope = {
    values: new Map([
      ['family', { bits: 16, signed: false }],
      ['sk', { bits: 64, signed: false, pointer: true, member: (p) => (p.join('.') === '__sk_common.skc_dport' ? { bits: 16, signed: false } : undefined) }],
      ['n', { bits: 8, signed: true }],
    ]),
    ret: { bits: 32, signed: true },
  };
  const cases: { cond: Cond; kind: 'pre' | 'post'; want: RegExp | null }[] = [
    { cond: { op: 'in', lhs: { field: 'family' }, rhs: [2, 10] }, kind: 'pre', want: null },
    { cond: { op: 'in', lhs: { field: 'famly' }, rhs: [2] }, kind: 'pre', want: /no argument or field "famly"/ },
    { cond: { op: 'in', lhs: { field: 'family' }, rhs: [70000] }, kind: 'pre', want: /70000 is outside the 16-bit unsigned range 0\.\.65535/ },
    { cond: { op: 'ge', lhs: { field: 'n' }, rhs: -129 }, kind: 'pre', want: /-129 is outside the 8-bit signed range/ },
    { cond: { op: 'le', lhs: { ret: true }, rhs: 0 }, kind: 'pre', want: /only be used in a post-condition/ },
    { cond: { op: 'le', lhs: { ret: true }, rhs: 0 }, kind: 'post', want: null },
    { cond: { op: 'ne', lhs: { field: 'sk', path: ['__sk_common', 'skc_dport'] }, rhs: 0 }, kind: 'pre', want: null },
    { cond: { op: 'ne', lhs: { field: 'sk', path: ['nope'] }, rhs: 0 }, kind: 'pre', want: /no member nope/ },
    { cond: { op: 'ne', lhs: { field: 'family', path: ['x'] }, rhs: 0 }, kind: 'pre', want: /not a pointer/ },
    { cond: { op: 'range', lhs: { field: 'n' }, min: 5, max: 1 }, kind: 'pre', want: /empty range/ },
  ];
  for (const c of cases) {
    const errs = checkCondition(c.cond, c.kind, scope).map((e) => e.message).join('\n');
    if (c.want) t.match(errs, c.want, renderCond(c.cond));
    else t.equal(errs, '', renderCond(c.cond));
  }
});

t.test('evaluation and rendering are exact (64-bit)', async (t) => {
  const r = integerRange(64, false);
  t.same(r, { min: 0, max: '18446744073709551615' });
  t.same(integerRange(16, true), { min: -32768, max: 32767 });
  const c: Cond = { op: 'range', lhs: { field: 'x' }, min: r.min, max: r.max };
  t.ok(evalCond(c, new Map([['x', 2n ** 64n - 1n]])));
  t.notOk(evalCond(c, new Map([['x', 2n ** 64n]])));
  t.ok(evalCond({ op: 'in', lhs: { field: 'family' }, rhs: [2, 10] }, new Map([['family', 10n]])));
  t.equal(renderCond({ op: 'in', lhs: { field: 'family' }, rhs: [2, 10] }, (f) => `args->${f}`), 'args->family in {2, 10}');
  t.equal(renderCond({ op: 'byteOrder', lhs: { field: 'sk', path: ['__sk_common', 'skc_dport'] }, order: 'big' }), 'sk->__sk_common.skc_dport is big-endian');
});
