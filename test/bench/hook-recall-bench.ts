/**
 * Hook recall without an embedding model: for each request of the held-out table
 * (hook-recall-heldout.ts, never used for tuning) and of the tuning table (the dataset's prompts),
 * is a reference tracepoint among the top 1 / top 5 of `contracts.search(text, 5, {attachable})`?
 * Run on a contracts index built from this machine's BTF and tracefs in a temp dir, full text
 * only (no model). Two ways for the held-out table: the request alone (what `kgentctl contracts
 * search` does), and as the Kgent loop asks, with the hooks of the examples full-text retrieval
 * finds for the request (only examples whose probes attach here). Target: recall@5 >= 80% on the
 * held-out table. Reports, never asserts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELD_OUT, type RecallCase } from './hook-recall-heldout.js';
import { tuningCases } from './hook-recall-tuning.js';

const TARGET_RECALL_AT_5 = 0.8;

interface Recall {
  readonly at1: number;
  readonly at5: number;
  readonly misses: { request: string; top: string[] }[];
}

async function measure(cases: readonly RecallCase[], top5: (text: string) => Promise<string[]>): Promise<Recall> {
  let at1 = 0;
  let at5 = 0;
  const misses: Recall['misses'] = [];
  for (const c of cases) {
    const ids = await top5(c.request);
    if (ids.slice(0, 1).some((id) => c.reference.includes(id))) at1++;
    if (ids.some((id) => c.reference.includes(id))) at5++;
    else misses.push({ request: c.request, top: ids });
  }
  return { at1: at1 / cases.length, at5: at5 / cases.length, misses };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function line(name: string, n: number, r: Recall, target: boolean): string {
  const verdict = target ? `  ${r.at5 >= TARGET_RECALL_AT_5 ? 'PASS' : 'MISS'} recall@5 >= ${pct(TARGET_RECALL_AT_5)}` : '';
  return `${name} (${n} requests): recall@1 ${pct(r.at1)}, recall@5 ${pct(r.at5)}${verdict}\n` + r.misses.map((m) => `    missed: "${m.request}" -> ${m.top.join(', ') || '(nothing)'}\n`).join('');
}

export async function run(): Promise<void> {
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) {
    process.stdout.write('hook-recall bench: SKIPPED — no /sys/kernel/btf/vmlinux on this host\n');
    return;
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-hook-recall-bench-'));
  const { createContractService } = await import('../../kernel-contracts/service.js');
  const { ExampleStore } = await import('../../daemon/retrieval/example-store.js');
  const { loadExamples } = await import('../../datasets/load.js');
  const { realHost } = await import('../../kernel-contracts/kernel-reader/host.js');
  const { detectProbeSupport } = await import('../../kernel-contracts/kernel-reader/probe-support.js');
  const { attachableExamples } = await import('../../daemon/retrieval/attachable-examples.js');
  const { hookAttachable, tracepointsFromContracts } = await import('../../daemon/contracts/hook-attachable.js');
  const svc = createContractService({ stateDir, sourceTree: null, watchPaths: [], rebuildOnStart: false });
  await svc.start();
  const examples = await ExampleStore.open({ stateDir });
  try {
    await svc.rebuild({ force: true });
    const dataset = loadExamples();
    await examples.sync(dataset);
    const probes = await detectProbeSupport(realHost());
    const usable = hookAttachable({ probeAvailable: (t) => probes.isAvailable(t), tracepointExists: tracepointsFromContracts((id) => svc.contract(id)) });
    const alone = async (text: string): Promise<string[]> => (await svc.search(text, 5, { attachable: true })).hits.map((h) => h.id);
    const withExamples = async (text: string): Promise<string[]> => {
      const found = (await examples.search(text, 12)).hits;
      const kept = attachableExamples(found, usable, 4);
      return (await svc.search(text, 5, { attachable: true, hints: kept.flatMap((e) => e.hooks) })).hits.map((h) => h.id);
    };
    const tuning = tuningCases(dataset);
    process.stdout.write(`contracts index: full text only (no embedding model); examples: full text only\n`);
    process.stdout.write(line('held-out, request alone (kgentctl contracts search --attachable)', HELD_OUT.length, await measure(HELD_OUT, alone), true));
    process.stdout.write(line('held-out, with the hooks of retrieved examples (the Kgent loop)', HELD_OUT.length, await measure(HELD_OUT, withExamples), true));
    const t = await measure(tuning, alone);
    process.stdout.write(`tuning table (dataset prompts, request alone; ${tuning.length} requests): recall@1 ${pct(t.at1)}, recall@5 ${pct(t.at5)} (tuned on: not a measure of generalisation)\n`);
  } finally {
    examples.close();
    await svc.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
