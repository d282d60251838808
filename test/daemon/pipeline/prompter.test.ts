/**
 * The Prompter's parts: the request with its hints, this host's facts (bpftrace dialect, probe
 * types and why some are missing), hooks with widths and byte order (hints marked as such), ranked
 * examples, every feedback message in order; and for comprehension the kernel fields it reads.
 */
import t from 'tap';
import { deriveTracepointContract } from '../../../kernel-contracts/contracts/derive.js';
import { parseTracepointFormat } from '../../../kernel-contracts/kernel-reader/tracepoint-format.js';
import { comprehensionParts, synthesisParts } from '../../../daemon/pipeline/prompter.js';
import { assemblePrompt } from '../../../daemon/pipeline/assemble.js';
import { readFileSync } from 'node:fs';
import { recordedFormatsDir } from '../../support/recorded-contracts.js';
import path from 'node:path';

const fmt = parseTracepointFormat('sock', 'inet_sock_set_state', readFileSync(path.join(recordedFormatsDir(), 'sock/inet_sock_set_state/format'), 'utf8'));
const hook = deriveTracepointContract(fmt, [{ probe: 'tracepoint', available: true }]);
const host = {
  bpftraceVersion: '0.17.0',
  kernelRelease: '6.18.0',
  probeAvailable: (p: string) => !p.startsWith('kprobe') && !p.startsWith('kretprobe'),
  probeReason: () => 'CONFIG_KPROBES is not set',
};

t.test('synthesis parts', async (t) => {
  const parts = synthesisParts({
    text: 'new TCP connections with ports',
    hints: ['use the tracepoint'],
    host,
    hooks: [hook],
    examples: [
      { id: 'network/a', kind: 'dataset', prompt: 'p1', program: 'BEGIN { }' },
      { id: 'avoid/R1', kind: 'learned-avoid', prompt: 'p2', program: 'BEGIN { x }', feedback: ['parse: bad'] },
    ],
    feedback: [
      { attempt: 1, stage: 'symbolic', message: 'line 4: assert(printed(1) == args->dport) does not hold' },
      { attempt: 2, stage: 'kernel', message: 'the verifier rejected it' },
    ],
  });
  t.match(parts.fixed['request'], /new TCP connections with ports\nHints from the user \(follow them\):\n- use the tracepoint/);
  t.match(parts.fixed['dialect'], /args->name on bpftrace 0\.17\.0/);
  t.match(parts.fixed['probeTypes'], /NOT available on this host \(never use\): kprobe \(CONFIG_KPROBES is not set\)/);
  t.match(parts.fixed['hooks'], /args->dport: __u16 \(16-bit unsigned\)/);
  t.match(parts.fixed['hooks'], /hint from print-fmt, not guaranteed/, 'print tables are marked as hints');
  t.same(parts.examples.map((e) => e.id), ['network/a', 'avoid/R1'], 'ranked order kept');
  t.match(parts.examples[1]?.text, /FAILED; avoid its mistake/);
  t.same(parts.feedback, ['attempt 1, symbolic: line 4: assert(printed(1) == args->dport) does not hold', 'attempt 2, kernel: the verifier rejected it']);
  const built = assemblePrompt('synthesis', parts, { numCtx: 8192, answerTokens: 1024 });
  t.equal(built.messages.length, 2);
  t.match(built.messages[1]?.content, /attempt 2, kernel/);
  t.same(built.trim.droppedExamples, []);
});

t.test('comprehension parts carry the kernel fields the candidate reads', async (t) => {
  const parts = comprehensionParts({
    text: 'ports of connect() calls',
    hints: [],
    candidate: 'tracepoint:syscalls:sys_enter_connect { $sa = (struct sockaddr_in *)args->uservaddr; printf("%d\\n", bswap($sa->sin_port)); }',
    hooks: [hook],
    members: [{ struct: 'sockaddr_in', member: 'sin_port', type: '__be16' }],
    examples: [{ id: 'network/b', kind: 'dataset', prompt: 'p', program: 'BEGIN { }', annotated: 'BEGIN { assert(1); }' }],
    feedback: [
      { attempt: 1, stage: 'parse', message: 'x' },
      { attempt: 1, stage: 'guard', message: 'assume constrains $x' },
    ],
  });
  t.match(parts.fixed['contracts'], /struct sockaddr_in\.sin_port: __be16 \(network byte order/);
  t.same(parts.feedback, ['attempt 1, guard: assume constrains $x'], 'comprehension sees the feedback about annotations');
  t.match(parts.examples[0]?.text, /Annotated program/);
});
