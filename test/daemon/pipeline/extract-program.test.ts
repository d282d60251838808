/**
 * Getting the program out of LLM answers as models really write them: fenced with or without a
 * language tag, prose around, a shell block to run it, several blocks, no fence at all.
 */
import t from 'tap';
import { extractProgram } from '../../../daemon/pipeline/extract-program.js';

const PROG = 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }';

const cases: [string, string, string | undefined][] = [
  ['fenced bpftrace', `Here it is:\n\n\`\`\`bpftrace\n${PROG}\n\`\`\`\n\nRun it as root.`, PROG],
  ['fenced without a tag', `\`\`\`\n${PROG}\n\`\`\``, PROG],
  ['unfenced, no prose', PROG, PROG],
  ['unfenced in prose', `Sure! The program below counts opens.\n${PROG}\nThis prints a map at exit.`, PROG],
  ['shell block first, program second', `\`\`\`sh\nsudo bpftrace opens.bt\n\`\`\`\n\`\`\`bpftrace\n${PROG}\n\`\`\``, PROG],
  ['only a bpftrace -e command', `\`\`\`bash\nsudo bpftrace -e '${PROG}'\n\`\`\``, PROG],
  ['tilde fence', `~~~bt\n${PROG}\n~~~`, PROG],
  ['CRLF line ends', `\`\`\`bpftrace\r\n${PROG}\r\n\`\`\`\r\n`, PROG],
  ['empty answer', '   ', undefined],
];

t.test('extracts the program', async (t) => {
  for (const [name, answer, want] of cases) {
    const r = extractProgram(answer);
    t.equal(r.source?.trim(), want, `${name} (${r.how})`);
    if (want) t.ok(r.program, `${name}: parses`);
  }
});

t.test('several bpftrace blocks: the one that parses', async (t) => {
  const answer = `\`\`\`bpftrace\ntracepoint:syscalls:sys_enter_openat { @[comm] = count() \n\`\`\`\nOops, fixed:\n\`\`\`bpftrace\n${PROG}\n\`\`\``;
  t.equal(extractProgram(answer).source?.trim(), PROG);
});

t.test('no block parses: the likeliest, with its errors as feedback', async (t) => {
  const r = extractProgram('```bpftrace\ntracepoint:syscalls:sys_enter_openat { @[comm] = count( }\n```');
  t.notOk(r.program);
  t.ok(r.source?.includes('sys_enter_openat'));
  t.ok(r.diagnostics.some((d) => d.severity === 'error' && d.span), 'a parse error with a span');
});
