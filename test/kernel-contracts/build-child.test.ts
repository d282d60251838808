/**
 * The parent side of a contracts build in a child process (rebuild/build-child.ts): progress lines
 * reach `onProgress` in order, the child's pino lines its logger, the result line the promise; an
 * error line or a bad exit rejects with why. A small stand-in script plays the child.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { RebuildProgress } from '../../kernel-contracts/api.js';
import { runBuildChild } from '../../kernel-contracts/rebuild/build-child.js';

const CHILD = `
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const mode = process.argv[2];
out({ progress: { generation: 0, phase: 'identity', done: 0, total: 1, message: 'reading', elapsedMs: 1 } });
out({ level: 40, msg: 'embedding model unavailable', model: 'm' });
out({ progress: { generation: 3, phase: 'functions', done: 5, total: 10, message: 'half', elapsedMs: 2 } });
if (mode === 'ask') {
  // Vectors are asked of the parent on stdout; its answer comes on stdin.
  out({ ask: { qid: 1, question: 'embed', args: [['tcp connect', 'disk']] } });
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d) => {
    buf += d;
    if (!buf.includes('\\n')) return;
    const { answer } = JSON.parse(buf.slice(0, buf.indexOf('\\n')));
    if (answer.error) { out({ error: 'asked: ' + answer.error.message }); process.exit(1); }
    out({ result: { generation: 4, identity: { key: 'k' }, info: { buildMs: 1, vectors: answer.value } } });
    process.exit(0);
  });
} else
if (mode === 'ok') { out({ result: { generation: 3, identity: { key: 'k' }, info: { buildMs: 7 } } }); process.exit(0); }
else if (mode === 'error') { out({ error: 'no BTF here' }); process.exit(1); }
else { process.stderr.write('boom\\n'); process.exit(3); }
`;

t.test('progress, log lines and the result come back from the child', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-build-child-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
  const logged: { level: string; obj: object; msg?: string }[] = [];
  const log = {
    info: (obj: object, msg?: string) => logged.push({ level: 'info', obj, ...(msg ? { msg } : {}) }),
    warn: (obj: object, msg?: string) => logged.push({ level: 'warn', obj, ...(msg ? { msg } : {}) }),
    error: (obj: object, msg?: string) => logged.push({ level: 'error', obj, ...(msg ? { msg } : {}) }),
  };
  const seen: RebuildProgress[] = [];
  const r = await runBuildChild({ script, args: ['ok'], onProgress: (p) => seen.push(p), log });
  t.match(r, { generation: 3, identity: { key: 'k' } });
  t.same(seen.map((p) => [p.phase, p.done, p.total]), [['identity', 0, 1], ['functions', 5, 10]]);
  t.match(logged, [{ level: 'warn', obj: { model: 'm', build: 'child' }, msg: 'embedding model unavailable' }]);

  await t.rejects(runBuildChild({ script, args: ['error'], onProgress: () => undefined, log }), /^no BTF here$/, 'the error line is the reason');
  await t.rejects(runBuildChild({ script, args: ['crash'], onProgress: () => undefined, log }), /exited 3: boom/, 'else the exit status and stderr');
});

t.test('a child asks its parent for vectors: answered by embed, refused without one', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-build-child-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const asked: string[][] = [];
  const r = await runBuildChild({ script, args: ['ask'], onProgress: () => undefined, log, embed: async (texts) => (asked.push([...texts]), texts.map((x) => [x.length, 1])) });
  t.same(asked, [['tcp connect', 'disk']], 'the texts came to the parent');
  t.same((r.info as unknown as { vectors: number[][] }).vectors, [[11, 1], [4, 1]], 'the vectors went back to the child');
  await t.rejects(runBuildChild({ script, args: ['ask'], onProgress: () => undefined, log }), /^asked: the build child asked "embed", which is not answered$/, 'no embed: the child is told so');
});
