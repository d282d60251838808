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
import { isNoiseLine, locatedLine, locatedSpan, meaningfulStderr, outputFormatFor } from '../../../daemon/runner/bpftrace-formats.js';
import { parseBpftraceVersion } from '../../../kernel-contracts/kernel-reader/bpftrace.js';

const RECORDED = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'kernel-check');

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

t.test('a line range means what its release means by it', async (t) => {
  // Printed by the real binaries (test/dialects/README.md): 0.17/0.23 locate a probe's attach
  // points from an unreliable start to the probe's line; 0.27 locates a construct from its first line.
  const rows: [string, string, { line: number; endLine: number; column: number }][] = [
    ['0.17.0', 'mt3.bt:1-4: ERROR: tracepoint not found: syscalls:sys_enter_nope', { line: 4, endLine: 4, column: 1 }],
    ['0.23.2', 'mt4.bt:3-4: WARNING: tracepoint not found: syscalls:sys_enter_nope', { line: 4, endLine: 4, column: 1 }],
    ['0.27.1', 'ml.bt:3-5: WARNING: While loops are deprecated and may be removed in the future.', { line: 3, endLine: 5, column: 1 }],
    ['0.27.1', 'ml2.bt:2-3: ERROR: Unknown function: \'nosuch\'', { line: 2, endLine: 3, column: 1 }],
    ['0.27.1', 'mt4.bt:4:1-35: ERROR: No matches for tracepoint syscalls:sys_enter_nope.', { line: 4, endLine: 4, column: 1 }],
    ['0.23.2', 'ml3.bt:3:10-11: WARNING: comparison of integers of different signs', { line: 3, endLine: 3, column: 10 }],
  ];
  for (const [v, text, want] of rows) {
    const loc = locatedLine(text);
    t.ok(loc, `${v}: located: ${text}`);
    if (loc) t.match(locatedSpan(loc, outputFormatFor(parseBpftraceVersion(v))), want, `${v}: ${text}`);
  }
  t.equal(locatedLine('ERROR: Error loading BPF program for begin_1.'), undefined, 'no location, no span');
});
