/**
 * The running kernel's build configuration (`CONFIG_*`), from /proc/config.gz or
 * /boot/config-<release>.
 */
import { gunzipSync } from 'node:zlib';
import type { KernelHost } from './host.js';
import { readRelease } from './host.js';

/** A parsed kernel config. */
export interface KernelConfig {
  /** Where it was read from (`/proc/config.gz`, `/boot/config-6.1.0-13-amd64`). */
  readonly source: string;
  /** Values by option name (`CONFIG_KPROBES`): `y`, `m`, a string/number as written, or `n` for "is not set". */
  readonly values: ReadonlyMap<string, string>;
}

/** Parses the text of a kernel .config. */
export function parseKernelConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      values.set(unset[1] ?? '', 'n');
      continue;
    }
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let v = line.slice(eq + 1);
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    values.set(line.slice(0, eq), v);
  }
  return values;
}

/**
 * Reads the kernel config: /proc/config.gz first (gunzipped), then /boot/config-<release>.
 * Undefined when neither is readable.
 */
export async function readKernelConfig(host: KernelHost): Promise<KernelConfig | undefined> {
  const gz = await host.readBytes('/proc/config.gz');
  if (gz) {
    try {
      return { source: '/proc/config.gz', values: parseKernelConfig(gunzipSync(gz).toString('utf8')) };
    } catch {
      // A truncated or non-gzip file: fall through to /boot.
    }
  }
  const release = await readRelease(host);
  if (release) {
    const p = `/boot/config-${release}`;
    const text = await host.readText(p);
    if (text !== undefined) return { source: p, values: parseKernelConfig(text) };
  }
  return undefined;
}

/** `y`/`m` count as enabled. */
export function configEnabled(cfg: KernelConfig | undefined, name: string): boolean | undefined {
  if (!cfg) return undefined;
  const v = cfg.values.get(name);
  if (v === undefined) return false;
  return v === 'y' || v === 'm';
}
