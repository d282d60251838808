/**
 * systemd/install.sh against a temp root (--root: every system path below it, nothing started):
 * a bundle is built from this checkout, installed inside a network namespace with no interfaces
 * (`unshare -n`), checked step by step, installed again (idempotent), run (kgentd from the
 * installed files on a temp socket and state dir, `kgentctl doctor`), uninstalled, then purged.
 * Never touches /opt, /etc, /usr/local/bin, /var/lib or the unit directory of this host.
 */
import t from 'tap';
import { execa } from 'execa';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, builtOrReason } from '../support/daemon-harness.js';

const SCRIPT = path.join(REPO_ROOT, 'systemd', 'install.sh');

t.setTimeout(600_000);

t.test('install.sh parses and documents its modes', async (t) => {
  t.equal((await execa('bash', ['-n', SCRIPT], { reject: false })).exitCode, 0, 'bash -n');
  const help = await execa('bash', [SCRIPT, '--help']);
  for (const word of ['--bundle', '--from-bundle', '--uninstall', '--purge', '--root', '--prefix']) t.match(help.stdout, word);
  const bad = await execa('bash', [SCRIPT, '--purge'], { reject: false });
  t.not(bad.exitCode, 0, '--purge alone is refused');
});

async function reason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (groupadd, unshare)';
  if ((await execa('unshare', ['-n', 'true'], { reject: false })).exitCode !== 0) return 'unshare -n not permitted here';
  if ((await execa('sh', ['-c', 'command -v npm && command -v bpftrace'], { reject: false })).exitCode !== 0) return 'npm or bpftrace missing';
  return builtOrReason();
}

t.test('bundle, offline install, doctor, reinstall, uninstall, purge', async (t) => {
  const why = await reason();
  if (why) return t.skip(why);
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-install-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, 'kgent-bundle.tar.gz');
  const root = path.join(dir, 'root');
  const sh = (script: string, opts: { net?: boolean } = {}) =>
    execa(opts.net === false ? 'unshare' : 'bash', opts.net === false ? ['-n', 'bash', '-c', script] : ['-c', script], { reject: false, all: true, timeout: 300_000 });

  // 1. The bundle, from this checkout's build (--no-build: the suite built it already).
  let t0 = Date.now();
  const made = await execa('bash', [SCRIPT, '--bundle', bundle, '--no-build'], { reject: false, all: true, timeout: 300_000 });
  t.equal(made.exitCode, 0, `bundle written: ${String(made.all).slice(-600)}`);
  const sizeMb = statSync(bundle).size / 1e6;
  t.comment(`bundle: ${sizeMb.toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const list = (await execa('tar', ['-tzf', bundle], { maxBuffer: 256 * 1024 * 1024 })).stdout.split('\n');
  for (const f of [
    'kgent/BUNDLE-INFO',
    'kgent/systemd/install.sh',
    'kgent/systemd/kgentd.service',
    'kgent/dist/daemon/main.js',
    'kgent/dist/cli/bin.js',
    'kgent/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    'kgent/daemon/llm/prompts/synthesis-system.txt',
    'kgent/kernel-contracts/prompts/',
    // kgentctl mcp's runtime dependencies
    'kgent/node_modules/@modelcontextprotocol/sdk/package.json',
    'kgent/node_modules/zod/package.json',
  ]) {
    t.ok(list.includes(f), `bundle carries ${f}`);
  }
  t.ok(list.some((f) => /^kgent\/node_modules\/@lancedb\/lancedb-linux-[^/]+\/[^/]+\.node$/.test(f)), "bundle carries LanceDB's native package");
  t.ok(list.some((f) => f.startsWith('kgent/datasets/examples/') && f.endsWith('.bt')), 'bundle carries the examples');
  if (existsSync(path.join(REPO_ROOT, 'dist', 'native', 'peercred.node'))) t.ok(list.includes('kgent/dist/native/peercred.node'), 'bundle carries the peercred addon');
  t.notOk(list.some((f) => /^kgent\/node_modules\/(typescript|tap|dependency-cruiser)\//.test(f)), 'no dev dependencies');
  t.notOk(list.some((f) => f.startsWith('kgent/dist/test/')), 'no compiled tests');

  // 2. Offline install: no interface but a downed loopback in this network namespace.
  const links = await sh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "', { net: false });
  t.same(links.stdout.trim().split('\n'), ['lo'], 'the install namespace has no network interface');
  const install = `cd ${dir} && tar -xzf ${bundle} kgent/systemd/install.sh && bash kgent/systemd/install.sh --from-bundle ${bundle} --root ${root}`;
  t0 = Date.now();
  const first = await sh(install, { net: false });
  const installSecs = (Date.now() - t0) / 1000;
  t.equal(first.exitCode, 0, `installed offline: ${String(first.all).slice(-800)}`);
  t.comment(`offline install from the bundle: ${installSecs.toFixed(1)} s`);
  const prefix = path.join(root, 'opt', 'kgent');
  for (const f of ['dist/daemon/main.js', 'dist/cli/bin.js', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'daemon/llm/prompts', 'datasets/examples', 'BUNDLE-INFO']) {
    t.ok(existsSync(path.join(prefix, f)), `installed ${f}`);
  }
  t.notOk(existsSync(path.join(prefix, 'node_modules', 'typescript')), 'no dev dependencies installed');
  t.equal(readlinkSync(path.join(root, 'usr/local/bin/kgentctl')), path.join(prefix, 'dist/cli/bin.js'), 'kgentctl linked');
  t.equal(readlinkSync(path.join(root, 'usr/local/bin/kgentd')), path.join(prefix, 'dist/daemon/main.js'), 'kgentd linked');
  const groups = readFileSync(path.join(root, 'etc/group'), 'utf8');
  t.match(groups, /^kgent:x:\d+:$/m, 'group kgent created (in the temp root)');
  t.match(groups, /^kgent-admin:x:\d+:$/m, 'group kgent-admin created (in the temp root)');
  const config = path.join(root, 'etc/kgent/config.json');
  t.doesNotThrow(() => JSON.parse(readFileSync(config, 'utf8')), 'default config is JSON');
  t.equal(statSync(path.join(root, 'var/lib/kgent')).mode & 0o777, 0o750, 'state dir 0750');
  const unit = readFileSync(path.join(root, 'etc/systemd/system/kgentd.service'), 'utf8');
  t.notMatch(unit, /@NODE@|@PREFIX@/, 'unit rendered');
  t.match(unit, `ExecStart=${process.execPath} --max-semi-space-size=8 ${prefix}/dist/daemon/main.js`, 'unit runs the installed daemon with this node');

  // 3. Again: idempotent, the admin's config kept, groups not duplicated.
  await writeFile(config, '{ "trials": 2 }\n');
  const second = await sh(install, { net: false });
  t.equal(second.exitCode, 0, `second install: ${String(second.all).slice(-400)}`);
  t.equal(readFileSync(config, 'utf8'), '{ "trials": 2 }\n', 'existing config kept');
  t.equal(readFileSync(path.join(root, 'etc/group'), 'utf8').match(/^kgent:/gm)?.length, 1, 'kgent once in /etc/group');
  t.match(readFileSync(path.join(prefix, '.install-record'), 'utf8'), /group=kgent-admin/, 'created groups still recorded');

  // 4. The installed daemon, offline, on a temp socket and state dir; kgentctl doctor.
  const run = path.join(dir, 'run-daemon.sh');
  await writeFile(path.join(dir, 'test-config.json'), JSON.stringify({ contracts: { rebuildOnStart: false, watchPaths: [] } }));
  await writeFile(
    run,
    `set -u
KGENT_CONFIG=${dir}/test-config.json LANCEDB_LOG=error ${process.execPath} ${root}/usr/local/bin/kgentd --socket ${dir}/s/kgentd.sock --state-dir ${dir}/state > ${dir}/kgentd.log 2>&1 &
P=$!
for i in $(seq 1 120); do [ -S ${dir}/s/kgentd.sock ] && break; sleep 0.25; done
${root}/usr/local/bin/kgentctl --socket ${dir}/s/kgentd.sock --json doctor > ${dir}/doctor.json; echo "doctor exit $?"
${root}/usr/local/bin/kgentctl --socket ${dir}/s/kgentd.sock --json examples list > ${dir}/examples.json; echo "examples exit $?"
# kgentctl mcp from the installed files: initialize and tools/list as JSON-RPC lines; stdin ends after 3 s.
printf '%s\\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"install-test","version":"1"}}}' '{"jsonrpc":"2.0","method":"notifications/initialized"}' '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | (cat; sleep 3) | ${root}/usr/local/bin/kgentctl --socket ${dir}/s/kgentd.sock mcp > ${dir}/mcp.out 2> ${dir}/mcp.err; echo "mcp exit $?"
kill $P; wait $P
`,
  );
  const doctor = await sh(`bash ${run}`, { net: false });
  t.match(doctor.stdout, 'doctor exit 0', `kgentctl doctor passes against the installed daemon: ${doctor.all} ${existsSync(path.join(dir, 'kgentd.log')) ? readFileSync(path.join(dir, 'kgentd.log'), 'utf8').slice(-600) : ''}`);
  if (existsSync(path.join(dir, 'doctor.json'))) {
    const checks = (JSON.parse(readFileSync(path.join(dir, 'doctor.json'), 'utf8')) as { checks: { name: string; status: string }[] }).checks;
    t.equal(checks.find((c) => c.name === 'bpftrace')?.status, 'ok', 'doctor: bpftrace ok');
    t.same(checks.filter((c) => c.status === 'fail'), [], 'doctor: no failed check');
  }
  t.match(doctor.stdout, 'mcp exit 0', 'the installed kgentctl mcp ran');
  const mcpOut = existsSync(path.join(dir, 'mcp.out')) ? readFileSync(path.join(dir, 'mcp.out'), 'utf8') : '';
  t.match(mcpOut, /"serverInfo":\{"name":"kgent"/, 'the installed kgentctl mcp answers initialize');
  t.match(mcpOut, /"name":"request"/, 'and lists its tools');
  // The library loads the shipped examples (in a child process) before it answers a list.
  const listed = existsSync(path.join(dir, 'examples.json')) ? (JSON.parse(readFileSync(path.join(dir, 'examples.json'), 'utf8') || '{}') as { examples?: unknown[] }) : {};
  t.ok((listed.examples?.length ?? 0) >= 120, `the examples shipped in the bundle load (${listed.examples?.length ?? 0} listed)`);

  // 5. Uninstall keeps config and state; purge removes them.
  await mkdir(path.join(root, 'var/lib/kgent/programs'), { recursive: true });
  const un = await sh(`bash ${prefix}/systemd/install.sh --uninstall --root ${root}`);
  t.equal(un.exitCode, 0, `uninstall: ${String(un.all).slice(-400)}`);
  t.notOk(existsSync(prefix), '/opt/kgent removed');
  t.notOk(existsSync(path.join(root, 'usr/local/bin/kgentctl')), 'kgentctl link removed');
  t.notOk(existsSync(path.join(root, 'usr/local/bin/kgentd')), 'kgentd link removed');
  t.notOk(existsSync(path.join(root, 'etc/systemd/system/kgentd.service')), 'unit removed');
  t.notMatch(readFileSync(path.join(root, 'etc/group'), 'utf8'), /^kgent(-admin)?:/m, 'groups removed');
  t.ok(existsSync(config), 'config kept');
  t.ok(existsSync(path.join(root, 'var/lib/kgent/programs')), 'state kept');
  const again = await sh(`bash ${SCRIPT} --uninstall --root ${root}`);
  t.equal(again.exitCode, 0, 'uninstall twice is fine');
  const purge = await sh(`bash ${SCRIPT} --uninstall --purge --root ${root}`);
  t.equal(purge.exitCode, 0, `purge: ${String(purge.all).slice(-300)}`);
  for (const p of ['etc/kgent', 'var/lib/kgent', 'var/log/kgent']) t.notOk(existsSync(path.join(root, p)), `${p} purged`);
});

t.test('from a bundle with a too old Node: the missing packages and the apt command, nothing installed', async (t) => {
  const why = await reason();
  if (why) return t.skip(why);
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-install-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A minimal bundle directory is enough: the package check runs before anything is copied.
  const b = path.join(dir, 'kgent');
  await mkdir(b);
  const abi = process.versions.modules;
  await writeFile(path.join(b, 'BUNDLE-INFO'), `version=0.0.0\ncommit=test\narch=${process.arch === 'x64' ? 'x86_64' : process.arch}\nnode=20.20.0\nnode_abi=${abi}\n`);
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'node'), `#!/bin/sh\ncase "$*" in *modules*) echo ${abi};; *) echo 18.19.0;; esac\n`);
  await chmod(path.join(bin, 'node'), 0o755);
  const r = await execa('bash', [SCRIPT, '--from-bundle', b, '--root', path.join(dir, 'root')], {
    reject: false,
    all: true,
    env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
  t.not(r.exitCode, 0, 'refuses');
  t.match(String(r.all), /missing OS packages: .*nodejs>=20\.19/, 'says nodejs is missing');
  t.match(String(r.all), /apt-get install .*nodejs/, 'gives the apt command');
  t.notOk(existsSync(path.join(dir, 'root', 'opt')), 'nothing installed');
});
