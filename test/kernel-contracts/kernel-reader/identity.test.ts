import t from 'tap';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { buildIdFromNotes, identityKey, parseElfNotes, readKernelIdentity } from '../../../kernel-contracts/kernel-reader/identity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures/kernel-contracts/host');

/** One ELF note: namesz, descsz, type, name and desc padded to 4. */
function note(name: string, type: number, desc: Buffer): Buffer {
  const n = Buffer.from(`${name}\0`, 'latin1');
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const h = Buffer.alloc(12);
  h.writeUInt32LE(n.length, 0);
  h.writeUInt32LE(desc.length, 4);
  h.writeUInt32LE(type, 8);
  return Buffer.concat([h, pad(n), pad(desc)]);
}

t.test('ELF notes', async (t) => {
  const id = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
  const blob = Buffer.concat([note('Xen', 6, Buffer.from('abc')), note('GNU', 3, id), note('Linux', 0x100, Buffer.from('6.1\0'))]);
  const notes = parseElfNotes(blob);
  t.same(notes.map((n) => [n.name, n.type, n.desc.length]), [
    ['Xen', 6, 3],
    ['GNU', 3, 20],
    ['Linux', 0x100, 4],
  ]);
  t.equal(buildIdFromNotes(blob), id.toString('hex'));
  t.equal(buildIdFromNotes(note('GNU', 1, Buffer.from('x'))), undefined, 'only NT_GNU_BUILD_ID counts');
  t.same(parseElfNotes(blob.subarray(0, 30)).map((n) => n.name), ['Xen'], 'a truncated note is dropped');
  t.same(parseElfNotes(Buffer.alloc(0)), []);
});

t.test('identity of a recorded kernel', async (t) => {
  const root = path.join(fixtures, 'kprobes-off');
  const id = await readKernelIdentity(fixtureHost(root));
  t.equal(id.release, '6.18.44-fc-v782');
  t.equal(id.version, '#1 SMP PREEMPT_DYNAMIC @0');
  t.match(id.procVersion, /^Linux version 6\.18\.44-fc-v782 /);
  t.equal(id.buildId, buildIdFromNotes(readFileSync(path.join(root, 'sys/kernel/notes'))));
  t.match(id.buildId, /^[0-9a-f]{40}$/);
  t.equal(id.btfChecksum, createHash('sha256').update(readFileSync(path.join(root, 'sys/kernel/btf/vmlinux'))).digest('hex'));
  t.equal(id.key, identityKey(id.release, id.version, id.buildId, id.btfChecksum));
  t.match(id.key, /^6\.18\.44-fc-v782:[0-9a-f]{16}$/);
  t.same(await readKernelIdentity(fixtureHost(root)), id, 'stable across reads');

  const other = await readKernelIdentity(fixtureHost(path.join(fixtures, 'kprobes-on')));
  t.equal(other.release, '6.1.0-13-amd64');
  t.equal(other.buildId, undefined, 'no /sys/kernel/notes');
  t.equal(other.btfChecksum, undefined, 'no BTF');
  t.not(other.key, id.key);
});

t.test('a rebuilt kernel with the same release gets a new key', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-ident-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(fixtures, 'kprobes-off'), dir, { recursive: true });
  const before = await readKernelIdentity(fixtureHost(dir));
  const btfPath = path.join(dir, 'sys/kernel/btf/vmlinux');
  const btf = readFileSync(btfPath);
  btf[btf.length - 2] ^= 0xff;
  writeFileSync(btfPath, btf);
  const after = await readKernelIdentity(fixtureHost(dir));
  t.equal(after.release, before.release);
  t.not(after.btfChecksum, before.btfChecksum);
  t.not(after.key, before.key);
});

t.test('only /proc/version present', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-ident-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(fixtures, 'kprobes-on/proc/version'), path.join(dir, 'proc/version'), { recursive: true });
  const id = await readKernelIdentity(fixtureHost(dir));
  t.equal(id.release, '6.1.0-13-amd64', 'release parsed from /proc/version');
  t.match(id.version, /^Linux version/);
});

t.test('identity of this machine', async (t) => {
  if (!existsSync('/proc/version')) {
    t.skip('no /proc on this machine');
    return;
  }
  const id = await readKernelIdentity(realHost());
  t.equal(id.release, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), 'release is uname -r');
  t.ok(id.version.length > 0);
  if (existsSync('/sys/kernel/notes')) t.match(id.buildId, /^[0-9a-f]+$/, `build id ${id.buildId}`);
  else t.comment('no /sys/kernel/notes: build id unknown');
  if (existsSync('/sys/kernel/btf/vmlinux')) t.match(id.btfChecksum, /^[0-9a-f]{64}$/);
  t.comment(`live identity key ${id.key}`);
  t.same(await readKernelIdentity(realHost()), id, 'stable');
});
