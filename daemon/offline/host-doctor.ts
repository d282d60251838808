/**
 * `kgentctl doctor` when kgentd does not answer: the host checks kgentd would run (bpftrace,
 * tracefs, BTF, probe types, Ollama, child cleanup), run in kgentctl's own process with the
 * configuration kgentd would read. The checks of kgentd's own socket and state directory are left
 * to the caller, which reports the daemon itself.
 */
import { DEFAULTS, loadConfig, normaliseOllamaHost, type KgentConfig } from '../config.js';
import { dialectCheck, runDoctor } from '../health/doctor.js';
import { dialectForBpftrace } from '../runner/dialect-choice.js';
import type { DoctorCheck } from '../protocol/methods.js';
import { detectBpftrace, type BpftraceCli } from '../runner/bpftrace-cli.js';
import { findDeathSignalWrapper } from '../runner/supervisor.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport } from '../../kernel-contracts/kernel-reader/probe-support.js';

/** Checks of kgentd's own running instance, which only kgentd can answer for. */
const DAEMON_ONLY = new Set(['socket', 'state dir']);

export async function hostDoctor(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const notes: DoctorCheck[] = [];
  let config: KgentConfig;
  try {
    config = loadConfig({ env, flags: {} });
  } catch (err) {
    // What kgentd would take from its environment still applies.
    config = {
      ...DEFAULTS,
      ...(env.OLLAMA_HOST ? { ollamaHost: normaliseOllamaHost(env.OLLAMA_HOST) } : {}),
      ...(env.KGENT_BPFTRACE ? { bpftracePath: env.KGENT_BPFTRACE } : {}),
    };
    notes.push({ name: 'config', status: 'warn', detail: `${(err as Error).message}; checked with the defaults` });
  }
  const cli: BpftraceCli | Error = await detectBpftrace(config.bpftracePath).catch((err: Error) => err);
  const host = realHost();
  const probes = await detectProbeSupport(host, cli instanceof Error ? {} : { bpftrace: { version: cli.version, ...(cli.features ? { features: cli.features } : {}) } });
  const wrapper = findDeathSignalWrapper();
  const checks = await runDoctor({ config, cli, host, probes, ...(wrapper ? { deathSignalWrapper: wrapper } : {}) });
  // The language kgentd would verify and prompt in, with this bpftrace (as kgentd's own doctor says).
  const dialect = cli instanceof Error ? [] : [dialectCheck(dialectForBpftrace(cli.version.text))];
  return [...notes, ...checks.filter((c) => !DAEMON_ONLY.has(c.name)), ...dialect];
}
