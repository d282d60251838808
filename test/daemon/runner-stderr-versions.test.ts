/**
 * A running program's failure reason (the supervisor's `lastError`) on each bpftrace release: built
 * from stderr recorded from the real 0.17.0, 0.23.2 and 0.27.1 (test/daemon/kernel-check/
 * bpftrace-VERSION/), without bpftrace's setup noise or the warnings 0.27 locates in its own
 * standard library, and keeping every line that says why.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNoiseLine, meaningfulStderr, outputFormatFor } from '../../daemon/runner/bpftrace-formats.js';
import { parseBpftraceVersion } from '../../kernel-contracts/kernel-reader/bpftrace.js';

const RECORDED = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel-check');

const CASES: { version: string; dir: string; name: string; keeps: RegExp[]; drops: RegExp[] }[] = [
  { version: '0.17.0', dir: 'bpftrace-0.17', name: 'kprobe-attach', keeps: [/ERROR: Error attaching probe/, /not traceable/], drops: [/RLIMIT_MEMLOCK/] },
  { version: '0.23.2', dir: 'bpftrace-0.23.2', name: 'uprobe-missing', keeps: [/cannot attach probe/], drops: [/RLIMIT_MEMLOCK/] },
  { version: '0.23.2', dir: 'bpftrace-0.23.2', name: 'kprobe-attach', keeps: [/ERROR: Error attaching probe/], drops: [/RLIMIT_MEMLOCK/, /^Attaching kprobe/, /^Error while reading traceable functions/, /^bpf_attach_kprobe/] },
  { version: '0.27.1', dir: 'bpftrace-0.27.1', name: 'stdlib-warning', keeps: [], drops: [/available_filter_functions/, /RLIMIT_MEMLOCK/, /stdlib\//, /expanded from/, /__strerror/, /strerror\(2\)/, /~~~/, /Attaching 'begin' probe/, /Trying to attach probe/] },
  { version: '0.27.1', dir: 'bpftrace-0.27.1', name: 'verifier-loop', keeps: [/ERROR: Error loading BPF program for begin_1/, /While loops are deprecated/, /The sequence of 8193 jumps is too complex/], drops: [/available_filter_functions/] },
];

t.test('the reason a program failed, per release', async (t) => {
  for (const c of CASES) {
    const stderr = (await readFile(path.join(RECORDED, c.dir, `${c.name}.stderr`), 'utf8')).split('\n');
    const kept = meaningfulStderr(stderr, outputFormatFor(parseBpftraceVersion(c.version)));
    for (const re of c.keeps) t.ok(kept.some((l) => re.test(l)), `${c.version} ${c.name}: keeps ${re}`);
    for (const re of c.drops) t.notOk(kept.some((l) => re.test(l)), `${c.version} ${c.name}: drops ${re}`);
  }
});

t.test('noise is per release: a line that is noise on one may be meaningful on another', async (t) => {
  const rows: [string, string, boolean][] = [
    ['0.27.1', 'Attached 3 probes', true],
    ['0.17.0', 'Attaching 3 probes...', true],
    ['0.27.1', "Attaching 'begin' probe", true],
    ['0.27.1', 'WARNING: Could not read functions from /sys/kernel/debug/tracing/available_filter_functions. If this is expected, ...', true],
    ['0.17.0', 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace.', true],
    ['0.27.1', 'ERROR: Error loading BPF program for begin_1.', false],
    ['0.23.2', 'ERROR: Could not resolve symbol: /x:y, cannot attach probe.', false],
    // A program's own error is never noise, even when it mentions attaching.
    ['0.27.1', 'prog.bt:1:1-5: ERROR: Attached 3 probes', false],
  ];
  for (const [v, line, noise] of rows) t.equal(isNoiseLine(line, outputFormatFor(parseBpftraceVersion(v))), noise, `${v}: ${line}`);
});

t.test('a library warning does not swallow the error after it', async (t) => {
  const format = outputFormatFor({ major: 0, minor: 27 });
  const lines = ['stdlib/strings.bt:188:3-33: WARNING: Return value discarded.', '  __strerror((int32)errno, &$v);', '  ~~~~', 'p.bt:1:5-9: WARNING: expanded from', 'BEGIN { x }', '    ~~~~', 'ERROR: Error attaching probe: tracepoint:a:b'];
  t.same(meaningfulStderr(lines, format), ['ERROR: Error attaching probe: tracepoint:a:b']);
});
