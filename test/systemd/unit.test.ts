/** The unit file as install.sh renders it passes `systemd-analyze verify` (works without systemd running). */
import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/daemon-harness.js';

t.test('kgentd.service renders and verifies', async (t) => {
  const which = await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false });
  if (which.exitCode !== 0) return t.skip('systemd-analyze not installed');
  const template = await readFile(path.join(REPO_ROOT, 'systemd', 'kgentd.service'), 'utf8');
  t.match(template, /^User=root$/m, 'runs as root');
  t.match(template, /^RuntimeDirectory=kgent$/m, 'systemd manages /run/kgent');
  t.match(template, /^StateDirectory=kgent$/m, 'systemd manages /var/lib/kgent');
  t.match(template, /^KillMode=control-group$/m, 'stopping the unit stops every bpftrace child');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-unit-'));
  const unit = path.join(dir, 'kgentd.service');
  await writeFile(unit, template.replaceAll('@NODE@', process.execPath).replaceAll('@PREFIX@', REPO_ROOT));
  const res = await execa('systemd-analyze', ['verify', unit], { reject: false, all: true });
  const problems = String(res.all ?? '')
    .split('\n')
    .filter((l) => l.includes('kgentd.service'));
  t.same(problems, [], 'no complaint about kgentd.service');
  t.equal(res.exitCode, 0);
});

t.test('install.sh is valid bash and idempotent by construction', async (t) => {
  const script = path.join(REPO_ROOT, 'systemd', 'install.sh');
  const syntax = await execa('bash', ['-n', script], { reject: false });
  t.equal(syntax.exitCode, 0, syntax.stderr);
  const text = await readFile(script, 'utf8');
  t.match(text, /getent group kgent >\/dev\/null \|\| groupadd/, 'group created only when missing');
  t.match(text, /\[ ! -e \/etc\/kgent\/config\.json \]/, 'an existing config is kept');
  t.match(text, /\/run\/systemd\/system/, 'detects whether systemd runs');
});
