/**
 * Runs one dialect fact (a short program and/or flags) in one bpftrace binary and reports what it
 * observably did: exit code, stdout exactly, and the first line of stderr that is not host noise.
 * The program is a file under a temporary directory (as kgentd passes it); its path is written as
 * PROG in the observed text so that outcomes compare across runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface DialectFact {
  /** Stable id, kebab-case. */
  readonly id: string;
  /** What the fact probes, one line. */
  readonly about: string;
  /** What the recorded outcomes show, across versions, one line (for people and the README). */
  readonly finding: string;
  /** Program text (written to a file passed after the flags); absent for flag-only facts. */
  readonly program?: string;
  /** Flags before the program file. */
  readonly args?: readonly string[];
  /** Extra environment for bpftrace. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * How the run ends: the program calls exit() (default), or the runner sends SIGINT once stdout
   * shows `sigintAfter` (a program left running, ended as kgentd and Ctrl-C end it).
   */
  readonly stop?: 'exit' | 'sigint';
  /** With stop 'sigint': the stdout text that shows the program's probes are running. */
  readonly sigintAfter?: string;
  /**
   * Once bpftrace says it attaches, this process calls getppid() and getenv(TRIGGER_ENV_NAME)
   * every 100 ms until bpftrace ends (the line is printed before the probes are attached, so one
   * early call could be missed); the program gets this process's PID as $1 to filter on
   * (`/pid == $1/`) and exits on a hit.
   */
  readonly trigger?: boolean;
  /** Observed outcome per bpftrace version ("0.17.0", "0.23.2", ...). */
  readonly outcomes: Readonly<Record<string, Outcome>>;
}

export interface Outcome {
  /** Exit code; a death by signal is 128 + the signal number, as a shell reports it. */
  readonly exit: number;
  /** Everything on stdout (PROG for the program's path). */
  readonly stdout: string;
  /** The first line of stderr that is not host noise (see NOISE), '' when none. */
  readonly stderr: string;
  /** The first error line (ERROR, FATAL or BUG), '' when none. */
  readonly error: string;
  /**
   * The program got through parsing and semantic analysis: no error located in the program (or
   * the bpftrace standard library), no FATAL/BUG abort, no refused command-line option. A load or
   * attach failure still counts as compiled.
   */
  readonly compiles: boolean;
}

/**
 * Lines that depend on this host, not on the dialect: the container refuses RLIMIT_MEMLOCK (every
 * version says so), and kprobes are not available here, so newer versions warn that
 * available_filter_functions cannot be read.
 */
const NOISE = [/^(WARNING|ERROR): .*couldn't set RLIMIT_MEMLOCK/, /^WARNING: Could not read functions from .*available_filter_functions/];

/** The name the trigger passes to getenv() (a uprobe on getenv can read it with str(arg0)). */
export const TRIGGER_ENV_NAME = 'KGENT_DIALECT_TRIGGER';

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };

/** Runs `fact` in `bin`; resolves with the observed outcome (never rejects on bpftrace's failure). */
export async function runFact(bin: string, fact: DialectFact, opts: { timeoutMs?: number } = {}): Promise<Outcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-dialect-'));
  const file = path.join(dir, 'fact.bt');
  try {
    const args = [...(fact.args ?? [])];
    if (fact.program !== undefined) {
      writeFileSync(file, fact.program);
      args.push(file);
      if (fact.trigger) args.push(String(process.pid));
    }
    const raw = await run(bin, args, fact, opts.timeoutMs ?? 30_000);
    const clean = (s: string) => s.split(file).join('PROG').split(dir).join('PROGDIR');
    const lines = clean(raw.stderr)
      .split('\n')
      .filter((l) => l.trim() !== '' && !NOISE.some((n) => n.test(l)));
    const error = lines.find((l) => /\b(ERROR|FATAL|BUG):/.test(l)) ?? '';
    const compileError =
      lines.some((l) => /^(PROG|stdlib\/[\w.]+):\d+:[\d-]+: ERROR:/.test(l) || /^(FATAL|BUG):/.test(l)) ||
      /unrecognized option|invalid option/.test(raw.stderr);
    return { exit: raw.exit, stdout: clean(raw.stdout), stderr: lines[0] ?? '', error, compiles: !compileError };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(bin: string, args: string[], fact: DialectFact, timeoutMs: number): Promise<{ exit: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(fact.env ?? {}) } });
    let stdout = '';
    let stderr = '';
    let attached = false;
    let interrupted = false;
    let trigger: NodeJS.Timeout | undefined;
    const onOutput = () => {
      if (fact.stop === 'sigint' && !interrupted && fact.sigintAfter !== undefined && stdout.includes(fact.sigintAfter)) {
        interrupted = true;
        // Not at once: bpftrace 0.17 once ignored a SIGINT sent the instant the first line arrived
        // (it ran until killed); a user's Ctrl-C never comes that early.
        setTimeout(() => child.kill('SIGINT'), 300);
      }
      if (attached || !/Attach|attached_probes/.test(stdout + stderr)) return;
      attached = true;
      // Each read of process.ppid is a getppid() call (libuv's uv_os_getppid), each read of an
      // environment variable a libc getenv(name) call.
      if (fact.trigger)
        trigger = setInterval(() => {
          void process.ppid;
          void process.env[TRIGGER_ENV_NAME];
        }, 100);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOutput();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onOutput();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(killer);
      clearInterval(trigger);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearInterval(trigger);
      resolve({ exit: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0), stdout, stderr });
    });
  });
}
