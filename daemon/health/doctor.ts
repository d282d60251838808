/**
 * `kgentctl doctor`: every precondition of kgent on this host, each ok / warn / fail with the fix.
 * Kernel facts come from the kernel reader (the only module that reads /sys and tracefs).
 */
import { constants } from 'node:fs';
import { access, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import type { KgentConfig } from '../config.js';
import { hasModel, probeOllama } from '../llm/ollama-client.js';
import type { DoctorCheck } from '../protocol/methods.js';
import { PROBE_TYPES, type ProbeType } from '../../kernel-contracts/probe-types.js';
import type { BpftraceCli } from '../runner/bpftrace-cli.js';
import type { DialectChoice } from '../runner/dialect-choice.js';
import type { AttachableProbes } from '../programs/program-analysis.js';
import { probeTypeFix } from './probe-type-fix.js';
import { UserDb } from '../server/peer-identity.js';
import { describeForeign, listeningOwner, localPort, trustedOwner } from '../server/port-owner.js';

export interface DoctorInputs {
  readonly config: KgentConfig;
  readonly cli: BpftraceCli | Error;
  readonly host: KernelHost;
  readonly probes: AttachableProbes;
  readonly deathSignalWrapper?: readonly string[];
}

/** Probe types a sysadmin cares about, in the order doctor reports them. */
const REPORTED_TYPES: readonly ProbeType[] = PROBE_TYPES.filter((t) => !['self', 'asyncwatchpoint'].includes(t));

export async function runDoctor(i: DoctorInputs): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  checks.push(bpftraceCheck(i.cli));
  checks.push(...(await tracefsChecks(i.host, i.cli)));
  checks.push(await btfCheck(i.host));
  checks.push(...probeTypeChecks(i.probes));
  checks.push(...(await ollamaChecks(i.config)));
  checks.push(await socketCheck(i.config));
  checks.push(await stateDirCheck(i.config.stateDir));
  checks.push(
    i.deathSignalWrapper
      ? { name: 'child cleanup', status: 'ok', detail: 'bpftrace children get SIGTERM if kgentd dies (setpriv --pdeathsig)' }
      : {
          name: 'child cleanup',
          status: 'warn',
          detail: 'setpriv not found: bpftrace children could outlive a crashed kgentd until its next start',
          fix: 'apt-get install util-linux',
        },
  );
  return checks;
}

function bpftraceCheck(cli: BpftraceCli | Error): DoctorCheck {
  if (cli instanceof Error) {
    return { name: 'bpftrace', status: 'fail', detail: cli.message, fix: 'apt-get install -y bpftrace' };
  }
  const flags = [cli.hasJsonOutput ? '-f json' : undefined, cli.hasDryRun ? '--dry-run' : 'no --dry-run (kernel check attaches briefly)']
    .filter(Boolean)
    .join(', ');
  return { name: 'bpftrace', status: 'ok', detail: `${cli.path} version ${cli.version.text} (${flags})` };
}

async function tracefsChecks(host: KernelHost, cli: BpftraceCli | Error): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const tracefs = await host.exists('/sys/kernel/tracing/events');
  out.push(
    tracefs
      ? { name: 'tracefs', status: 'ok', detail: 'mounted at /sys/kernel/tracing' }
      : {
          name: 'tracefs',
          status: 'fail',
          detail: '/sys/kernel/tracing/events not found: tracepoints cannot be listed or attached',
          fix: 'mount -t tracefs nodev /sys/kernel/tracing (systemd mounts it at boot; systemd/install.sh mounts it when it installs)',
        },
  );
  // bpftrace before 0.19 looks for tracepoint formats under debugfs only.
  const oldBpftrace = !(cli instanceof Error) && cli.version.major === 0 && cli.version.minor < 19;
  const debugTracing = await host.exists('/sys/kernel/debug/tracing/events');
  out.push(
    debugTracing
      ? { name: 'debugfs tracing', status: 'ok', detail: '/sys/kernel/debug/tracing available' }
      : {
          name: 'debugfs tracing',
          status: oldBpftrace ? 'fail' : 'warn',
          detail: `/sys/kernel/debug/tracing not available${oldBpftrace ? ': this bpftrace needs it for tracepoints' : ''}`,
          fix: 'mount -t debugfs nodev /sys/kernel/debug',
        },
  );
  return out;
}

async function btfCheck(host: KernelHost): Promise<DoctorCheck> {
  const present = await host.exists('/sys/kernel/btf/vmlinux');
  return present
    ? { name: 'kernel BTF', status: 'ok', detail: '/sys/kernel/btf/vmlinux present' }
    : {
        name: 'kernel BTF',
        status: 'warn',
        detail: '/sys/kernel/btf/vmlinux missing: no struct types or kfunc probes, fewer kernel contracts',
        fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian 11+ kernels have it)',
      };
}

function probeTypeChecks(probes: AttachableProbes): DoctorCheck[] {
  const available = REPORTED_TYPES.filter((t) => probes.isAvailable(t));
  const missing = REPORTED_TYPES.filter((t) => !probes.isAvailable(t));
  const out: DoctorCheck[] = [{ name: 'probe types', status: 'ok', detail: `available: ${available.join(', ')}` }];
  for (const t of missing) {
    const fix = probeTypeFix(t, probes.reason(t));
    out.push({
      name: `probe type ${t}`,
      status: 'warn',
      detail: `unavailable: ${probes.reason(t)}; programs using it are refused before loading`,
      ...(fix ? { fix } : {}),
    });
  }
  return out;
}

/** A local Ollama port held by someone other than root or the Ollama user gets the daemon's prompts. */
async function ollamaOwnerCheck(config: KgentConfig): Promise<DoctorCheck | undefined> {
  const port = localPort(config.ollamaHost);
  if (port === undefined) return undefined;
  const owner = await listeningOwner(port, new UserDb());
  if (!owner) return undefined;
  if (trustedOwner(owner, config.ollamaUser)) {
    return { name: 'ollama owner', status: 'ok', detail: `port ${port} held by ${owner.user} (uid ${owner.uid})` };
  }
  return {
    name: 'ollama owner',
    status: 'warn',
    detail: `${describeForeign(port, owner, config.ollamaUser)}: it would receive the daemon's prompts and answer with programs; ${config.allowForeignOllama ? 'allowed by allowForeignOllama' : 'requests refuse it'}`,
    fix: `stop that process and start Ollama (systemctl start ollama), or set "ollamaUser" in /etc/kgent/config.json to the user that runs it`,
  };
}

async function ollamaChecks(config: KgentConfig): Promise<DoctorCheck[]> {
  const owner = await ollamaOwnerCheck(config);
  const probe = await probeOllama(config.ollamaHost);
  if (owner?.status === 'warn') return [owner];
  if (!probe.reachable) {
    return [
      {
        name: 'ollama',
        status: 'warn',
        detail: `not reachable at ${config.ollamaHost} (${probe.error}): kgentctl request needs it; run, list, logs do not`,
        fix: 'install and start Ollama on this host (or set OLLAMA_HOST), then ollama pull the configured models',
      },
    ];
  }
  const wanted = [...new Set([config.models.synthesis, config.models.comprehension, config.models.embedding])];
  const missing = wanted.filter((m) => !hasModel(probe.models, m));
  return [
    ...(owner ? [owner] : []),
    {
      name: 'ollama',
      status: missing.length === 0 ? 'ok' : 'warn',
      detail: `reachable at ${config.ollamaHost}; models: ${probe.models.join(', ') || 'none'}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`,
      ...(missing.length ? { fix: missing.map((m) => `ollama pull ${m}`).join(' && ') } : {}),
    },
  ];
}

async function socketCheck(config: KgentConfig): Promise<DoctorCheck> {
  try {
    const s = await stat(config.socketPath);
    const mode = s.mode & 0o777;
    const ok = mode === 0o660 && s.uid === 0;
    return {
      name: 'socket',
      status: ok ? 'ok' : 'warn',
      detail: `${config.socketPath} mode ${mode.toString(8).padStart(4, '0')} uid ${s.uid} gid ${s.gid}`,
      ...(ok ? {} : { fix: `expected mode 0660 owned by root:${config.socketGroup}; restart kgentd as root` }),
    };
  } catch (err) {
    return { name: 'socket', status: 'fail', detail: `${config.socketPath}: ${(err as Error).message}`, fix: 'restart kgentd' };
  }
}

async function stateDirCheck(dir: string): Promise<DoctorCheck> {
  try {
    await access(dir, constants.W_OK);
    const probeDir = await mkdtemp(path.join(dir, '.doctor-'));
    await writeFile(path.join(probeDir, 'w'), 'ok');
    await rm(probeDir, { recursive: true, force: true });
    return { name: 'state dir', status: 'ok', detail: `${dir} writable` };
  } catch (err) {
    return {
      name: 'state dir',
      status: 'fail',
      detail: `${dir} not writable: ${(err as Error).message}`,
      fix: `check the disk and permissions of ${dir} (systemd: StateDirectory=kgent)`,
    };
  }
}

/** The `doctor` line about the bpftrace dialect: a version kgent does not model is a warning. */
export function dialectCheck(c: DialectChoice): DoctorCheck {
  if (c.warning) {
    return { name: 'bpftrace dialect', status: 'warn', detail: c.warning, fix: `set bpftracePath in /etc/kgent/config.json to a bpftrace kgent models, or upgrade kgent` };
  }
  return { name: 'bpftrace dialect', status: 'ok', detail: `bpftrace ${c.forVersion}: programs are verified and written under bpftrace ${c.dialect.version}'s rules` };
}
