// The bpftrace 0.17 facts the verifier's map model rests on (daemon/verifier/symbolic/map-state.ts),
// checked on the real binary, and the verifier's verdicts on the same program: probes on one event
// run in program order (the second sees the first's store) — yet the verifier does not prove it,
// since the kernel may skip the first (see executor.ts runProbe); BEGIN's stores are there; a new key
// into a full map (BPFTRACE_MAP_KEYS_MAX=4) is dropped and reads 0, and a delete makes room.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { EMPTY_CONTRACTS } from '../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../daemon/verifier/verify.js';
import { bpftraceUnavailable, libcPath } from './differential/bpftrace-run.js';

function program(libc: string, pid: number, annotated: boolean): string {
  const a = (s: string): string => (annotated ? ` ${s}` : '');
  return `BEGIN { @m[1] = 11; @m[2] = 22; printf("READY\\n"); }
uprobe:${libc}:getppid /pid == ${pid} && @once == 0/ { @x = 1; }
uprobe:${libc}:getppid /pid == ${pid} && @once == 0/ {
  @once = 1;
  printf("order %d\\n", @x);${a('assert(printed(0) == 1);')}
  @m[3] = 33; @m[4] = 44; @m[5] = 55;
  printf("full %d %d\\n", @m[5], @m[1]);${a('assert(printed(0) == 55);')}
  delete(@m[2]); @m[5] = 55;
  printf("after %d\\n", @m[5]);
  printf("DONE\\n");
}
`;
}

const why = bpftraceUnavailable();
t.test('map state facts on bpftrace 0.17 and the verifier on them', { skip: why ?? false, timeout: 60_000 }, async (t) => {
  const libc = libcPath() as string;
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-mapstate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'p.bt');
  writeFileSync(file, program(libc, process.pid, false));
  const out = await new Promise<string>((resolve) => {
    const p = spawn('bpftrace', [file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '4' } });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer) clearInterval(timer);
      clearTimeout(limit);
      p.kill('SIGKILL');
      resolve(text);
    };
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      // Attached once BEGIN has run: call getppid() until the probes have printed.
      if (text.includes('READY') && !timer) timer = setInterval(() => void process.ppid, 100);
      if (text.includes('DONE')) finish();
    });
    const limit = setTimeout(finish, 40_000);
  });
  t.match(out, /order 1\n/, 'the second probe on the event sees the first one\'s store');
  t.match(out, /full 0 11\n/, 'the fifth key is dropped (reads 0); BEGIN\'s key 1 is there');
  t.match(out, /after 55\n/, 'after a delete the key is stored');

  const r = await verifyProgram(program(libc, 1234, true), { contracts: EMPTY_CONTRACTS });
  t.same(
    r.assertions.map((x) => x.verdict),
    ['refuted', 'refuted'],
    'verifier: the first probe may have been skipped (refuted); read-back in a map that may be full refuted',
  );
});
