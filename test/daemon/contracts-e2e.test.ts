/**
 * Kernel contracts through the real daemon: built in the background from this machine's BTF and
 * tracefs, then served to kgentctl contracts show/status/search over the socket.
 */
import t from 'tap';
import { builtOrReason, createDaemon, eventually } from '../support/daemon-harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root for tracefs' : builtOrReason();

t.test('kgentd builds and serves kernel contracts', { skip }, async (t) => {
  const d = await createDaemon({ config: { contracts: { rebuildOnStart: true, watchPaths: [] } } });
  t.teardown(() => d.cleanup());
  await d.start();
  const status = await eventually(async () => {
    const s = await d.ctlJson<{ state?: string; counts?: { functions: number; tracepoints: number } }>(['contracts', 'status']);
    return s.counts && s.counts.functions > 0 ? s : undefined;
  }, 120_000, 'a built dataset');
  t.ok(status.counts!.tracepoints > 100, `tracepoints: ${status.counts!.tracepoints}`);

  const member = await d.ctl(['contracts', 'show', 'struct:sock:__sk_common.skc_dport']);
  t.equal(member.exitCode, 0, member.stderr);
  t.match(member.stdout, /__be16/);
  t.match(member.stdout, /big-endian/);

  const tp = await d.ctl(['--json', 'contracts', 'show', 'tracepoint:sock:inet_sock_set_state']);
  t.equal(tp.exitCode, 0, tp.stderr);
  t.match(tp.stdout, /"family"/);

  const missing = await d.ctl(['contracts', 'show', 'tracepoint:nope:nothing']);
  t.equal(missing.exitCode, 4);
  t.match(missing.stderr, /no such hook/);

  const search = await d.ctl(['contracts', 'search', 'tcp', 'state', 'change']);
  t.equal(search.exitCode, 0, search.stderr);
  t.match(search.stdout, /tcp|sock/);
});
