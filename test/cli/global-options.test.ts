/**
 * Global options anywhere on the line, for every command (`kgentctl contracts status --socket S`
 * used to fail while `kgentctl --socket S status` worked), and error lines that say their prefix once.
 */
import t from 'tap';
import { errorLine, extractGlobals, main } from '../../cli/main.js';

function buffers(): { io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } },
    out: () => out,
    err: () => err,
  };
}

t.test('global options are taken from anywhere', async (t) => {
  t.same(extractGlobals(['contracts', 'status', '--socket', '/s']), { socket: '/s', json: false, rest: ['contracts', 'status'] });
  t.same(extractGlobals(['--json', 'list', '--socket=/x', '--all']), { socket: '/x', json: true, rest: ['list', '--all'] });
  t.same(extractGlobals(['request', '--', '--json']), { json: false, rest: ['request', '--', '--json'] });
});

t.test('every command reaches the socket given after it', async (t) => {
  const socket = '/nonexistent/kgent-test.sock';
  for (const argv of [
    ['status', '--socket', socket],
    ['contracts', 'status', '--socket', socket],
    ['examples', 'list', '--socket', socket],
    ['list', '--json', '--socket', socket],
    ['requests', `--socket=${socket}`],
    ['request', 'count opens', '--socket', socket],
  ]) {
    const b = buffers();
    const code = await main(argv, b.io, {});
    t.equal(code, 3, `${argv.join(' ')}: kgentd not reachable at the given socket (${b.err().trim()})`);
    t.match(b.err(), socket, 'the message names the socket given');
    t.notMatch(b.err(), /kgentctl (\w+): kgentctl \1:/, 'the prefix is said once');
  }
});

t.test('error lines say their prefix once', async (t) => {
  t.equal(errorLine('contracts', 'kgentctl contracts: no such hook'), 'kgentctl contracts: no such hook\n');
  t.equal(errorLine('request', 'kgentctl request: kgentctl request: x'), 'kgentctl request: x\n');
  t.equal(errorLine('list', 'kgentd did not answer'), 'kgentctl list: kgentd did not answer\n');
});
