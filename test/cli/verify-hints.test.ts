import t from 'tap';
import { VERIFY_USAGE } from '../../cli/commands/verify-command.js';
import { verificationLines } from '../../cli/commands/programs-command.js';
import { golden, recordedFormats, runVerify } from '../support/verify-cli.js';

const run = runVerify;
const g = golden;
const formats = recordedFormats();

t.test('proved-under-hints: exit 0, the label and every hint with its source', async (t) => {
  const r = await run([g('proved-under-hints/hint-family-and-errno-two-probes.bt'), ...formats]);
  t.equal(r.code, 0, 'verified: exit status 0');
  t.equal(r.err, '');
  t.match(r.out, /two-probes\.bt:4: hint: args->family is one of AF_INET \(2\), AF_INET6 \(10\) \(source: print table of tracepoint:sock:inet_sock_set_state/);
  t.match(r.out, /two-probes\.bt:12: hint: args->ret >= -4095 \(source: kernel documentation: .*MAX_ERRNO = 4095 \(include\/linux\/err\.h\)/);
  t.match(r.out, /two-probes\.bt: proved-under-hints: every assertion holds on every path, if the hints listed above hold/);
});

t.test('--json carries the verdict and the hints', async (t) => {
  const r = await run([g('proved-under-hints/hint-max-errno-openat.bt'), ...formats, '--json']);
  t.equal(r.code, 0);
  const j = JSON.parse(r.out) as { verdict: string; hints: { hint: string; source: string; usedBy: number }[] };
  t.equal(j.verdict, 'proved-under-hints');
  t.same(j.hints.map((h) => [h.usedBy, h.hint]), [[5, 'args->ret >= -4095']]);
});

t.test('a proof without hints has none, and an assume no hint backs stays invalid', async (t) => {
  const proved = await run([g('proved/hint-not-needed-predicate.bt'), ...formats, '--json']);
  t.equal(proved.code, 0);
  t.same((JSON.parse(proved.out) as { hints: unknown[] }).hints, []);
  const invalid = await run([g('invalid/hint-none-backs-protocol-udp.bt'), ...formats]);
  t.equal(invalid.code, 4);
  t.notMatch(invalid.out, /hint: /);
});

t.test('--help documents the verdict and its exit status', async (t) => {
  t.match(VERIFY_USAGE, /proved-under-hints/);
  t.match(VERIFY_USAGE, /0 proved or proved-under-hints/);
});

t.test('the approval view lists the hints the approver accepts', async (t) => {
  t.same(verificationLines(undefined, 'x'), []);
  t.same(verificationLines({ requestId: 3, verdict: 'proved', hints: [] }, 'x'), ['  verified:     proved (request R3)']);
  const lines = verificationLines(
    { requestId: 7, verdict: 'proved-under-hints', hints: [{ hint: 'args->ret >= -4095', source: 'kernel documentation: MAX_ERRNO', usedBy: 5 }] },
    'approving it accepts these hints',
  );
  t.match(lines.join('\n'), /verified: +proved-under-hints \(request R7\)\n +hints: +approving it accepts these hints \(not kernel guarantees\):\n +- args->ret >= -4095 \[assume at line 5\]; source: kernel documentation: MAX_ERRNO/);
});
