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
import { asUser, createUsers, userTag } from '../support/real-users.js';
import { execa } from 'execa';
import { chmod } from 'node:fs/promises';

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
      // Linear work is milliseconds; a quadratic stage on 64 KB takes many seconds. The bound
      // leaves room for a collection pause on a loaded CI machine.
      t.ok(ms < 1500, `${name}: ${stage} took ${ms.toFixed(0)} ms`);
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

/**
 * A client's bytes must become messages in time: a request line has policy.requestLineTimeoutMs
 * from its first byte to its newline, and only complete messages re-arm the idle timeout. Each
 * case trickles as a real member of the socket's group (a test user), the way the review did.
 */
const TRICKLE = `
  const [socket, mode, every] = process.argv.slice(1);
  const c = require('net').connect(socket);
  const t0 = Date.now();
  let got = '';
  const request = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'daemon.status', params: {} }) + '\\n';
  let i = 0;
  const next = () => {
    switch (mode) {
      case 'bytes': return request[i++ % request.length];
      case 'spaces': return ' ';
      case 'blank': return '\\n';
      case 'big': return 'x'.repeat(64 * 1024);
      case 'split': return i < 3 ? request.slice(i * 40, ++i * 40) + (i === 3 ? request.slice(120) : '') : undefined;
    }
  };
  const timer = setInterval(() => { const b = next(); if (b !== undefined && !c.destroyed) c.write(b); }, Number(every));
  c.on('data', (d) => { got += d; if (mode === 'split' && got.includes('\\n')) c.end(); });
  c.on('close', () => { clearInterval(timer); console.log(JSON.stringify({ ms: Date.now() - t0, got })); process.exit(0); });
  c.on('error', () => undefined);
  setTimeout(() => { console.log(JSON.stringify({ ms: Date.now() - t0, got, still: true })); process.exit(0); }, 15000);`;

const asMember = process.getuid?.() !== 0 ? 'needs root (useradd)' : builtOrReason();

t.test('slow or endless request lines cannot hold a connection (real member)', { skip: asMember }, async (t) => {
  const tag = userTag();
  const group = `kgim${tag}`;
  const user = `kgimu${tag}`;
  t.teardown(await createUsers([group], { [user]: [group] }));
  const d = await createDaemon({ config: { socketGroup: group, policy: { requestLineTimeoutMs: 1000, idleTimeoutMs: 2500 } } });
  t.teardown(() => d.cleanup());
  await chmod(d.dir, 0o711);
  await d.start();
  const trickle = async (mode: string, every: number) => {
    const r = await execa('runuser', asUser(user, ['-e', TRICKLE, d.socket, mode, String(every)]), { reject: false, timeout: 30_000 });
    return JSON.parse(r.stdout.trim().split('\n')[0]!) as { ms: number; got: string; still?: boolean };
  };
  const cases: [string, string, number, RegExp, number][] = [
    ['one byte every 200 ms', 'bytes', 200, /request line not completed within 1000 ms of its first byte, closed by kgentd \(policy.requestLineTimeoutMs\)/, 1000],
    ['spaces without a newline', 'spaces', 100, /request line not completed within 1000 ms/, 1000],
    ['an oversized line, slowly', 'big', 100, /request line not completed within 1000 ms/, 1000],
    ['a blank line every 200 ms', 'blank', 200, /connection idle for 2500 ms, closed by kgentd/, 2500],
  ];
  for (const [name, mode, every, message, bound] of cases) {
    const r = await trickle(mode, every);
    t.notOk(r.still, `${name}: closed by kgentd`);
    t.ok(r.ms >= bound - 200 && r.ms < bound + 3000, `${name}: closed after ${r.ms} ms`);
    const lines = r.got.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: unknown; error?: { code: number; message: string } });
    const last = lines.at(-1);
    t.match(last, { id: null, error: { code: -32007, message } }, `${name}: a JSON-RPC error line says why`);
  }
  const split = await trickle('split', 150);
  t.match(split.got, /"id":7,"result":/, 'a line sent in pieces within the bound is served');
});
