import t from 'tap';
import { main, HELP } from '../../cli/main.js';

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } },
  };
}

t.test('kgentctl usage and exit statuses', async (t) => {
  const cases: { argv: string[]; code: number; stderr?: RegExp; stdout?: RegExp }[] = [
    { argv: ['--help'], code: 0, stdout: /Exit status:/ },
    { argv: [], code: 2, stderr: /Usage: kgentctl/ },
    { argv: ['frobnicate'], code: 2, stderr: /unknown command "frobnicate"/ },
    { argv: ['--bogus'], code: 2, stderr: /unknown option --bogus; see kgentctl --help/ },
    { argv: ['show'], code: 2, stderr: /missing program ID/ },
    { argv: ['show', 'abc'], code: 2, stderr: /"abc" is not a program ID/ },
    { argv: ['run'], code: 2, stderr: /missing FILE\.bt/ },
    { argv: ['run', '/nonexistent/x.bt'], code: 2, stderr: /cannot read \/nonexistent\/x\.bt: no such file \(ENOENT\)/ },
    { argv: ['logs', '1', '-n', 'many'], code: 2, stderr: /-n wants a count/ },
    { argv: ['--socket', '/nonexistent/kgentd.sock', 'status'], code: 3, stderr: /^kgentctl status: kgentd is not running \(no socket at \/nonexistent\/kgentd\.sock\)/ },
    { argv: ['--socket', '/nonexistent/kgentd.sock', 'doctor'], code: 1, stdout: /^fail  kgentd/ },
    { argv: ['verify'], code: 2 },
    // The host checks name the language kgentd would work in with this host's bpftrace.
    { argv: ['--socket', '/nonexistent/kgentd.sock', 'doctor'], code: 1, stdout: /\nok +bpftrace dialect +bpftrace 0\.17\.\d+: programs are verified and written under bpftrace 0\.17's rules/ },
    // A version kgent does not model is the user's to fix: a usage error, one line, no "report this".
    { argv: ['verify', '--local', '--dialect', '0.9', 'test/golden/verifier/proved/assume-excludes-ignored-inputs.bt'], code: 2, stderr: /^kgentctl verify: unknown bpftrace dialect "0\.9": bpftrace 0\.9 is older than 0\.17[^\n]*\n$/ },
    { argv: ['verify', '--local', '--dialect', '9.1', 'test/golden/verifier/proved/assume-excludes-ignored-inputs.bt'], code: 2, stderr: /^kgentctl verify: unknown bpftrace dialect "9\.1": newer than the newest kgent models/ },
  ];
  for (const c of cases) {
    const { io: cio, out } = io();
    const code = await main(c.argv, cio, {});
    t.equal(code, c.code, `kgentctl ${c.argv.join(' ')} -> ${c.code} (${out.stderr.trim().split('\n')[0]})`);
    if (c.stderr) t.match(out.stderr, c.stderr);
    if (c.stdout) t.match(out.stdout, c.stdout);
    if (c.code !== 0) t.notOk(out.stderr.includes('\n    at '), 'no stack trace for the user');
  }
  t.match(HELP, /3 {2}kgentd not reachable/);
});
