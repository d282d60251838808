/**
 * uprobe/usdt targets for callers who may not read host files (daemon/policy/probe-targets.ts),
 * against real files, modes and symlinks in a temp dir.
 */
import t from 'tap';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hiddenProbeTargets, worldReadable } from '../../../daemon/policy/probe-targets.js';
import { parse } from '../../../daemon/verifier/frontend/index.js';

t.test('a uprobe target must be a file everyone may read', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-targets-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const pub = path.join(dir, 'public');
  const priv = path.join(dir, 'private');
  await mkdir(pub, { mode: 0o755 });
  await mkdir(priv, { mode: 0o700 });
  await copyFile('/bin/true', path.join(pub, 'tool'));
  await chmod(path.join(pub, 'tool'), 0o755);
  await copyFile('/bin/true', path.join(pub, 'secret-tool'));
  await chmod(path.join(pub, 'secret-tool'), 0o711);
  await copyFile('/bin/true', path.join(priv, 'tool'));
  await chmod(path.join(priv, 'tool'), 0o755);
  await symlink(path.join(priv, 'tool'), path.join(pub, 'link-to-private'));
  await symlink(path.join(pub, 'tool'), path.join(pub, 'link-to-public'));

  const refusals = (target: string, provider = 'uprobe'): string[] => {
    const { program } = parse(`${provider}:${target}:main { printf("x\\n"); }\n`, 'p.bt');
    if (!program) throw new Error(`parse failed: ${target}`);
    return hiddenProbeTargets(program, worldReadable, ' for members of kgent').map((d) => d.message);
  };
  const cases: [string, RegExp | undefined, string?][] = [
    [path.join(pub, 'tool'), undefined],
    [path.join(pub, 'link-to-public'), undefined],
    ['/bin/bash', undefined],
    ['bash', undefined, 'a bare name is found on the PATH'],
    [path.join(priv, 'tool'), /is not open to everyone/],
    [path.join(pub, 'link-to-private'), /is not open to everyone/, 'a symlink is followed'],
    [path.join(pub, 'secret-tool'), /not readable by everyone/],
    ['/etc/shadow', /not readable by everyone/],
    [path.join(pub, 'missing'), /does not exist/],
    [pub, /not a regular file/],
  ];
  for (const [target, refused, why] of cases) {
    const got = refusals(target);
    if (refused) t.match(got.join('\n'), refused, why ?? target);
    else t.same(got, [], why ?? target);
  }
  t.match(refusals(path.join(priv, 'tool'), 'uretprobe').join(), /^uretprobe target .* is refused for members of kgent: /);
  t.match(refusals(path.join(priv, 'tool'), 'usdt').join(), /usdt target/);
});
