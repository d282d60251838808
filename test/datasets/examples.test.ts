/**
 * CI for kgent's own examples (datasets/): there are enough of them, spread over
 * the areas; each plain program parses with our front-end; each annotated version is `proved` by
 * the verifier with this host's contracts (and its annotations stripped equal the plain program:
 * the guard runs with it as the candidate); each plain program whose probes exist on this kernel
 * loads in the kernel through the daemon's kernel check. Examples whose probe types or tracepoints
 * this kernel lacks (kprobe variants on a kernel without CONFIG_KPROBES) are skipped with the reason.
 */
import os from 'node:os';
import t from 'tap';
import { hostContractProvider } from '../../daemon/verification/host-contracts.js';
import { verifyWithContracts } from '../../daemon/verification/verify-program.js';
import { kernelCheck } from '../../daemon/kernel-check/kernel-check.js';
import { analyzeProgram } from '../../daemon/programs/program-analysis.js';
import type { CheckResult } from '../../daemon/protocol/methods.js';
import type { VerifyReport } from '../../daemon/protocol/verify-api.js';
import { detectBpftrace, type BpftraceCli } from '../../daemon/runner/bpftrace-cli.js';
import { parse } from '../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE } from '../../daemon/verifier/lints/index.js';
import { AREAS, loadExamples, type Example } from '../../datasets/load.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport, type ProbeSupport } from '../../kernel-contracts/kernel-reader/probe-support.js';

const MIN_EXAMPLES = 120;
const MIN_PER_AREA = 6;
const KERNEL_CHECKS_AT_ONCE = 2;
const examples = loadExamples();

// About 45 s on an idle 2-core machine; loads through bpftrace slow down a lot on a busy one.
t.setTimeout(10 * 60_000);

// Declared below; started here so that loads overlap with the verification.
// An error is kept (not left unhandled) and reported by that test.
const kernelChecks: Promise<KernelPlan | string | Error> = startKernelChecks().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));

t.test('the dataset is large enough and spread over the areas', async (t) => {
  t.ok(examples.length >= MIN_EXAMPLES, `${examples.length} examples (at least ${MIN_EXAMPLES})`);
  for (const area of AREAS) {
    if (area === 'misc') continue;
    const n = examples.filter((e) => e.area === area).length;
    t.ok(n >= MIN_PER_AREA, `${area}: ${n} examples (at least ${MIN_PER_AREA})`);
  }
  const network = examples.filter((e) => e.area === 'network');
  t.ok(network.some((e) => e.tags.includes('ipv4')), 'network has IPv4 examples');
  t.ok(network.some((e) => e.tags.includes('ipv6')), 'network has IPv6 examples');
  for (const tag of ['histogram', 'rate', 'latency']) {
    t.ok(examples.some((e) => e.tags.includes(tag)), `some example is tagged ${tag}`);
  }
  const kprobe = examples.filter((e) => e.hooks.some((h) => /^(kprobe|kretprobe|kfunc|kretfunc):/.test(h)));
  t.ok(kprobe.some((e) => e.variantOf !== undefined), 'kprobe examples have tracepoint twins');
  for (const e of examples) {
    if (e.variantOf === undefined) continue;
    const twin = examples.find((x) => x.slug === e.variantOf);
    t.equal(twin?.variantOf, e.slug, `${e.id} and its variant ${e.variantOf} name each other`);
  }
});

t.test('every plain program parses and its hooks header matches its attach points', async (t) => {
  for (const e of examples) {
    const parsed = parse(e.program, e.file);
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    t.same(
      errors.map((d) => `${d.span?.line}:${d.span?.column} ${d.message}`),
      [],
      `${e.id} parses`,
    );
    if (!parsed.program) continue;
    const attached = parsed.program.probes.flatMap((p) => p.attachPoints.map((a) => a.raw)).filter((r) => r !== 'BEGIN' && r !== 'END');
    t.same([...new Set(attached)].sort(), [...e.hooks].sort(), `${e.id}: hooks header lists the attach points`);
  }
});

t.test('every annotated version is proved with this host contracts', async (t) => {
  const contracts = hostContractProvider(realHost());
  for (const e of examples) {
    let report: VerifyReport;
    try {
      report = await verifyWithContracts(e.annotated, {
        contracts,
        probes: ALL_PROBES_AVAILABLE,
        candidate: e.program,
        fileName: e.annotatedFile,
      });
    } catch (err) {
      t.fail(`${e.id}: verifier threw ${(err as Error).message}`);
      continue;
    }
    const problems = [
      ...report.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`),
      ...report.assertions.filter((a) => a.verdict !== 'proved' && a.verdict !== 'trivial').map((a) => `line ${a.line} ${a.verdict}: ${a.text} ${a.reason ?? ''}`),
      ...report.coverage.filter((c) => c.verdict !== 'proved').map((c) => `line ${c.line} ${c.verdict}: ${c.text} ${c.reason ?? ''}`),
    ];
    t.equal(report.verdict, 'proved', `${e.id} is proved`, { problems });
    t.ok(report.coverage.length > 0, `${e.id} says which events it must observe (cover)`);
  }
});

/** Why this kernel cannot load the example (probe type or tracepoint missing), or undefined. */
function unavailableHere(e: Example, support: ProbeSupport): { reason?: string; beginBodyOffset?: number } {
  const analysis = analyzeProgram(e.program, e.file, support, { allowUnsafe: false });
  const missing = analysis.diagnostics.filter((d) => d.code === 'lint.probe-unavailable' || d.code === 'probe.not-found');
  return {
    ...(missing.length ? { reason: missing.map((d) => d.message).join('; ') } : {}),
    ...(analysis.beginBodyOffset !== undefined ? { beginBodyOffset: analysis.beginBodyOffset } : {}),
  };
}

interface KernelPlan {
  readonly items: ReadonlyArray<{ readonly e: Example; readonly reason?: string; readonly result?: Promise<CheckResult> }>;
}

/**
 * Starts the kernel checks at once, a small pool of at most KERNEL_CHECKS_AT_ONCE bpftrace loads
 * at a time, so that they overlap with the symbolic verification above (bpftrace mostly waits on
 * the kernel's verifier while Z3 works). Resolves to the reason when no check can run here.
 */
async function startKernelChecks(): Promise<KernelPlan | string> {
  if (process.getuid?.() !== 0) return 'needs root to load eBPF programs';
  let cli: BpftraceCli;
  try {
    cli = await detectBpftrace('bpftrace');
  } catch (err) {
    return `bpftrace not usable here: ${(err as Error).message}`;
  }
  const support = await detectProbeSupport(realHost(), {
    bpftrace: { version: cli.version, ...(cli.features ? { features: cli.features } : {}) },
    functionNames: false,
  });
  const plan = examples.map((e) => ({ e, ...unavailableHere(e, support) }));
  const runnable = plan.filter((p) => p.reason === undefined);
  const gates: Array<() => void> = [];
  let next = 0;
  const startNext = (): void => {
    if (next < gates.length) (gates[next++] as () => void)();
  };
  const results = new Map<Example, Promise<CheckResult>>();
  for (const p of runnable) {
    const gate = new Promise<void>((resolve) => gates.push(resolve));
    const input = {
      source: p.e.program,
      fileName: p.e.file,
      unsafe: false,
      ...(p.beginBodyOffset !== undefined ? { beginBodyOffset: p.beginBodyOffset } : {}),
    };
    results.set(p.e, gate.then(() => kernelCheck(cli, input, { timeoutMs: 60_000 })).finally(startNext));
  }
  for (let i = 0; i < Math.min(KERNEL_CHECKS_AT_ONCE, os.cpus().length || 1); i++) startNext();
  return {
    items: plan.map((p) => {
      const result = results.get(p.e);
      return { e: p.e, ...(p.reason !== undefined ? { reason: p.reason } : {}), ...(result ? { result } : {}) };
    }),
  };
}

t.test('every program whose probes exist here loads in the kernel', async (t) => {
  const plan = await kernelChecks;
  if (plan instanceof Error) return t.fail(`kernel checks could not start: ${plan.message}`);
  if (typeof plan === 'string') return t.skip(plan);
  let loaded = 0;
  let skipped = 0;
  for (const { e, reason, result } of plan.items) {
    if (reason !== undefined || !result) {
      skipped++;
      t.skip(`${e.id}: not on this kernel (${reason})`);
      continue;
    }
    const res = await result;
    if (res.ok) loaded++;
    t.ok(res.ok, `${e.id} loads in the kernel (${Math.round(res.durationMs)} ms)`, {
      diagnostics: res.diagnostics.map((d) => `${d.code}: ${d.message}`),
    });
  }
  t.comment(`${loaded} examples loaded in the kernel, ${skipped} skipped (probes this kernel lacks)`);
});
