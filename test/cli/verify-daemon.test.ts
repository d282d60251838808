/**
 * `kgentctl verify` end to end through the real kgentd (compiled, on a temp socket): the daemon
 * verifies with the running kernel's contracts and says so; with kgentd gone the CLI verifies
 * locally with the host's BTF and tracefs and says that instead; exit statuses are the same.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ALL_METHODS, ErrorCodes } from '../../daemon/protocol/index.js';
import { builtOrReason, createDaemon, eventually, rawExchange, type DaemonHandle } from '../support/daemon-harness.js';
import { goldenDir } from '../support/golden.js';

const g = (rel: string): string => path.join(goldenDir(), rel);
const HAVE_BTF = existsSync('/sys/kernel/btf/vmlinux');
const HAVE_CONNECT_TP = existsSync('/sys/kernel/tracing/events/syscalls/sys_enter_connect/format');

interface VerifyJson {
  verdict: string;
  assertions: { line: number; verdict: string }[];
  contracts: { source: string; kernel?: string; description: string };
}

t.test('kgentctl verify through kgentd, then locally when kgentd is gone', { skip: builtOrReason() ?? false }, async (t) => {
  const d: DaemonHandle = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();

  const proved = await d.ctl(['verify', g('proved/filter-pid.bt')]);
  t.equal(proved.exitCode, 0, `proved -> 0 (${proved.stderr})`);
  t.match(proved.stdout, /^contracts: kernel \S+ via kgentd/);
  t.match(proved.stdout, /filter-pid\.bt: proved: /);

  const refuted = await d.ctl(['verify', g('refuted/byteorder-double-swap.bt')]);
  t.equal(refuted.exitCode, 1, 'refuted -> 1');
  t.match(refuted.stdout, /refuted: assert\(mapkey\(@conns, 0\) == args->dport\); counterexample: /);

  const j = JSON.parse((await d.ctl(['--json', 'verify', g('proved/filter-pid.bt')])).stdout) as VerifyJson;
  t.equal(j.verdict, 'proved');
  t.equal(j.contracts.source, 'kernel');
  t.match(j.contracts.description, /via kgentd/);

  const invalid = await d.ctl(['verify', g('invalid/syntax-error-assert.bt')]);
  t.equal(invalid.exitCode, 4, 'invalid -> 4');
  t.match(invalid.stdout, /syntax-error-assert\.bt:6:\d+(-\d+)?: ERROR: /);

  const usage = await d.ctl(['verify', '/nonexistent/x.bt']);
  t.equal(usage.exitCode, 2, 'unreadable file -> 2, before asking anyone');

  if (HAVE_BTF && HAVE_CONNECT_TP) {
    // Kernel BTF reaches the verifier through the daemon: struct sockaddr_in through a cast.
    const btf = await d.ctl(['--json', 'verify', g('proved/btf-cast-sockaddr-port.bt')]);
    const r = JSON.parse(btf.stdout) as VerifyJson;
    t.equal(r.verdict, 'proved', `BTF cast proved via kgentd (${btf.stdout.slice(0, 400)})`);
    const wrong = await d.ctl(['verify', g('refuted/btf-cast-sockaddr-port-no-bswap.bt')]);
    t.equal(wrong.exitCode, 1, 'the same without bswap is refuted via kgentd');
  } else t.comment('no kernel BTF or no syscalls:sys_enter_connect: BTF cast case skipped');

  // A print table reaches the verifier through the daemon as a hint (once the contracts store has
  // the tracepoint): an assume it backs gives proved-under-hints, with the hint and its source.
  let ready = await d.ctl(['contracts', 'status']);
  if (/^kernel contracts: empty/m.test(ready.stdout)) {
    await d.ctl(['contracts', 'rebuild']);
    ready = await d.ctl(['contracts', 'status']);
  }
  if (/^kernel contracts: (ready|building)/m.test(ready.stdout)) {
    await eventually(async () => /^kernel contracts: ready/m.test((await d.ctl(['contracts', 'status'])).stdout), 180_000, 'contracts ready');
    const hinted = await d.ctl(['verify', g('proved-under-hints/hint-print-table-family.bt')]);
    t.equal(hinted.exitCode, 0, `proved under hints -> 0 (${hinted.stdout}${hinted.stderr})`);
    t.match(hinted.stdout, /proved-under-hints/);
    t.match(hinted.stdout, /print table of tracepoint:sock:inet_sock_set_state/);
  } else t.comment(`contracts store off in this daemon: hint case skipped (${ready.stdout.split('\n')[0]})`);

  // Every method of the protocol is served, each validating its params (no raw handlers).
  const lines = ALL_METHODS.map((m, i) => JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: m.method, params: { bogus: 1 } })).join('\n');
  const answers = (await rawExchange(d.socket, `${lines}\n`, ALL_METHODS.length)) as { id: number; error?: { code: number; message: string } }[];
  for (const a of answers) {
    const m = ALL_METHODS[a.id - 1]!.method;
    t.equal(a.error?.code, ErrorCodes.InvalidParams, `${m}: served, unknown field rejected (${a.error?.message})`);
  }

  // --local and --formats never ask the daemon.
  const local = await d.ctl(['verify', '--local', g('proved/filter-pid.bt')]);
  t.equal(local.exitCode, 0);
  t.match(local.stdout, /^contracts: local BTF \+ tracefs/);
  t.notMatch(local.stdout, /not reachable/);

  await d.kill('SIGTERM');
  const fallback = await d.ctl(['verify', g('proved/filter-pid.bt')]);
  t.equal(fallback.exitCode, 0, `proved locally -> 0 (${fallback.stderr})`);
  t.match(fallback.stdout, /^contracts: local BTF \+ tracefs.* \(kgentd not reachable\)\n/);
  const fj = JSON.parse((await d.ctl(['--json', 'verify', g('refuted/byteorder-double-swap.bt')])).stdout) as VerifyJson;
  t.equal(fj.verdict, 'refuted');
  t.equal(fj.contracts.source, 'local');
  t.match(fj.contracts.description, /kgentd not reachable/);
});
