import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configureKernelChecks, kernelCheckLimits } from '../../../daemon/kernel-check/check-limits.js';
import { kernelCheck, withReadyMarker } from '../../../daemon/kernel-check/kernel-check.js';
import { detectBpftrace, type BpftraceCli } from '../../../daemon/runner/bpftrace-cli.js';
import { summariseVerifierLog } from '../../../daemon/kernel-check/bpftrace-output.js';

t.test('withReadyMarker keeps the user program lines where they were', async (t) => {
  const src = 'tracepoint:syscalls:sys_enter_openat { @c = count(); }';
  t.equal(withReadyMarker(src, 'M'), `${src}\nBEGIN { printf("M\\n"); }\n`);
  const withBegin = 'BEGIN { printf("hi\\n"); }\n';
  const at = withBegin.indexOf('{') + 1;
  t.equal(withReadyMarker(withBegin, 'M', at), 'BEGIN { printf("M\\n");  printf("hi\\n"); }\n');
});

t.test('summariseVerifierLog picks the verifier reason, not the instruction trace', async (t) => {
  t.equal(
    summariseVerifierLog(['12: (07) r6 += 1', 'BPF program is too large. Processed 1000001 insn', 'processed 1000001 insns (limit 1000000)']),
    'BPF program is too large. Processed 1000001 insn',
  );
});

async function bpftraceOrSkip(t: Tap.Test): Promise<BpftraceCli | undefined> {
  try {
    return await detectBpftrace('bpftrace');
  } catch (err) {
    t.skip(`bpftrace not usable here: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Ids of loaded BPF programs named `name`. Other test files load programs at the same time, so
 * the leftover check looks only at programs of a probe no other test uses (bpftrace names a
 * program after its probe, cut to the kernel's 15 characters).
 */
async function loadedProgramIds(name: string): Promise<Set<number>> {
  const r = await execa('bpftool', ['prog', 'list', '-j'], { reject: false });
  if (r.exitCode !== 0) return new Set();
  return new Set((JSON.parse(r.stdout) as { id: number; name?: string }[]).filter((p) => p.name === name).map((p) => p.id));
}

const opts = { timeoutMs: 60_000 };

t.test('kernel check against the real kernel', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to load eBPF programs');
  const cli = await bpftraceOrSkip(t);
  if (!cli) return;

  await t.test('an accepted tracepoint program leaves nothing attached', async (t) => {
    // Its own work directory: the process check below must not see other files' checks.
    const workDir = await mkdtemp(path.join(tmpdir(), 'kgent-kc-test-'));
    const previous = kernelCheckLimits().workDir;
    configureKernelChecks({ workDir });
    t.teardown(async () => {
      configureKernelChecks({ workDir: previous });
      await rm(workDir, { recursive: true, force: true });
    });
    const programName = 'sys_enter_setdo';
    const before = await loadedProgramIds(programName);
    const res = await kernelCheck(
      cli,
      { source: 'tracepoint:syscalls:sys_enter_setdomainname { @calls[comm] = count(); }\n', fileName: 'setdomainname.bt', unsafe: false },
      opts,
    );
    t.equal(res.ok, true, JSON.stringify(res.diagnostics));
    t.same(res.diagnostics.filter((d) => d.severity === 'error'), []);
    // The kernel frees programs asynchronously after their fds close.
    let leftover: number[] = [];
    for (let i = 0; i < 20; i++) {
      const after = await loadedProgramIds(programName);
      leftover = [...after].filter((id) => !before.has(id));
      if (leftover.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.same(leftover, [], 'no new BPF program remains loaded');
    const ps = await execa('sh', ['-c', `sleep 0.2; pgrep -af '${workDir}/kgent-check-' | grep -v pgrep || true`], { reject: false });
    t.equal(ps.stdout.trim(), '', 'no bpftrace check process remains');
  });

  await t.test('a program with its own BEGIN is checked through its BEGIN', async (t) => {
    const res = await kernelCheck(
      cli,
      {
        source: 'BEGIN { printf("start\\n"); @n = 0; }\ntracepoint:sched:sched_switch { @n++; }\n',
        fileName: 'begin.bt',
        beginBodyOffset: 'BEGIN {'.length,
        unsafe: false,
      },
      opts,
    );
    t.equal(res.ok, true, JSON.stringify(res.diagnostics));
  });

  await t.test('the verifier rejects an unbounded loop and we return its reason', async (t) => {
    const res = await kernelCheck(
      cli,
      {
        source: 'tracepoint:syscalls:sys_enter_openat {\n  $i = 0;\n  while ($i < 100000) { @x[$i] = 1; $i++; }\n}\n',
        fileName: 'loop.bt',
        unsafe: false,
      },
      opts,
    );
    t.equal(res.ok, false);
    const d = res.diagnostics.find((x) => x.code === 'kernel.verifier-rejected');
    t.ok(d, 'a verifier diagnostic');
    t.match(d?.message, /verifier rejected.*(too large|1000000|complex)/i);
    t.match(d?.detail, /processed \d+ insns/);
    t.ok((d?.hints ?? []).length > 0, 'with a hint');
  });

  await t.test("bpftrace's own errors come back with spans", async (t) => {
    const res = await kernelCheck(
      cli,
      { source: 'tracepoint:syscalls:sys_enter_openat { @x = args->nofield; }\n', fileName: 'f.bt', unsafe: false },
      opts,
    );
    t.equal(res.ok, false);
    t.match(res.diagnostics[0], { code: 'bpftrace.error', span: { line: 1, column: 45 }, message: /nofield/ });
  });
});
