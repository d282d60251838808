/**
 * One rule for unavailable probe types: every attach point whose canonical provider this host
 * lacks is reported, however it is written (aliases, lists, wildcards); an error when the program
 * is to run here, a warning for a proof, which then gets the same verdict as on a host that has
 * the probe type (this machine has no kprobes).
 */
import t from 'tap';
import { formatDiagnostic } from '../../../../daemon/protocol/diagnostic.js';
import type { ProbeType } from '../../../../kernel-contracts/probe-types.js';
import { parse } from '../../../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, probeAvailabilityLint, runLints, type LintContext, type LintProbeSupport } from '../../../../daemon/verifier/lints/index.js';
import { verifyWithContracts } from '../../../../daemon/verification/verify-program.js';
import { recordedContractProvider } from '../../../support/recorded-contracts.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../../../daemon/util/repo-root.js';

const NO_KPROBES = new Set<ProbeType>(['kprobe', 'kretprobe', 'kfunc', 'kretfunc']);
const noKprobes: LintProbeSupport = { isAvailable: (p) => !NO_KPROBES.has(p), reason: () => 'CONFIG_KPROBES is not set' };

function reported(src: string, purpose: LintContext['purpose']): string[] {
  const r = parse(src, 'p.bt');
  if (!r.program) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, 'p.bt', src)).join('\n'));
  const ctx: LintContext = { probes: noKprobes, policy: { allowUnsafe: false }, ...(purpose ? { purpose } : {}) };
  return runLints(r.program, ctx, [probeAvailabilityLint]).map((d) => `${d.severity} ${d.span?.line}:${d.span?.column} ${d.message.split(' ')[0]}`);
}

const FORMS: { name: string; src: string; want: string[] }[] = [
  { name: 'kprobe', src: 'kprobe:vfs_read { }', want: ['1:1 kprobe'] },
  { name: 'k: alias', src: 'k:vfs_read { }', want: ['1:1 kprobe'] },
  { name: 'kretprobe', src: 'kretprobe:vfs_read { }', want: ['1:1 kretprobe'] },
  { name: 'kr: alias', src: 'kr:vfs_read { }', want: ['1:1 kretprobe'] },
  { name: 'kprobe wildcard', src: 'kprobe:vfs_* { }', want: ['1:1 kprobe'] },
  { name: 'kretprobe wildcard via alias', src: 'kr:tcp_* { }', want: ['1:1 kretprobe'] },
  { name: 'kfunc, f: and fentry:', src: 'kfunc:vfs_read, f:vfs_write, fentry:vfs_open { }', want: ['1:1 kfunc', '1:17 kfunc', '1:30 kfunc'] },
  { name: 'kretfunc, fr: and fexit:', src: 'kretfunc:vfs_read,\nfr:vfs_write,\nfexit:vfs_open { }', want: ['1:1 kretfunc', '2:1 kretfunc', '3:1 kretfunc'] },
  { name: 'a list mixing available and unavailable types', src: 't:syscalls:sys_enter_read, k:vfs_read, tracepoint:syscalls:sys_exit_read, kretprobe:vfs_read { }', want: ['1:28 kprobe', '1:75 kretprobe'] },
  { name: 'tracepoint, t: alias and wildcard are available', src: 'tracepoint:syscalls:sys_enter_read, t:sched:*, tracepoint:syscalls:sys_exit_* { }', want: [] },
  { name: 'uprobe, u:, uretprobe, ur:, profile, interval, BEGIN', src: 'u:/bin/bash:readline, uprobe:/bin/sh:main, ur:/bin/bash:readline, uretprobe:/bin/sh:main { } profile:hz:99 { } interval:s:1 { } BEGIN { }', want: [] },
];

for (const f of FORMS) {
  t.test(f.name, async (t) => {
    t.same(reported(f.src, undefined), f.want.map((w) => `error ${w}`), 'to run here: an error for each');
    t.same(reported(f.src, 'run'), f.want.map((w) => `error ${w}`), 'purpose run: the same');
    t.same(reported(f.src, 'prove'), f.want.map((w) => `warning ${w}`), 'for a proof: the same attach points, as warnings');
  });
}

t.test('verify: the same verdict as on a host with kprobes, with a warning per unavailable attach point', async (t) => {
  const contracts = recordedContractProvider();
  for (const rel of ['datasets/examples/file/vfs-read-kprobe.annotated.bt', 'datasets/examples/network/tcp-connect-kprobe.annotated.bt']) {
    const source = readFileSync(path.join(repoRoot(), rel), 'utf8');
    const here = await verifyWithContracts(source, { contracts, probes: noKprobes, fileName: rel });
    const elsewhere = await verifyWithContracts(source, { contracts, probes: ALL_PROBES_AVAILABLE, fileName: rel });
    t.equal(here.verdict, elsewhere.verdict, `${rel}: the verdict does not depend on this host's probe types`);
    t.equal(here.verdict, 'proved', `${rel}: proved`);
    const unavailable = here.diagnostics.filter((d) => d.code === 'lint.probe-unavailable');
    t.ok(unavailable.length > 0 && unavailable.every((d) => d.severity === 'warning'), `${rel}: reported as warnings`);
    t.match(unavailable[0]?.message ?? '', /cannot attach on this host \(its kernel check refuses it\)/);
    t.notOk(here.diagnostics.some((d) => d.severity === 'error'), `${rel}: no error`);
  }
});
