/**
 * What bpftrace prints, per release: the lines kgent reads to tell a loaded program from a refused
 * one and to say why. Chosen from the version the binary reports (`bpftrace --version`), never
 * guessed from the output. Each fact was checked on the real binaries of this host (0.17.0 from
 * Debian 12, 0.23.2 from Debian 13, 0.27.1 from Debian unstable; test/dialects/README.md) with the
 * kernel check's own flags (`-f json -v`, `--dry-run` where it exists); the recorded outputs are in
 * test/daemon/kernel-check/bpftrace-VERSION/. A release between two checked ones gets the older
 * one's format; one newer than the newest gets the newest.
 */

export interface BpftraceOutputFormat {
  /** The oldest release this format was checked on, `major.minor`. */
  readonly since: string;
  /** The line that opens the kernel verifier's log (`-v`). */
  readonly verifierLogStart: RegExp;
  /** bpftrace's error when the kernel refused to load a program (the text after `ERROR: `); group 1 names the probe. */
  readonly loadRefused: RegExp;
  /**
   * bpftrace's errors after the kernel refused a program that add nothing to that reason (0.23:
   * `Loading BPF object(s) failed.`), text after `ERROR: `.
   */
  readonly loadRefusedFollowOn: readonly RegExp[];
  /** An attach failure (the text after `ERROR: `): the program loaded, its probe could not be attached. */
  readonly attachFailed: RegExp;
  /** A probe that does not exist (the message of a located `ERROR:`); checked once per release. */
  readonly probeNotFound: RegExp;
  /**
   * Lines bpftrace prints about its own setup or progress, never about the program: a failed load
   * is not explained by them, a running program's last error is not one of them.
   */
  readonly noise: readonly RegExp[];
  /**
   * Files of bpftrace's own standard library, in which 0.27 locates warnings about its built-in
   * functions (`stdlib/strings.bt:188:3-33: WARNING: Return value discarded.` for `strerror()`),
   * followed by `PROGRAM:L:C-C: WARNING: expanded from` at the caller. Undefined: the release has none.
   */
  readonly libraryFile?: RegExp;
  /**
   * What a line range `FILE:A-B:` locates. `probe-at-end`: 0.17 and 0.23 print it for a probe's
   * attach points, and A is unreliable (a missing tracepoint on line 4 after `BEGIN` on line 1, a
   * blank line and a comment reads `1-4`; its attach points on lines 3-4 read `3-4`): the probe is
   * on B. `span`: 0.27 prints it for any construct over several lines (a `while` on lines 3 to 5
   * reads `3-5`, a call split over lines 2-3 reads `2-3`): A to B.
   */
  readonly lineRange: 'probe-at-end' | 'span';
}

/** In every release checked: the container refuses RLIMIT_MEMLOCK (0.17 says ERROR, later WARNING). */
const MEMLOCK = /couldn't set RLIMIT_MEMLOCK/;

const V0_17: BpftraceOutputFormat = {
  since: '0.17',
  // `-v`: "Error log: " (a failed load), "The verifier log: " (each loaded program, on stdout).
  verifierLogStart: /^(Error log|The verifier log):/,
  loadRefused: /^Error loading program: (\S+)|^Failed to load program|verif/i,
  loadRefusedFollowOn: [],
  attachFailed: /^Error attaching probe/,
  probeNotFound: /^tracepoint not found: /,
  lineRange: 'probe-at-end',
  // `-v`: "INFO: node count: 11", "Attaching BEGIN"; text mode: "Attaching 2 probes..." on stdout.
  noise: [MEMLOCK, /^INFO: /, /^Attaching \d+ probes?\.\.\./, /^Attaching \S+$/],
};

const V0_23: BpftraceOutputFormat = {
  since: '0.23',
  verifierLogStart: /^Kernel error log:/,
  loadRefused: /^Error loading BPF program for ([^\s.]+)/,
  loadRefusedFollowOn: [/^Loading BPF object\(s\) failed\.?$/],
  // "Error attaching probe: kprobe:do_sys_openat2"; a uprobe on a missing function:
  // "Could not resolve symbol: /usr/lib/...:name, cannot attach probe." (exit 255, even with --dry-run).
  attachFailed: /^Error attaching probe|cannot attach probe/,
  probeNotFound: /^tracepoint not found: /,
  lineRange: 'probe-at-end',
  noise: [
    MEMLOCK,
    /^INFO: /,
    /^Attaching \d+ probes?\.\.\./,
    /^Attaching \S+$/,
    // Without available_filter_functions (this container): printed unprefixed before a kprobe.
    /^Error while reading traceable functions from /,
    /^bpf_attach_kprobe\(|^create_probe_event: /,
  ],
};

const V0_27: BpftraceOutputFormat = {
  since: '0.27',
  verifierLogStart: /^Kernel error log:/,
  // "Error loading BPF program for begin_1. Error code: -7 (Argument list too long)."
  loadRefused: /^Error loading BPF program for ([^\s.]+)/,
  loadRefusedFollowOn: [/^Loading BPF object\(s\) failed\.?$/],
  attachFailed: /^Error attaching probe|cannot attach probe|^Unable to attach probe/,
  // Missing kprobes, uprobe functions and tracepoints are compile errors: "No matches for tracepoint X."
  probeNotFound: /^No matches for (?:tracepoint|kprobe|uprobe|uretprobe|kretprobe|fentry|fexit|rawtracepoint) /,
  noise: [
    MEMLOCK,
    /^INFO: /,
    // Attach progress: "Attached 2 probes" on stderr (text mode), "Attaching 'begin' probe" and
    // "Trying to attach probe: tracepoint:..." with -v.
    /^Attached \d+ probes?$/,
    /^Attaching '\S+' probe$/,
    /^Trying to attach probe: /,
    /^WARNING: Could not read functions from \S*available_filter_functions/,
  ],
  libraryFile: /^stdlib\//,
  lineRange: 'span',
};

/** Oldest first. */
const FORMATS: readonly BpftraceOutputFormat[] = [V0_17, V0_23, V0_27];

/**
 * The format of the bpftrace that reports `version`: a checked release's own; 0.17's for an older
 * or unknown one; the newest checked one's for a newer one. A release between two checked ones
 * (0.18-0.22, 0.24-0.26: Ubuntu 24.04's 0.20, Fedora's 0.24) may print either neighbour's lines,
 * so it is read with both: each pattern accepts what either prints (the two styles never mean
 * different things), lines are located as the older one locates them.
 */
export function outputFormatFor(version: { readonly major: number; readonly minor: number } | undefined): BpftraceOutputFormat {
  if (!version) return V0_17;
  const atOrBelow = (f: BpftraceOutputFormat): boolean => {
    const [major, minor] = f.since.split('.').map(Number) as [number, number];
    return version.major > major || (version.major === major && version.minor >= minor);
  };
  const older = [...FORMATS].reverse().find(atOrBelow) ?? V0_17;
  const newer = FORMATS.find((f) => !atOrBelow(f));
  if (!newer || `${version.major}.${version.minor}` === older.since) return older;
  return between(older, newer);
}

/** A format that reads what either of two neighbouring releases prints. */
function between(older: BpftraceOutputFormat, newer: BpftraceOutputFormat): BpftraceOutputFormat {
  const either = (a: RegExp, b: RegExp): RegExp => new RegExp(`(?:${a.source})|(?:${b.source})`, a.flags.includes('i') || b.flags.includes('i') ? 'i' : '');
  const library = older.libraryFile ?? newer.libraryFile;
  return {
    since: older.since,
    verifierLogStart: either(older.verifierLogStart, newer.verifierLogStart),
    loadRefused: either(older.loadRefused, newer.loadRefused),
    loadRefusedFollowOn: [...older.loadRefusedFollowOn, ...newer.loadRefusedFollowOn],
    attachFailed: either(older.attachFailed, newer.attachFailed),
    probeNotFound: either(older.probeNotFound, newer.probeNotFound),
    noise: [...older.noise, ...newer.noise],
    ...(library ? { libraryFile: library } : {}),
    lineRange: older.lineRange,
  };
}

/** A line bpftrace prints about itself, not about the program (see {@link BpftraceOutputFormat.noise}). */
export function isNoiseLine(line: string, format: BpftraceOutputFormat): boolean {
  return format.noise.some((re) => re.test(line));
}

/** `FILE:L:C-C: ERROR|WARNING: message`, or `FILE:A-B: ...` (a line range; see {@link BpftraceOutputFormat.lineRange}). */
const LOCATED = /^(.+?):(\d+)(?::(\d+)-(\d+)|-(\d+)): (ERROR|WARNING): (.*)$/;

export interface LocatedLine {
  readonly file: string;
  /** The first line (A of a range `A-B`). */
  readonly line: number;
  /** The last line: `line`, or B of a range. */
  readonly endLine: number;
  /** Undefined for a line range (`FILE:A-B:`). */
  readonly column?: number;
  readonly endColumn?: number;
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/** A bpftrace diagnostic with a location, or undefined. */
export function locatedLine(text: string): LocatedLine | undefined {
  const m = LOCATED.exec(text);
  if (!m) return undefined;
  const line = Number(m[2]);
  return {
    file: m[1]!,
    line,
    endLine: Number(m[5] ?? m[2]),
    ...(m[3] !== undefined ? { column: Number(m[3]), endColumn: Number(m[4]) } : {}),
    severity: m[6] === 'ERROR' ? 'error' : 'warning',
    message: m[7]!,
  };
}

/**
 * A running program's stderr lines that may say why it stopped: without noise, and without
 * warnings bpftrace locates in its own library (and the `expanded from` notes that follow them).
 */
export function meaningfulStderr(lines: readonly string[], format: BpftraceOutputFormat): string[] {
  const out: string[] = [];
  let inLibraryWarning = false;
  for (const line of lines) {
    if (isNoiseLine(line, format)) continue;
    const loc = locatedLine(line);
    if (loc) {
      const fromLibrary = format.libraryFile?.test(loc.file) ?? false;
      if (fromLibrary && loc.severity === 'warning') {
        inLibraryWarning = true;
        continue;
      }
      if (inLibraryWarning && loc.message === 'expanded from') continue;
      inLibraryWarning = false;
      out.push(line);
      continue;
    }
    // The source excerpt and underline printed under a library warning.
    if (inLibraryWarning && !/^(ERROR|WARNING|HINT): /.test(line)) continue;
    inLibraryWarning = false;
    out.push(line);
  }
  return out;
}

/** The program lines a located diagnostic names, as this release means them: first and last line, and columns when given. */
export function locatedSpan(loc: LocatedLine, format: BpftraceOutputFormat): { line: number; endLine: number; column: number; endColumn: number } {
  if (loc.column !== undefined) return { line: loc.line, endLine: loc.line, column: loc.column, endColumn: loc.endColumn ?? loc.column };
  const first = format.lineRange === 'probe-at-end' ? loc.endLine : loc.line;
  return { line: first, endLine: loc.endLine, column: 1, endColumn: 1 };
}
