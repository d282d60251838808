/**
 * `kgentctl request` on a real terminal (tmux): Ctrl-C at the hint> prompt and during a slow LLM
 * call, with the real kgentd and the Ollama-protocol stand-in playing the model.
 */
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { builtOrReason, CLI_JS, createDaemon, eventually, type DaemonHandle } from '../support/daemon-harness.js';
import { matchScript, startOllamaStandin, type StandinScriptEntry } from '../support/ollama-standin.js';

const MODELS = ['qwen2.5-coder:7b', 'nomic-embed-text'];
const SYNTHESIS = 'Write the program for the request.';

async function hasTmux(): Promise<boolean> {
  return (await execa('tmux', ['-V'], { reject: false })).exitCode === 0;
}

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (kgentd kernel checks)';
  return builtOrReason();
}

/** A tmux server of its own, running one command in a 160x50 terminal. */
async function terminal(t: Test, command: string): Promise<{ screen(): Promise<string>; keys(...k: string[]): Promise<void> }> {
  const server = `kgent-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await execa('tmux', ['-L', server, 'new-session', '-d', '-x', '160', '-y', '50', `${command}; echo "exit=$?"; sleep 120`]);
  t.teardown(() => execa('tmux', ['-L', server, 'kill-server'], { reject: false }).then(() => undefined));
  return {
    screen: async () => (await execa('tmux', ['-L', server, 'capture-pane', '-p', '-S', '-200'])).stdout,
    keys: async (...k) => void (await execa('tmux', ['-L', server, 'send-keys', ...k])),
  };
}

async function withDaemon(t: Test, script: StandinScriptEntry[], fn: (d: DaemonHandle) => Promise<void>): Promise<void> {
  const standin = await startOllamaStandin({ chat: matchScript(script), models: MODELS });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host } });
  t.teardown(async () => {
    await d.cleanup();
    await standin.close();
  });
  await d.start();
  await fn(d);
}

const skip = skipReason();

t.test('Ctrl-C at hint> cancels with its own message and exit status', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  if (!(await hasTmux())) return t.skip('tmux not installed');
  await withDaemon(t, [{ match: SYNTHESIS, response: 'I am not sure which probe to use.' }], async (d) => {
    const term = await terminal(t, `${process.execPath} ${CLI_JS} --socket ${d.socket} request --trials 1 "count program executions per command"`);
    await eventually(async () => (await term.screen()).includes('hint>'), 60_000, 'the hint prompt').catch(async (err: Error) => {
      throw new Error(`${err.message}; the screen:\n${await term.screen()}`);
    });
    await term.keys('C-c');
    const screen = await eventually(async () => {
      const s = await term.screen();
      return /exit=\d+/.test(s) ? s : undefined;
    }, 20_000, 'kgentctl to end');
    t.match(screen, /cancelled; R\d+ still needs a hint: kgentctl hint R\d+ "TEXT"/);
    t.match(screen, /exit=130/);
    t.notMatch(screen, /unexpected error|Aborted with Ctrl\+C|journalctl/);
    // The parse error's hint is said once, indented under its feedback line, here and in show.
    t.equal((screen.match(/HINT: providers/g) ?? []).length, 1, 'the hint once in the live progress');
    t.notMatch(screen, /\(hint: /);
    const show = await d.ctl(['show', 'R1']);
    t.equal((show.stdout.match(/HINT: providers/g) ?? []).length, 1, 'the hint once in show');
    t.match(show.stdout, /^ {2}feedback \(parse\): program\.bt:1:1.*\n {20}HINT: providers/m, 'indented under its feedback line');
  });
});

t.test('Ctrl-C during a slow LLM call cancels the request; the stage is not shown as finished', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  if (!(await hasTmux())) return t.skip('tmux not installed');
  await withDaemon(t, [{ match: SYNTHESIS, response: 'too late', delayMs: 30_000 }], async (d) => {
    const term = await terminal(t, `${process.execPath} ${CLI_JS} --socket ${d.socket} request --trials 1 "count program executions per command"`);
    await eventually(async () => (await term.screen()).includes('synthesizing (LLM) ...'), 60_000, 'the LLM stage to start');
    await new Promise((r) => setTimeout(r, 1000));
    await term.keys('C-c');
    const screen = await eventually(async () => {
      const s = await term.screen();
      return /exit=\d+/.test(s) ? s : undefined;
    }, 30_000, 'kgentctl to end');
    t.match(screen, /cancelling R\d+ \.\.\./);
    t.match(screen, /synthesizing \(LLM\): cancelled after \d/);
    t.notMatch(screen, /synthesizing \(LLM\): [\d.]+ m?s\b/, 'not shown as if it finished');
    t.match(screen, /request R\d+: cancelled/);
    t.match(screen, /exit=130/);
  });
});

t.test('a slow model: the stage shows at once, its time ticks and its tokens count on a terminal; plain lines in a pipe', { skip: skip ?? false, timeout: 150_000 }, async (t) => {
  if (!(await hasTmux())) return t.skip('tmux not installed');
  const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
  const script: StandinScriptEntry[] = [
    { match: SYNTHESIS, response: words, chunkDelayMs: 150 },
    { match: SYNTHESIS, response: words, chunkDelayMs: 20 },
  ];
  await withDaemon(t, script, async (d) => {
    const term = await terminal(t, `${process.execPath} ${CLI_JS} --socket ${d.socket} request --trials 1 "count program executions per command"`);
    // While the model writes: the stage is on screen with its elapsed time and tokens so far.
    const during = await eventually(async () => {
      const s = await term.screen();
      const m = /\[R1 1\/1\] synthesizing \(LLM\) \.\.\. ([\d.]+) (m?s), (\d+) tokens?/.exec(s);
      return m && Number(m[3]) > 0 && Number(m[3]) < 30 ? m : undefined;
    }, 30_000, 'tokens while the model writes');
    t.ok(during, `live: ${during[0]}`);
    const later = await eventually(async () => {
      const m = /\[R1 1\/1\] synthesizing \(LLM\) \.\.\. ([\d.]+) (m?s), (\d+) tokens?/.exec(await term.screen());
      return m && Number(m[3]) > Number(during[3]) ? m : undefined;
    }, 10_000, 'the count to grow');
    t.ok(later, `then: ${later[0]}`);
    const end = await eventually(async () => {
      const s = await term.screen();
      return s.includes('hint>') ? s : undefined;
    }, 30_000, 'the end of the round');
    t.match(end, /\[R1 1\/1\] synthesizing \(LLM\): [\d.]+ s, 30 tokens\n/, 'the finished line keeps time and tokens');
    t.notMatch(end, /synthesizing \(LLM\) \.\.\./, 'the in-place line was replaced, not left behind');
    await term.keys('C-c');

    // In a pipe: a line when a stage starts and one when it ends, no carriage returns or escapes.
    const r = await d.ctl(['request', '--trials', '1', 'count program executions per command']);
    t.match(r.stderr, /\[R2 1\/1\] synthesizing \(LLM\) \.\.\.\n(.*\n)*?\[R2 1\/1\] synthesizing \(LLM\): [\d.]+ (m?s), 30 tokens\n/);
    t.notMatch(r.stderr, /[\r\x1b]/);
  });
});

t.test('the candidate shown with needs-hint is the one --accept-unverified takes; verdict lines are numbered in the annotated program shown', { skip: skip ?? false, timeout: 150_000 }, async (t) => {
  const EXEC = 'tracepoint:sched:sched_process_exec\n{\n  @execs[comm] = count();\n}';
  const WRONG_ASSERT = 'tracepoint:sched:sched_process_exec\n{\n  @execs[comm] = count();\n  assert(mapval(@execs) == 2);\n}';
  const script: StandinScriptEntry[] = [
    { match: SYNTHESIS, response: `\`\`\`bpftrace\n${EXEC}\n\`\`\`` },
    { match: 'Return the candidate', response: `\`\`\`bpftrace\n${WRONG_ASSERT}\n\`\`\`` },
    { match: null, response: `\`\`\`bpftrace\n${WRONG_ASSERT}\n\`\`\`` },
  ];
  await withDaemon(t, script, async (d) => {
    const r = await d.ctl(['request', '--trials', '1', 'count program executions per command']);
    t.equal(r.exitCode, 5, r.stderr);
    t.match(r.stdout, /request R1: needs-hint/);
    t.match(r.stdout, /last candidate \(NOT verified\):\ntracepoint:sched:sched_process_exec/);
    // Every verdict line points at a numbered line of the annotated program printed above it.
    const verdicts = [...r.stdout.matchAll(/^ {2}line (\d+): \w+: assert\((.+?)\)/gm)];
    t.ok(verdicts.length > 0, 'verdicts shown');
    for (const [, line, text] of verdicts) {
      const numbered = new RegExp(`^ +${line} \\| .*assert\\(${text!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`, 'm');
      t.match(r.stdout, numbered, `line ${line} of what is shown is assert(${text})`);
    }
    t.match(r.stdout, /kgentctl request --accept-unverified R1/, 'the next command offers it');
    const a = await d.ctl(['request', '--accept-unverified', 'R1']);
    t.equal(a.exitCode, 0, a.stderr);
    t.match(a.stdout, /request R1: accepted-unverified/);
    const show = await d.ctl(['show', 'R1']);
    t.match(show.stdout, /annotated \(the line numbers of the feedback below are its own\):\n +1 \| tracepoint:sched:sched_process_exec/);
    const verbose = await d.ctl(['show', 'R1', '-v']);
    for (const title of ['synthesis prompt', 'synthesis answer', 'annotation prompt', 'annotation answer']) t.match(verbose.stdout, new RegExp(`^ {2}${title}:\\n {4}\\S`, 'm'), `show -v has the ${title}`);
    t.match(verbose.stdout, /annotation prompt:\n(.*\n)*? {4}.*Return the candidate/, 'the annotation prompt as sent');
  });
});
