/**
 * Reads a program file named on the command line (run, check, verify). A bpftrace program is
 * UTF-8 text; anything else (an ELF binary, an image, a UTF-16 file) is refused with one line
 * naming where it stops being text, instead of sending its bytes on to a parser that would echo
 * them back onto the user's terminal.
 */
import { readFile } from 'node:fs/promises';

export type ProgramFileResult = { readonly ok: true; readonly source: string } | { readonly ok: false; readonly message: string };

/** Reads `file` as a UTF-8 text program, or says in one line why it is not one. */
export async function readProgramFile(file: string): Promise<ProgramFileResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { ok: false, message: readError(file, err) };
  }
  const why = notText(bytes);
  if (why) return { ok: false, message: `${file} is not a text program (${why}); give a bpftrace source file (FILE.bt)` };
  return { ok: true, source: bytes.toString('utf8') };
}

function readError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (err as Error | undefined)?.message ?? String(err);
  const todo = code === 'EACCES' || code === 'EPERM' ? 'check its permissions or run as a user who can read it' : 'give the path of a bpftrace (.bt) file';
  return `cannot read ${file}: ${why}${code ? ` (${code})` : ''}; ${todo}`;
}

/** Why `bytes` is not UTF-8 text, or undefined when it is. */
export function notText(bytes: Uint8Array): string | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return 'an ELF executable';
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `a NUL byte at offset ${nul}`;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `bytes that are not UTF-8 at offset ${firstInvalidUtf8(bytes)}`;
  }
  // Control characters other than tab, newline, carriage return and form feed do not occur in a
  // program someone wrote; printing them would drive the terminal.
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) || b === 0x7f) return `a control character (0x${b.toString(16).padStart(2, '0')}) at offset ${i}`;
  }
  return undefined;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  // Binary search on the longest valid prefix; a cut inside a multi-byte character is allowed by
  // decoding with stream: true, so a valid prefix stays valid when cut shorter.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  // The longest prefix may end in the first bytes of the bad sequence: step back to where it starts.
  for (let m = lo; m > Math.max(0, lo - 4); m--) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, m));
      return m;
    } catch {
      // inside the sequence
    }
  }
  return Math.max(0, lo - 4);
}
