import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULTS, loadConfig } from '../../../daemon/config.js';
import { KgentError } from '../../../daemon/errors.js';

t.test('LLM defaults: models from Ollama\'s library, num_ctx 8192, an answer reserve, a call timeout', async (t) => {
  t.same(DEFAULTS.models, { synthesis: 'qwen2.5-coder:7b', comprehension: 'qwen2.5-coder:7b', embedding: 'nomic-embed-text' });
  t.equal(DEFAULTS.numCtx, 8192);
  t.equal(DEFAULTS.llmAnswerTokens, 1536);
  t.equal(DEFAULTS.llmTimeoutMs, 180_000);
});

t.test('LLM keys from the file, validated with the key named', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-llm-config-'));
  const ok = path.join(dir, 'ok.json');
  await writeFile(ok, JSON.stringify({ models: { synthesis: 'llama3.1:8b' }, numCtx: 16384, llmTimeoutMs: 60000 }));
  const cfg = loadConfig({ configPath: ok, env: {}, flags: {} });
  t.equal(cfg.models.synthesis, 'llama3.1:8b');
  t.equal(cfg.models.comprehension, 'qwen2.5-coder:7b', 'other models keep their defaults');
  t.equal(cfg.numCtx, 16384);
  t.equal(cfg.llmTimeoutMs, 60000);
  const cases: [unknown, RegExp][] = [
    [{ numCtx: 1000 }, /"numCtx" must be an integer from 2048 to 1048576, not 1000/],
    [{ numCtx: 8192.5 }, /"numCtx" must be an integer/],
    [{ numCtx: '8192' }, /"numCtx" must be a number/],
    [{ llmTimeoutMs: 0 }, /"llmTimeoutMs" must be an integer from 1000/],
    [{ llmAnswerTokens: 5000, numCtx: 8192 }, /"llmAnswerTokens" must be at most half of numCtx \(8192\)/],
    [{ models: { embedding: 'bad name' } }, /"models\.embedding" must be an Ollama model name like qwen2\.5-coder:7b, not "bad name"/],
    [{ models: { synthesis: '' } }, /"models\.synthesis" must be an Ollama model name/],
  ];
  for (const [i, [body, message]] of cases.entries()) {
    const file = path.join(dir, `c${i}.json`);
    await writeFile(file, JSON.stringify(body));
    t.throws(() => loadConfig({ configPath: file, env: {}, flags: {} }), { constructor: KgentError, code: 'config', message });
  }
});
