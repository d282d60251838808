/**
 * Client input cannot block the event loop: every text a client sends (programs, names, attach
 * points) goes through code that is linear in its size. Each case is 64 KB of what makes a
 * backtracking regular expression or a recursive parser blow up, through every pure stage a
 * program passes before bpftrace: default name, parse + lints, the kernel check's copy, and
 * bpftrace's echoed diagnostics. Then the same through the real daemon, with another client
 * answered meanwhile.
 */
import t from 'tap';
import net from 'node:net';
import { defaultName } from '../../daemon/programs/default-name.js';
import { analyzeProgram } from '../../daemon/programs/program-analysis.js';
import { loadedCopy } from '../../daemon/kernel-check/check-copy.js';
import { diagnosticsFromBpftrace } from '../../daemon/kernel-check/bpftrace-output.js';
import { parse } from '../../daemon/verifier/frontend/index.js';
import { builtOrReason, createDaemon } from '../support/daemon-harness.js';

const N = 64 * 1024;
const probes = { isAvailable: () => true, reason: () => '' };

const CASES: Record<string, string> = {
  'blank lines': '\n'.repeat(N) + 'x',
  'space and newline': ' \n'.repeat(N / 2) + 'x',
  spaces: ' '.repeat(N) + 'x',
  'comment of spaces': '//' + ' '.repeat(N) + 'x',
  'comment lines': '// \n'.repeat(N / 4),
  'star lines': ' *\n'.repeat(N / 3),
  slashes: '/'.repeat(N),
  'open comment': '/*' + '*'.repeat(N),
  'directive of spaces': '#' + ' '.repeat(N) + 'x',
  'define of spaces': '#define X' + ' '.repeat(N) + 'x\nBEGIN{}',
  'typedef without semicolon': 'typedef ' + 'a'.repeat(N) + ' b\nBEGIN{}',
  'long typedef name': 'typedef int ' + 'a'.repeat(N) + 'b;\nBEGIN{}',
  colons: 'a:'.repeat(N / 2),
  'identifier then colon': 'a'.repeat(N) + ':',
  'probe of colons': 'tracepoint:' + ':a'.repeat(N / 2),
  'glob attach points': `tracepoint:s:${'*a'.repeat(2000)}b { @x[tid] = 1; } tracepoint:s:${'a'.repeat(4000)} { delete(@x[tid]); }`,
  'huge exponent': 'BEGIN { $x = 1e999999999; }',
  'nested parentheses': `BEGIN { $x = ${'('.repeat(100_000)}1${')'.repeat(100_000)}; }`,
  'nested blocks': `BEGIN ${'{'.repeat(50_000)}${'}'.repeat(50_000)}`,
  'long sum': `BEGIN { $x = ${'1+'.repeat(N / 2)}1; }`,
  'long field chain': `BEGIN { $x = a${'.b'.repeat(N / 2)}; }`,
  'unterminated strings': '"\\'.repeat(N / 2),
  'printf percent': `BEGIN { printf("${'%'.repeat(N)}"); }`,
};

t.test('64 KB of pathological input takes milliseconds in every stage', async (t) => {
  for (const [name, src] of Object.entries(CASES)) {
    const stages: [string, () => unknown][] = [
      ['defaultName', () => defaultName(src)],
      ['parse', () => parse(src)],
      ['analyzeProgram', () => analyzeProgram(src, 'f.bt', probes, { allowUnsafe: false })],
      ['loadedCopy', () => loadedCopy(src, 'M')],
      ['bpftrace diagnostics', () => diagnosticsFromBpftrace(`f.bt:1:1-2: ERROR: x\n${src}\n~~~\n${src}`, 'f.bt', 3)],
    ];
    for (const [stage, fn] of stages) {
      const started = performance.now();
      t.doesNotThrow(fn, `${name}: ${stage} does not throw`);
      const ms = performance.now() - started;
      t.ok(ms < 500, `${name}: ${stage} took ${ms.toFixed(0)} ms`);
    }
  }
});

t.test('deep nesting is a parse diagnostic, not a stack overflow', async (t) => {
  const r = parse(CASES['nested parentheses']!);
  t.equal(r.program, undefined);
  t.match(r.diagnostics[0], { code: 'parse.too-deep', stage: 'parse', severity: 'error' });
  t.ok(parse(`BEGIN { $x = ${'('.repeat(100)}1${')'.repeat(100)}; }`).program, '100 levels still parse');
});

t.test('default names as before: first comment line, else first attach point', async (t) => {
  const table: [string, string][] = [
    ['// count opens\ntracepoint:a:b {}', 'count opens'],
    ['/* block comment */\nBEGIN {}', 'block comment'],
    ['#!/usr/bin/bpftrace\n/*!x*/\ntracepoint:a:b { }', 'tracepoint:a:b'],
    ['#include <linux/sched.h>\nkprobe:do_sys_open { }', 'kprobe:do_sys_open'],
    ['  BEGIN { exit(); }', 'BEGIN'],
    ['// ab\ninterval:s:1 {}', 'interval:s:1'],
    ['', 'program'],
  ];
  for (const [src, want] of table) t.equal(defaultName(src), want, JSON.stringify(src));
});

const skip = builtOrReason();

t.test('through the daemon: a 256 KB run without a name does not block other clients', { skip }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const big = '\n'.repeat(250 * 1024) + 'x';
  const heavy = call(d.socket, 'programs.run', { source: big });
  // Meanwhile, another client's status must come back quickly.
  const started = performance.now();
  const status = await call(d.socket, 'daemon.status', {});
  const statusMs = performance.now() - started;
  t.ok('result' in status, 'status answered');
  t.ok(statusMs < 2000, `status answered in ${statusMs.toFixed(0)} ms while the big run was handled`);
  const res = await heavy;
  t.ok('result' in res || 'error' in res, 'the big run got an answer');
  const deep = await call(d.socket, 'programs.check', { source: CASES['nested parentheses']!.slice(0, 200_000) });
  t.notOk('error' in deep && (deep.error as { code: number }).code === -32603, 'no internal error');
  t.match(JSON.stringify(deep), /parse\.too-deep/);
});

function call(socket: string, method: string, params: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        c.destroy();
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      }
    });
    c.on('error', reject);
    c.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`);
  });
}
