/**
 * What a member sees of bpftrace's stderr (daemon/kernel-check/compiler-output.ts): clang's lines
 * about an included file become a location and kgent's reason; the text goes to the log only.
 * The stderr lines are as bpftrace 0.17 printed them for `#include "x"` of a file holding
 * `root:$6$abcdef:...` and `secret_token_xyz` (checked by hand before the policy refused it).
 */
import t from 'tap';
import { reasonOnly, withholdIncludedFileText } from '../../../daemon/kernel-check/compiler-output.js';

const PROGRAM = '/var/lib/kgent/checks/kgent-check-abc/program.bt';

t.test('lines about an included file keep their location, lose their text', async (t) => {
  const stderr = [
    "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.",
    "./etc/shadow:1:1: warning: type specifier missing, defaults to 'int' [-Wimplicit-int]",
    "./etc/shadow:1:6: error: use of undeclared identifier '$6$abcdef'",
    './etc/shadow:2:1: error: secret_token_xyz other words here',
    'secret_token_xyz other words here',
    '                 ^',
    'In file included from definitions.h:2:',
    "definitions.h:3:10: fatal error: 'linux/nope.h' file not found",
    `${PROGRAM}:2:24-40: ERROR: Unknown identifier: 'x'`,
    '/other/file.bt:2:24-40: ERROR: Unknown identifier: secret_token_q',
  ];
  const { lines, withheld } = withholdIncludedFileText(stderr, PROGRAM);
  const shown = lines.join('\n');
  t.notMatch(shown, /secret_token|\$6\$abcdef|Unknown identifier: secret/, 'nothing of the file is shown');
  t.match(shown, /\.\/etc\/shadow:1:6: error: use of an undeclared identifier \(in an included file; its text is in kgentd's log\)/);
  t.match(shown, /\.\/etc\/shadow:2:1: error: a compile error \(in an included file/);
  t.match(shown, /definitions\.h:3:10: fatal error: 'linux\/nope\.h' file not found/, "the program's own preamble is shown");
  t.match(shown, new RegExp(`${PROGRAM}:2:24-40: ERROR: Unknown identifier: 'x'`), 'bpftrace on the program itself is shown');
  t.match(shown, /couldn't set RLIMIT_MEMLOCK/, 'lines without a file are kept');
  t.ok(withheld.some((l) => l.includes("'$6$abcdef'")), 'the log gets the full text');
  t.ok(withheld.includes('secret_token_xyz other words here'), 'excerpt lines under a withheld line are withheld too');
});

t.test('reasons are kgent\'s words, never clang\'s', async (t) => {
  const cases: [string, string][] = [
    ["use of undeclared identifier 'secret'", 'use of an undeclared identifier'],
    ["unknown type name 'root'", 'unknown type name'],
    ["expected ';' after top level declarator", 'syntax error'],
    ["'x.h' file not found", 'a file it includes was not found'],
    ['anything at all from #error', 'a compile error'],
  ];
  for (const [message, reason] of cases) t.equal(reasonOnly(message), reason, message);
});
