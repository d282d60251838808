/**
 * The scripts that build and run other bpftrace versions (build-bpftrace-root.sh,
 * bpftrace-in-root.sh), on the roots already built on this host (a root not built is skipped with
 * the reason; building one takes minutes and a mirror, so no test builds one). The wrapper must
 * be bpftrace itself (same PID: kgentd's signals reach it; comm "bpftrace"), report the root's
 * version, and mount nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ROOT_CODENAMES, rootsDir } from './binaries.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BUILD = path.join(here, 'build-bpftrace-root.sh');
const RUN = path.join(here, 'bpftrace-in-root.sh');
const isRoot = process.getuid?.() === 0;

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });

t.test('build-bpftrace-root.sh refuses what it cannot build', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['no codename', [], /usage/],
    ['a codename with a slash', ['../etc'], /not a Debian codename/],
    ['an option as codename', ['--variant=x'], /not a Debian codename/],
  ];
  for (const [name, args, msg] of cases) {
    const r = run('bash', [BUILD, ...args]);
    t.equal(r.status, 1, `${name}: exit 1`);
    t.match(r.stderr, msg, `${name}: says why`);
  }
});

t.test('bpftrace-in-root.sh refuses a directory that is not a built root', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-notaroot-'));
  try {
    for (const [name, args] of [
      ['missing directory', [path.join(dir, 'nope'), '--version']],
      ['empty directory', [dir, '--version']],
      ['--write-wrapper on an empty directory', ['--write-wrapper', dir]],
    ] as [string, string[]][]) {
      const r = run('bash', [RUN, ...args]);
      t.equal(r.status, 2, `${name}: exit 2`);
      t.match(r.stderr, /bpftrace-in-root: /, `${name}: says why`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('a half-built root with something mounted inside is left alone', { skip: isRoot ? false : 'needs root (mount)' }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-halfroot-'));
  const inside = path.join(dir, 'proc');
  mkdirSync(inside);
  writeFileSync(path.join(dir, 'keep'), 'x');
  const m = run('mount', ['-t', 'tmpfs', 'kgent-test', inside]);
  try {
    t.equal(m.status, 0, 'mounted a tmpfs inside the half-built root');
    const r = run('bash', [BUILD, 'sid', dir]);
    t.equal(r.status, 1, 'refused');
    t.match(r.stderr, /has mounts inside it/);
    t.ok(existsSync(path.join(dir, 'keep')), 'nothing removed');
  } finally {
    run('umount', [inside]);
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const codename of ROOT_CODENAMES) {
  const dir = path.join(rootsDir(), codename);
  const built = existsSync(path.join(dir, '.kgent-root-complete'));
  const skip = !isRoot ? 'needs root' : built ? false : `no ${codename} root at ${dir} (test/dialects/build-bpftrace-root.sh ${codename})`;
  if (skip) console.log(`# ${codename} root skipped: ${skip}`);
  t.test(`the ${codename} root`, { skip, timeout: 120_000 }, async (t) => {
    const again = run('bash', [BUILD, codename]);
    t.equal(again.status, 0, 'building it again reuses it');
    t.match(again.stderr, /reusing/);
    const version = again.stdout.trim().split('\n').pop() ?? '';
    t.match(version, /^bpftrace v\d+\.\d+\.\d+/, `prints the version: ${version}`);
    const pkg = readFileSync(path.join(dir, '.kgent-bpftrace-package-version'), 'utf8').trim();
    t.ok(pkg.startsWith(version.replace('bpftrace v', '')), `the version is the package's (${pkg})`);

    const wrapper = path.join(dir, 'kgent-bpftrace');
    t.equal(run(wrapper, ['--version']).stdout.trim(), version, 'the written wrapper reports it');
    t.equal(run('bash', [RUN, dir, '--version']).stdout.trim(), version, 'so does bpftrace-in-root.sh');

    // Long enough to look at the process: it is bpftrace, in place of the wrapper.
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const child = spawn(wrapper, ['-e', 'interval:ms:100 { printf("tick\\n"); }', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('tick')) resolve();
      });
      setTimeout(resolve, 30_000);
    });
    const pid = child.pid!;
    t.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'bpftrace', 'comm is bpftrace');
    t.ok(readlinkSync(`/proc/${pid}/exe`).startsWith(dir), `the wrapper's PID runs the root's loader (${readlinkSync(`/proc/${pid}/exe`)})`);
    t.ok(readFileSync(`/proc/${pid}/maps`, 'utf8').includes(path.join(dir, 'usr/bin/bpftrace')), "and maps the root's bpftrace");
    t.equal(readFileSync('/proc/self/mountinfo', 'utf8'), before, 'nothing was mounted');
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', (c) => resolve(c));
      child.kill('SIGINT');
    });
    t.equal(code, 0, 'SIGINT to that PID ends it with exit 0');
  });
}
