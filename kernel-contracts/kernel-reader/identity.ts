/**
 * Kernel identity: what the contracts are keyed by. Two boots of the same kernel image give the
 * same identity; a new build (even with the same release string) gives a different one.
 */
import { createHash } from 'node:crypto';
import type { KernelHost } from './host.js';

/** Who the running kernel is. */
export interface KernelIdentity {
  /** `uname -r`, e.g. `6.18.44-fc-v782`. */
  readonly release: string;
  /** `uname -v` (e.g. `#1 SMP PREEMPT_DYNAMIC @0`), or the whole /proc/version line when that is all there is. */
  readonly version: string;
  /** The whole /proc/version line, or '' when unreadable. */
  readonly procVersion: string;
  /** GNU build id of vmlinux from /sys/kernel/notes, lowercase hex; undefined when absent. */
  readonly buildId: string | undefined;
  /** sha256 (hex) of /sys/kernel/btf/vmlinux; undefined when the kernel has no BTF. */
  readonly btfChecksum: string | undefined;
  /** Stable composite key: `<release>:<16 hex digits over release, version, build id, BTF checksum>`. */
  readonly key: string;
}

/** One ELF note. */
export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Buffer;
}

/** ELF note type of the GNU build id. */
export const NT_GNU_BUILD_ID = 3;

/**
 * Parses a sequence of ELF notes (the format of /sys/kernel/notes: namesz, descsz, type as 32-bit
 * little-endian words, then name and desc each padded to 4 bytes). Stops at the first truncated note.
 */
export function parseElfNotes(buf: Buffer): ElfNote[] {
  const notes: ElfNote[] = [];
  let off = 0;
  const align4 = (n: number): number => (n + 3) & ~3;
  while (off + 12 <= buf.length) {
    const namesz = buf.readUInt32LE(off);
    const descsz = buf.readUInt32LE(off + 4);
    const type = buf.readUInt32LE(off + 8);
    const nameStart = off + 12;
    const descStart = nameStart + align4(namesz);
    const end = descStart + align4(descsz);
    if (descStart + descsz > buf.length) break;
    // namesz counts the terminating NUL.
    const name = buf.subarray(nameStart, nameStart + namesz).toString('latin1').replace(/\0+$/, '');
    notes.push({ name, type, desc: buf.subarray(descStart, descStart + descsz) });
    off = end;
  }
  return notes;
}

/** GNU build id (hex) in a notes blob, or undefined. */
export function buildIdFromNotes(buf: Buffer): string | undefined {
  const n = parseElfNotes(buf).find((x) => x.name === 'GNU' && x.type === NT_GNU_BUILD_ID);
  return n ? n.desc.toString('hex') : undefined;
}

/** Reads release, version, build id and BTF checksum of the host's running kernel. */
export async function readKernelIdentity(host: KernelHost): Promise<KernelIdentity> {
  const procVersion = (await host.readText('/proc/version'))?.trim() ?? '';
  let release = (await host.readText('/proc/sys/kernel/osrelease'))?.trim() ?? '';
  let version = (await host.readText('/proc/sys/kernel/version'))?.trim() ?? '';
  if (!release) release = /^Linux version (\S+)/.exec(procVersion)?.[1] ?? 'unknown';
  if (!version) version = procVersion;
  const notes = await host.readBytes('/sys/kernel/notes');
  const buildId = notes ? buildIdFromNotes(notes) : undefined;
  const btf = await host.readBytes('/sys/kernel/btf/vmlinux');
  const btfChecksum = btf ? createHash('sha256').update(btf).digest('hex') : undefined;
  return { release, version, procVersion, buildId, btfChecksum, key: identityKey(release, version, buildId, btfChecksum) };
}

/** The composite key of {@link KernelIdentity}; exported so stores can recompute it. */
export function identityKey(
  release: string,
  version: string,
  buildId: string | undefined,
  btfChecksum: string | undefined,
): string {
  const h = createHash('sha256')
    .update([release, version, buildId ?? '-', btfChecksum ?? '-'].join('\n'))
    .digest('hex');
  return `${release}:${h.slice(0, 16)}`;
}
