/**
 * The real kgentd on each bpftrace of this host (0.17.0, and the 0.23.2 and 0.27.1 roots of
 * test/dialects when built): the synthesis and comprehension prompts of a request state the facts
 * of the dialect kgentd detected, and the examples in them are only ones recorded as fitting it.
 * The LLM is the Ollama stand-in (one synthesis answer, one comprehension answer without a program,
 * one trial: the request ends needing a hint; only the prompts are looked at).
 */
import t from 'tap';
import type { ExamplesListResult } from '../../../daemon/protocol/examples-api.js';
import { dialectFactsText } from '../../../daemon/pipeline/dialect-facts.js';
import { nearestProfile, PROFILES, type Dialect } from '../../../daemon/verifier/dialect/index.js';
import { loadExamples } from '../../../datasets/load.js';
import { probeBinaries } from '../../dialects/binaries.js';
import { builtOrReason, createDaemon } from '../../support/daemon-harness.js';
import { matchScript, startOllamaStandin } from '../../support/ollama-standin.js';

const SYNTHESIS = 'Write the program for the request.';
const COMPREHENSION = 'Return the candidate with assume/assert/cover inserted.';
const PROGRAM = 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }';
const dataset = loadExamples();
// The request is an example's own prompt, so full-text search ranks that example first where it may.
// It does not fit the newest profile, so the newest binary here shows the filter at work.
const NEWEST = (PROFILES[PROFILES.length - 1] as Dialect).version;
const oldOnly = dataset.find((e) => !e.versions.includes(NEWEST) && e.hooks.every((h) => h.startsWith('tracepoint:')));

t.test('kgentd states the detected dialect in both prompts and offers only examples that fit it', { skip: builtOrReason() ?? (process.getuid?.() !== 0 ? 'needs root' : false), timeout: 600_000 }, async (t) => {
  t.ok(oldOnly, `a tracepoint example that does not fit ${NEWEST}: ${oldOnly?.id}`);
  if (!oldOnly) return;
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    const d0 = (nearestProfile(probe.bin.version) as { dialect: Dialect }).dialect;
    const standin = await startOllamaStandin({
      models: ['qwen2.5-coder:7b', 'nomic-embed-text'],
      chat: matchScript([
        { match: SYNTHESIS, response: `\`\`\`bpftrace\n${PROGRAM}\n\`\`\`\n` },
        { match: COMPREHENSION, response: 'I cannot annotate this.' },
      ]),
    });
    const d = await createDaemon({ env: { OLLAMA_HOST: standin.host }, config: { bpftracePath: probe.bin.path, trials: 1 } });
    try {
      await d.start();
      const list = await d.ctlJson<ExamplesListResult>(['examples', 'list']);
      t.equal(list.dialect, d0.version, `kgentd on ${probe.bin.version} chose ${d0.version}`);
      const r = await d.ctl(['request', '--json', oldOnly.prompt], { timeoutMs: 180_000 });
      t.not(r.exitCode, 0, 'the request ends without a verified program (the stand-in does not annotate)');
      const chats = standin.chatRequests();
      const system = (match: string) => chats.find((c) => c.messages.some((m) => m.role === 'user' && m.content.includes(match)));
      const syn = system(SYNTHESIS);
      const com = system(COMPREHENSION);
      t.ok(syn && com, 'both stages asked the model');
      const facts = dialectFactsText(d0);
      const text = (c: typeof syn) => (c?.messages ?? []).map((m) => m.content).join('\n');
      t.ok(text(syn).includes(facts), `${d0.version}: the synthesis prompt states its facts`);
      t.ok(text(com).includes(facts), `${d0.version}: the comprehension prompt states its facts`);
      t.ok(text(syn).includes(`bpftrace ${probe.bin.version}`), 'and names the version');
      const examples = text(syn).slice(text(syn).indexOf('Examples of verified programs'));
      // Twins share a prompt: an example is named by its prompt and its program.
      const offered = dataset.filter((e) => examples.includes(`Request: ${e.prompt}\nProgram:\n\`\`\`bpftrace\n${e.program.trim()}\n\`\`\``));
      t.ok(offered.length > 0, `${d0.version}: examples offered (${offered.map((e) => e.id).join(', ')})`);
      for (const e of offered) t.ok(e.versions.includes(d0.version), `${d0.version}: ${e.id} fits`);
      t.equal(offered.some((e) => e.id === oldOnly.id), oldOnly.versions.includes(d0.version), `${d0.version}: ${oldOnly.id} ${oldOnly.versions.includes(d0.version) ? 'offered' : 'not offered'}`);
    } finally {
      await d.cleanup();
      await standin.close();
    }
  }
});
