/**
 * kgentctl at a terminal and in pipes: a closed pipe, a binary file, what is at the socket path,
 * doctor without kgentd, per-command help and option errors, example IDs by slug. The real
 * kgentctl binary, the real kgentd where one is needed, real sockets, real pipes.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { joinDashValues } from '../../cli/args.js';
import { commandHelp } from '../../cli/command-help.js';
import { examplesCommand } from '../../cli/commands/examples-command.js';
import { HELP, main } from '../../cli/main.js';
import { notText, readProgramFile } from '../../cli/program-file.js';
import { pino } from 'pino';
import type { Example } from '../../datasets/load.js';
import { registerExampleMethods } from '../../daemon/retrieval/examples-methods.js';
import { ExampleLibrary } from '../../daemon/retrieval/library.js';
import { builtOrReason, CLI_JS, createDaemon, eventually } from '../support/daemon-harness.js';
import { InProcessServer, ROOT_PEER } from '../support/in-process-server.js';
import { rightsFor } from '../support/temp-rights.js';

function bufferIo() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

/** Nothing a terminal would act on: printable text, tabs and newlines only. */
const PRINTABLE = /^[\t\n\x20-\x7e\u00a0-\uffff]*$/;

const built = builtOrReason();
const tmp = mkdtempSync(path.join(tmpdir(), 'kgent-terminal-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

t.test('a file that is not a text program is refused in one line, by every command that reads one', async (t) => {
  const utf16 = Buffer.from('\ufefftracepoint:syscalls:sys_enter_read { }', 'utf16le');
  const files: Record<string, Buffer> = {
    'elf.bt': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]),
    'nul.bt': Buffer.from('BEGIN { exit(); }\n\0\0'),
    'latin1.bt': Buffer.from([0x42, 0x45, 0x47, 0x49, 0x4e, 0x20, 0xe9, 0x7b, 0x7d]),
    'utf16.bt': utf16,
    'escape.bt': Buffer.from('BEGIN { printf("\x1b[2J"); }\n'),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(tmp, name), bytes);
  for (const name of Object.keys(files)) {
    const r = await readProgramFile(path.join(tmp, name));
    t.equal(r.ok, false, `${name} refused`);
    if (!r.ok) t.match(r.message, /is not a text program \(.+\); give a bpftrace source file/, name);
  }
  t.equal(notText(Buffer.from('BEGIN { printf("héllo\\t%d\\n", 1); }\r\n\f')), undefined, 'UTF-8 with tabs, CR and form feed is text');
  t.match(notText(files['latin1.bt']!), /not UTF-8 at offset 6/);

  // The real binary, with /bin/ls: one short printable line, exit 2, for run, check and verify.
  for (const args of [['check', '/bin/ls'], ['run', '/bin/ls'], ['verify', '/bin/ls'], ['verify', '--local', '/bin/ls'], ['check', tmp]]) {
    const r = await execa(process.execPath, [CLI_JS, '--socket', path.join(tmp, 'none.sock'), ...args], { reject: false, encoding: 'buffer' });
    const err = Buffer.from(r.stderr).toString('utf8');
    t.equal(r.exitCode, 2, `${args.join(' ')} -> 2`);
    t.equal(Buffer.from(r.stdout).length, 0, 'nothing on stdout');
    t.ok(err.length < 300 && err.trim().split('\n').length === 1, `one line: ${err.trim()}`);
    t.match(err, PRINTABLE, 'no raw bytes on the terminal');
  }
});

t.test('what is at the socket path decides the message', { skip: built ?? false }, async (t) => {
  // A socket left by a killed server: the file is there, nothing listens.
  const stale = path.join(tmp, 'stale.sock');
  const child = execa(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { reject: false });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await child;
  writeFileSync(path.join(tmp, 'plain'), 'x');
  const cases: [string, RegExp][] = [
    [stale, /^kgentctl status: kgentd is not running: nothing listens on the socket .*stale\.sock \(left by a kgentd that stopped or was killed\); start a kgentd on it \(kgentd --socket .*stale\.sock\)/],
    ['/etc/passwd', /^kgentctl status: \/etc\/passwd is a regular file, not kgentd's socket; check --socket or KGENT_SOCKET/],
    [tmp, /is a directory, not kgentd's socket/],
    ['/etc/passwd/x', /\/etc\/passwd\/x is not a socket path/],
    [path.join(tmp, 'absent.sock'), /kgentd is not running \(no socket at .*absent\.sock\); start a kgentd on it/],
  ];
  for (const [socket, re] of cases) {
    const b = bufferIo();
    t.equal(await main(['--socket', socket, 'status'], b.io, {}), 3, `${socket} -> 3`);
    t.match(b.out.stderr, re);
    t.notMatch(b.out.stderr, /systemctl start kgentd/, 'systemd starts the kgentd of the default socket, not this one');
    t.equal(b.out.stderr.split('\n').length, 2, 'one line');
  }
});

t.test('doctor with kgentd down reports kgentd once, then checks the host', async (t) => {
  const b = bufferIo();
  const code = await main(['--socket', path.join(tmp, 'absent.sock'), 'doctor'], b.io, { OLLAMA_HOST: 'http://127.0.0.1:9', KGENT_CONFIG: path.join(tmp, 'no-config.json') });
  t.equal(code, 1);
  const lines = b.out.stdout.split('\n');
  t.match(lines[0], /^fail  kgentd\s+kgentd is not running/);
  t.equal(lines.filter((l) => /^\S+\s+kgentd\b/.test(l)).length, 1, 'kgentd reported once');
  t.match(b.out.stdout, /\n(ok|fail) +bpftrace +/, 'bpftrace checked');
  t.match(b.out.stdout, /\n(ok|fail) +tracefs +/, 'tracefs checked');
  t.match(b.out.stdout, /\n(ok|warn) +kernel BTF +/);
  t.match(b.out.stdout, /\nwarn +probe type kprobe +unavailable: .*\n +fix: boot a kernel built with CONFIG_KPROBES=y/, 'kprobes are not on this host: what would enable them');
  t.match(b.out.stdout, /\nwarn +config +cannot read config/, 'an unreadable config is said, and the defaults used');
  t.notMatch(b.out.stdout, /fix: programs using it are refused/, 'a consequence is not a fix');
  t.match(b.out.stdout, /\nwarn +ollama +not reachable at http:\/\/127\.0\.0\.1:9/);
  t.notMatch(b.out.stdout, /\n\S+ +(socket|state dir) /, 'kgentd-only checks are left out');
});

t.test('every command has its own help; option errors are one line of ours', async (t) => {
  for (const cmd of ['status', 'doctor', 'request', 'hint', 'requests', 'cancel', 'show', 'run', 'check', 'list', 'approve', 'stop', 'logs']) {
    for (const argv of [[cmd, '--help'], [cmd, '-h'], ['help', cmd], ['--json', cmd, '--help']]) {
      const b = bufferIo();
      t.equal(await main(argv, b.io, {}), 0, argv.join(' '));
      t.equal(b.out.stdout, commandHelp(cmd));
      t.match(b.out.stdout, new RegExp(`^Usage: kgentctl ${cmd}\\b`));
      t.not(b.out.stdout, HELP);
    }
  }
  for (const [cmd, re] of [['verify', /kgentctl verify/], ['contracts', /kgentctl contracts/], ['examples', /kgentctl examples/], ['eval', /kgentctl eval/]] as const) {
    const b = bufferIo();
    t.equal(await main([cmd, '--help'], b.io, {}), 0);
    t.match(b.out.stdout, re);
  }
  const cases: [string[], RegExp][] = [
    [['logs', '1', '-n', '-5'], /^kgentctl logs: -n wants a count of entries \(0 or more\), got "-5"\n$/],
    [['logs', '1', '--lines', '-5'], /^kgentctl logs: -n wants a count of entries \(0 or more\), got "-5"\n$/],
    [['logs', '1', '-n'], /^kgentctl logs: -n \/ --lines needs a value; see kgentctl logs --help\n$/],
    [['logs', '1', '--bogus'], /^kgentctl logs: unknown option --bogus; see kgentctl logs --help\n$/],
    [['status', '--all=yes'], /^kgentctl status: --all takes no value; see kgentctl status --help\n$/],
    [['--bogus'], /^kgentctl: unknown option --bogus; see kgentctl --help\n$/],
    [['examples', 'list', '--bogus'], /^kgentctl examples: unknown option --bogus; see kgentctl examples --help\n$/],
    [['contracts', 'search', '-k'], /^kgentctl contracts: -k \/ --k needs a value; see kgentctl contracts --help\n$/],
    [['eval', '--trials'], /^kgentctl eval: --trials needs a value; see kgentctl eval --help\n$/],
    [['request', '--trials', '-1', 'x'], /^kgentctl request: --trials wants a number from 1 to 10, got "-1"\n$/],
  ];
  for (const [argv, re] of cases) {
    const b = bufferIo();
    t.equal(await main(argv, b.io, {}), 2, argv.join(' '));
    t.match(b.out.stderr, re);
  }
  t.same(joinDashValues(['-n', '-5', '-f'], { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } }), ['--lines=-5', '-f']);
  t.same(joinDashValues(['-n', '-f'], { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } }), ['-n', '-f'], 'an option after -n stays an option');
  t.same(joinDashValues(['--', '-n', '-5'], { lines: { type: 'string', short: 'n' } }), ['--', '-n', '-5']);
});

t.test('examples show and remove take a unique slug', async (t) => {
  const fixture = (area: string, slug: string): Example => ({
    id: `${area}/${slug}`, area, slug, prompt: `${slug} prompt`, tags: [], hooks: ['tracepoint:sched:sched_switch'],
    program: 'tracepoint:sched:sched_switch { @ = count(); }', annotated: 'tracepoint:sched:sched_switch { @ = count(); }', file: `/x/${slug}.bt`, annotatedFile: `/x/${slug}.annotated.bt`,
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-terminal-examples-'));
  const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => [fixture('network', 'tcp-retransmits'), fixture('network', 'twice'), fixture('sched', 'twice')], logger: pino({ level: 'silent' }) });
  t.teardown(() => {
    lib.close();
    return lib.ready.then(() => rmSync(dir, { recursive: true, force: true }));
  });
  const server = new InProcessServer();
  const { rights } = await rightsFor(dir);
  await rights.admit(ROOT_PEER);
  registerExampleMethods(server, lib, rights);
  const client = server.client();
  let b = bufferIo();
  t.equal(await examplesCommand(['show', 'tcp-retransmits'], b.io, async () => client), 0);
  t.match(b.out.stdout, /^id\s+network\/tcp-retransmits/);
  b = bufferIo();
  await t.rejects(examplesCommand(['show', 'twice'], b.io, async () => client), { message: /"twice" names 2 entries: network\/twice, sched\/twice; give one of them/ });
  await t.rejects(examplesCommand(['show', 'nothing-like-it'], b.io, async () => client), { message: /^no example "nothing-like-it" \(kgentctl examples list shows the IDs/, exitCode: 4 });
  // An ID of the wrong shape is refused by kgentd in words, not with its pattern.
  await t.rejects(client.call((await import('../../daemon/protocol/index.js')).ExamplesShow, { id: 'Bad Id/?' }), { message: /must be an example ID: AREA\/SLUG, learned\/N or avoid\/N/ });
});

t.test('a closed pipe ends kgentctl quietly', { skip: (process.getuid?.() !== 0 ? 'needs root (attaches a program)' : built) ?? false, timeout: 120_000 }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'tick.bt');
  writeFileSync(file, 'interval:ms:20 { printf("tick %d\\n", elapsed); }\n');
  const run = await d.ctl(['run', file]);
  t.equal(run.exitCode, 0, run.stderr);
  const id = /program (\d+) running/.exec(run.stdout)![1]!;
  await eventually(async () => (await d.ctl(['--json', 'logs', id, '-n', '1000'])).stdout.split('\n').length > 200, 20_000, 'a screenful of output');
  const ctl = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_JS)} --socket ${JSON.stringify(d.socket)}`;
  for (const pipeline of [`${ctl} logs ${id} -f | head -3`, `${ctl} logs ${id} -n 1000 | head -1`, `${ctl} --json logs ${id} -f -n 0 | head -1`, `${ctl} logs ${id} -f 2>&1 | head -2`]) {
    const r = await execa('bash', ['-c', `${pipeline}; echo "status=\${PIPESTATUS[0]}" >&2`], { reject: false, timeout: 30_000 });
    t.notMatch(r.stderr, /EPIPE|Error|\n\s+at /, `${pipeline}: no stack`);
    t.match(r.stderr, /^status=(0|141)\n?$/, `${pipeline}: nothing on stderr but the status (${r.stderr.trim()})`);
    t.ok(r.stdout.split('\n').length <= 4, 'head got its lines');
  }
  // -f keeps writing, so it must see the closed pipe: the status of a tool that SIGPIPE stopped.
  const f = await execa('bash', ['-c', `${ctl} logs ${id} -f | head -3; echo "\${PIPESTATUS[0]}"`], { reject: false });
  t.equal(f.stdout.trim().split('\n').at(-1), '141');
  await d.ctl(['stop', id]);
});
