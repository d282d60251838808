/**
 * Which output format a bpftrace version is read with: a checked release's own, and for a release
 * between two checked ones (0.20 on Ubuntu 24.04, 0.24 on Fedora) both neighbours' lines, so a
 * verifier rejection, a missing probe or an attach failure is recognised whichever style it prints.
 */
import t from 'tap';
import { isNoiseLine, outputFormatFor } from '../../../daemon/runner/bpftrace-formats.js';
import { diagnosticsFromBpftrace } from '../../../daemon/kernel-check/bpftrace-output.js';

const v = (text: string): { major: number; minor: number } => {
  const [major, minor] = text.split('.').map(Number) as [number, number];
  return { major, minor };
};

t.test('checked releases get their own format; others their neighbours', async (t) => {
  t.equal(outputFormatFor(undefined).since, '0.17', 'unknown version: 0.17');
  t.equal(outputFormatFor(v('0.16')).since, '0.17', 'older than any checked: 0.17');
  for (const own of ['0.17', '0.23', '0.27']) t.equal(outputFormatFor(v(own)).since, own, `${own}: its own`);
  t.equal(outputFormatFor(v('0.30')).since, '0.27', 'newer than the newest: the newest');
  t.equal(outputFormatFor(v('1.2')).since, '0.27', '1.x: the newest');
  for (const between of ['0.18', '0.20', '0.22']) t.equal(outputFormatFor(v(between)).lineRange, 'probe-at-end', `${between}: lines located as 0.17 does`);
});

// What each checked release prints for the same events (recorded on this host's binaries).
const STYLES = {
  refused017: ['Error log: ', 'R1 invalid mem access', 'ERROR: Error loading program: BEGIN'],
  refused023: ['ERROR: Error loading BPF program for begin_1.', 'Kernel error log: ', 'R1 invalid mem access', 'ERROR: Loading BPF object(s) failed.'],
  attach017: ['ERROR: Error attaching probe: kprobe:do_sys_openat2'],
  attach023: ['ERROR: Could not resolve symbol: /usr/bin/true:nope, cannot attach probe.'],
  attach027: ['ERROR: Unable to attach probe: kprobe:nope'],
};

t.test('a release between two checked ones recognises both styles', async (t) => {
  for (const [version, styles] of [
    ['0.20', ['refused017', 'refused023', 'attach017', 'attach023']],
    ['0.24', ['refused023', 'attach023', 'attach027']],
    ['0.26', ['refused023', 'attach027']],
  ] as const) {
    const format = outputFormatFor(v(version));
    for (const style of styles) {
      const lines = STYLES[style as keyof typeof STYLES];
      const diags = diagnosticsFromBpftrace(lines.join('\n'), 'p.bt', 3, { format });
      const want = style.startsWith('refused') ? 'kernel.verifier-rejected' : 'kernel.attach-failed';
      t.ok(diags.some((d) => d.code === want), `${version} reads ${style} as ${want}`, { diags });
    }
  }
  t.ok(isNoiseLine('Attached 2 probes', outputFormatFor(v('0.24'))), '0.24: "Attached N probes" is noise (0.27 prints it on stderr)');
  t.ok(isNoiseLine('Attaching 2 probes...', outputFormatFor(v('0.20'))), '0.20: "Attaching N probes..." is noise');
});
