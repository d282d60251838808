/**
 * The dataset loader (datasets/load.ts): what it returns for a well-formed example, and that a
 * malformed one is refused with an error naming the file.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DatasetError, loadExamples } from '../../datasets/load.js';

const HEADER = '// prompt: Count openat calls per command.\n// tags: file, openat, count\n// hooks: tracepoint:syscalls:sys_enter_openat\n';
const PROGRAM = 'tracepoint:syscalls:sys_enter_openat\n{\n  @opens[comm] = count();\n}\n';
const ANNOTATED =
  'tracepoint:syscalls:sys_enter_openat\n{\n  @opens[comm] = count();\n  assert(mapkey(@opens, 0) == comm);\n}\n\ncover(tracepoint:syscalls:sys_enter_openat);\n';

/** A temporary examples directory with the given files (path relative to it -> content). */
function dataset(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-dataset-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

t.test('a well-formed example', async (t) => {
  const dir = dataset({ 'file/opens.bt': HEADER + PROGRAM, 'file/opens.annotated.bt': HEADER + ANNOTATED });
  const [e, ...rest] = loadExamples(dir);
  t.same(rest, []);
  t.match(e, {
    id: 'file/opens',
    area: 'file',
    slug: 'opens',
    prompt: 'Count openat calls per command.',
    tags: ['file', 'openat', 'count'],
    hooks: ['tracepoint:syscalls:sys_enter_openat'],
    program: PROGRAM,
    annotated: ANNOTATED,
    file: path.join(dir, 'file', 'opens.bt'),
  });
  t.equal(e?.variantOf, undefined);
});

t.test('the repository dataset loads', async (t) => {
  const all = loadExamples();
  t.ok(all.length > 0);
  t.equal(new Set(all.map((e) => e.id)).size, all.length, 'ids are unique');
});

const malformed: [string, Record<string, string>, string, RegExp][] = [
  ['no prompt', { 'file/a.bt': '// tags: x\n// hooks: h\n' + PROGRAM, 'file/a.annotated.bt': '// tags: x\n// hooks: h\n' + ANNOTATED }, 'file/a.bt', /no "\/\/ prompt:"/],
  ['unknown key', { 'file/a.bt': '// promt: x\n' + PROGRAM, 'file/a.annotated.bt': ANNOTATED }, 'file/a.bt', /unknown header key "promt"/],
  ['free comment in header', { 'file/a.bt': '// just a comment\n' + PROGRAM, 'file/a.annotated.bt': ANNOTATED }, 'file/a.bt', /"\/\/ key: value"/],
  ['missing annotated twin', { 'file/a.bt': HEADER + PROGRAM }, 'file/a.bt', /no annotated version a\.annotated\.bt/],
  ['missing plain twin', { 'file/a.annotated.bt': HEADER + ANNOTATED }, 'file/a.annotated.bt', /no plain version a\.bt/],
  ['headers differ', { 'file/a.bt': HEADER + PROGRAM, 'file/a.annotated.bt': HEADER.replace('Count', 'Tally') + ANNOTATED }, 'file/a.annotated.bt', /header differs/],
  ['not an area', { 'disks/a.bt': HEADER + PROGRAM, 'disks/a.annotated.bt': HEADER + ANNOTATED }, 'disks', /not an area/],
  ['bad slug', { 'file/Opens_1.bt': HEADER + PROGRAM, 'file/Opens_1.annotated.bt': HEADER + ANNOTATED }, 'file/Opens_1.bt', /slug/],
  ['empty program', { 'file/a.bt': HEADER, 'file/a.annotated.bt': HEADER }, 'file/a.bt', /no program/],
  [
    'variant-of names nothing',
    { 'file/a.bt': HEADER + '// variant-of: b\n' + PROGRAM, 'file/a.annotated.bt': HEADER + '// variant-of: b\n' + ANNOTATED },
    'file/a.bt',
    /variant-of "b" names no example/,
  ],
  [
    'duplicate slug across areas',
    { 'file/a.bt': HEADER + PROGRAM, 'file/a.annotated.bt': HEADER + ANNOTATED, 'misc/a.bt': HEADER + PROGRAM, 'misc/a.annotated.bt': HEADER + ANNOTATED },
    'misc/a.bt',
    /also used by file\/a/,
  ],
];

for (const [name, files, culprit, message] of malformed) {
  t.test(`malformed: ${name}`, async (t) => {
    const dir = dataset(files);
    const err = (() => {
      try {
        loadExamples(dir);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.type(err, DatasetError);
    t.equal((err as DatasetError).file, path.join(dir, culprit), 'names the file');
    t.ok((err as Error).message.startsWith(path.join(dir, culprit)), 'the message starts with the file');
    t.match((err as Error).message, message);
  });
}
