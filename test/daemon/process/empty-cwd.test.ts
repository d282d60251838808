/**
 * kgentd's working directory (daemon/process/empty-cwd.ts): an empty directory of its own under the
 * state dir, whatever was there before. Runs in this test's own process (tap gives each file one).
 */
import t from 'tap';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { enterEmptyWorkingDirectory } from '../../../daemon/process/empty-cwd.js';

const before = process.cwd();
t.teardown(() => process.chdir(before));

t.test('fresh, left-over, symlinked: always an empty real directory, writable by nobody', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'kgent-cwd-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const elsewhere = path.join(root, 'elsewhere');
  await mkdir(elsewhere);
  await writeFile(path.join(elsewhere, 'keep.h'), 'int keep;\n');

  const cases: [string, (state: string) => Promise<void>][] = [
    ['fresh state dir', async () => undefined],
    ['files left in it', async (state) => {
      await mkdir(path.join(state, 'cwd', 'sub'), { recursive: true });
      await writeFile(path.join(state, 'cwd', 'etc-shadow.h'), 'x\n');
    }],
    ['a symlink to another directory', async (state) => {
      await mkdir(state, { recursive: true });
      await symlink(elsewhere, path.join(state, 'cwd'));
    }],
    ['a file in its place', async (state) => {
      await mkdir(state, { recursive: true });
      await writeFile(path.join(state, 'cwd'), 'x\n');
    }],
  ];
  for (const [name, prepare] of cases) {
    const state = path.join(root, name.replace(/\W+/g, '-'));
    await prepare(state);
    const dir = enterEmptyWorkingDirectory(state);
    t.equal(dir, path.join(state, 'cwd'), name);
    t.equal(process.cwd(), dir, `${name}: changed into it`);
    const st = await lstat(dir);
    t.ok(st.isDirectory() && !st.isSymbolicLink(), `${name}: a real directory`);
    t.equal(st.mode & 0o777, 0o555, `${name}: writable by nobody`);
    t.same(await readdir(dir), [], `${name}: empty`);
  }
  t.same(await readdir(elsewhere), ['keep.h'], 'a symlink target is not touched');
});
