/**
 * Who holds a local TCP port. The LLM endpoint is whoever listens on the configured Ollama port:
 * while Ollama is down, any local user can bind 127.0.0.1:11434, receive the daemon's prompts and
 * answer with candidate programs. The kernel's socket tables (/proc/net/tcp, /proc/net/tcp6) give
 * the listening socket's owner uid and inode; the inode, found among /proc/PID/fd, gives the
 * process (best effort: the uid alone decides).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { llmErrors } from '../llm/errors.js';
import type { LlmBackend } from '../llm/backend.js';
import type { UserDb } from './peer-identity.js';

export interface PortOwner {
  readonly uid: number;
  readonly user: string;
  readonly inode: number;
  readonly pid?: number;
  readonly command?: string;
}

/** `host` of a URL when it names this machine (loopback or any-address), else undefined. */
export function localPort(url: string): number | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const local = host === 'localhost' || host === '::1' || host === '0.0.0.0' || host === '::' || /^127\./.test(host);
  if (!local) return undefined;
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

const LISTEN = '0A';

/** The owner of the socket listening on local TCP `port`, or undefined when none listens. */
export async function listeningOwner(port: number, users: UserDb, proc = '/proc'): Promise<PortOwner | undefined> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(path.join(proc, 'net', table), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN || !f[1]!.endsWith(`:${hexPort}`)) continue;
      const uid = Number(f[7]);
      const inode = Number(f[9]);
      const holder = uid === 0 ? {} : await processOf(inode, proc);
      return { uid, user: await users.userName(uid), inode, ...holder };
    }
  }
  return undefined;
}

async function processOf(inode: number, proc: string): Promise<{ pid?: number; command?: string }> {
  const target = `socket:[${inode}]`;
  let pids: string[];
  try {
    pids = (await readdir(proc)).filter((d) => /^\d+$/.test(d));
  } catch {
    return {};
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(path.join(proc, pid, 'fd'));
    } catch {
      continue;
    }
    for (const fd of fds) {
      const link = await readlink(path.join(proc, pid, 'fd', fd)).catch(() => '');
      if (link !== target) continue;
      const command = (await readFile(path.join(proc, pid, 'cmdline'), 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ').slice(0, 200);
      return { pid: Number(pid), ...(command ? { command } : {}) };
    }
  }
  return {};
}

/** Whether `owner` may serve the LLM: root or the configured Ollama user. */
export function trustedOwner(owner: PortOwner, ollamaUser: string): boolean {
  return owner.uid === 0 || owner.user === ollamaUser;
}

/** `port 11434 is held by mallory (uid 1001), pid 42 (node -e ...), not root or ollama`. */
export function describeForeign(port: number, owner: PortOwner, ollamaUser: string): string {
  const proc = owner.pid !== undefined ? `, pid ${owner.pid}${owner.command ? ` (${owner.command.slice(0, 60)})` : ''}` : '';
  return `port ${port} is held by ${owner.user} (uid ${owner.uid})${proc}, not root or the Ollama user "${ollamaUser}"`;
}

/**
 * The LLM backend, refusing a local endpoint held by anyone but root or `ollamaUser` (unless
 * `allowForeign`): `check` reports it unreachable with why, and no prompt is sent to it.
 */
export function guardLocalLlm(llm: LlmBackend, o: { ollamaUser: string; allowForeign: boolean; users: UserDb; log?: { warn(obj: object, msg: string): void } }): LlmBackend {
  const port = localPort(llm.host);
  if (port === undefined || o.allowForeign) return llm;
  const foreign = async (): Promise<string | undefined> => {
    const owner = await listeningOwner(port, o.users);
    if (!owner || trustedOwner(owner, o.ollamaUser)) return undefined;
    const why = `${describeForeign(port, owner, o.ollamaUser)}; kgentd sends it no prompt (stop that process and start Ollama, or set allowForeignOllama)`;
    o.log?.warn({ port, uid: owner.uid, user: owner.user, pid: owner.pid }, why);
    return why;
  };
  return {
    host: llm.host,
    async check() {
      const why = await foreign();
      return why ? { reachable: false, models: [], missing: [], error: why } : llm.check();
    },
    async chat(req) {
      const why = await foreign();
      if (why) throw llmErrors.unreachable(llm.host, why);
      return llm.chat(req);
    },
    async embed(texts, signal) {
      if (await foreign()) return undefined;
      return llm.embed(texts, signal);
    },
  };
}
