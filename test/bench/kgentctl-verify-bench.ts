/**
 * `kgentctl verify` wall time per file, as a user sees it (a new kgentctl process each time), side
 * by side with `kgentctl status` in one run against one real kgentd:
 * - status            the CLI's floor: process start, connect, one round trip;
 * - verify via kgentd the running kernel's contracts and the daemon's warm solver (target p50 < 100 ms);
 * - verify --local    in the CLI process: loads Z3 and kernel-contracts, reads BTF and tracefs.
 * Files: the proved and refuted golden cases, in turn. Runs interleave so drift hits all alike.
 */
import { execa } from 'execa';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI_JS, createDaemon } from '../support/daemon-harness.js';
import { goldenDir, percentile } from '../support/golden.js';

const ROUNDS = 20;
const LOCAL_ROUNDS = 5;
const TARGET_VERIFY_P50_MS = 100;
const FILES = ['proved/filter-pid.bt', 'refuted/byteorder-double-swap.bt', 'proved/filter-comm.bt', 'refuted/ternary-wrong-branch.bt'];

async function timed(socket: string, args: string[], okCodes: readonly number[]): Promise<number> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [CLI_JS, '--socket', socket, ...args], { reject: false });
  const ms = performance.now() - t0;
  if (!okCodes.includes(r.exitCode ?? -1)) throw new Error(`kgentctl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr || r.stdout}`);
  return ms;
}

function line(name: string, xs: number[], target?: number): string {
  const s = [...xs].sort((a, b) => a - b);
  const p50 = percentile(s, 50);
  const verdict = target === undefined ? '' : `   target p50 < ${target} ms: ${p50 < target ? 'PASS' : 'MISS'}`;
  return `${name.padEnd(22)} n=${String(s.length).padStart(3)}  p50 ${p50.toFixed(1).padStart(7)} ms  p90 ${percentile(s, 90).toFixed(1).padStart(7)} ms  max ${(s[s.length - 1] ?? NaN).toFixed(1).padStart(7)} ms${verdict}`;
}

export async function run(): Promise<void> {
  const d = await createDaemon();
  try {
    await d.start();
    const files = FILES.map((f) => path.join(goldenDir(), f));
    // The first verification waits for the daemon's background warm-up (Z3 init); not counted.
    await timed(d.socket, ['verify', files[0]!], [0]);
    const status: number[] = [];
    const viaDaemon: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      status.push(await timed(d.socket, ['status'], [0]));
      viaDaemon.push(await timed(d.socket, ['verify', files[i % files.length]!], [0, 1]));
      if (i < LOCAL_ROUNDS) local.push(await timed(d.socket, ['verify', '--local', files[i % files.length]!], [0, 1]));
    }
    console.log('kgentctl wall time per invocation (new process each time, one kgentd, interleaved):');
    console.log(line('kgentctl status', status));
    console.log(line('verify via kgentd', viaDaemon, TARGET_VERIFY_P50_MS));
    console.log(line('verify --local', local));
    const overhead = percentile([...viaDaemon].sort((a, b) => a - b), 50) - percentile([...status].sort((a, b) => a - b), 50);
    console.log(`verify via kgentd minus status (p50): ${overhead.toFixed(1)} ms (the verification itself)`);
  } finally {
    await d.cleanup();
  }
}
