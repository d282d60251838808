import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contractsCommand } from '../../cli/commands/contracts-command.js';
import { CliError } from '../../cli/exit-codes.js';
import { createContractService } from '../../kernel-contracts/service.js';
import { registerContractMethods } from '../../daemon/contracts/contracts-methods.js';
import { InProcessServer } from '../support/in-process-server.js';
import { fixtureHost } from '../../kernel-contracts/kernel-reader/host.js';
import { makeFakeKernel, HAVE_REAL_BTF } from './helpers/fake-kernel.js';
import { subsetLoader } from './helpers/subset-btf.js';

function bufferIo() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

t.test('kgentctl contracts against the handlers (in-process JSON-RPC stand-in)', { skip: HAVE_REAL_BTF ? false : 'no kernel BTF on this host' }, async (t) => {
  const k = makeFakeKernel({ btf: true });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-cli-contracts-'));
  const svc = createContractService({ stateDir, host: fixtureHost(k.root), sourceTree: null, watchPaths: [], loadBtf: subsetLoader(['tcp_connect']) });
  t.teardown(async () => {
    await svc.stop();
    k.remove();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  await svc.start();
  await svc.whenIdle();
  const server = new InProcessServer();
  registerContractMethods(server, svc);
  // Params, results and notifications go through a JSON round trip, as over the socket.
  const call = async () => server.client();

  let b = bufferIo();
  t.equal(await contractsCommand(['show', 'struct:sock:__sk_common.skc_dport'], b.io, call), 0);
  t.match(b.out.stdout, /^struct:sock:__sk_common\.skc_dport\n/);
  t.match(b.out.stdout, /type\s+__be16/);
  t.match(b.out.stdout, /width\s+16 bits, unsigned/);
  t.match(b.out.stdout, /byte order\s+big-endian/);
  t.match(b.out.stdout, /offset\s+12 bytes \(bit 96\) from the start of struct sock/);
  t.comment(b.out.stdout);

  b = bufferIo();
  t.equal(await contractsCommand(['show', 'kprobe:tcp_connect'], b.io, call), 0);
  t.match(b.out.stdout, /kprobe:tcp_connect: kprobe is NOT available on this kernel — CONFIG_KPROBES is not set/);
  t.match(b.out.stdout, /int tcp_connect\(struct sock \*sk\)/);
  t.match(b.out.stdout, /sk\s+struct sock \*\s+64\s+-\s+host\s+may be NULL\s+arg0 \| args->sk/);

  b = bufferIo();
  t.equal(await contractsCommand(['show', 'tracepoint:sock:inet_sock_set_state', '--json'], b.io, call), 0);
  const j = JSON.parse(b.out.stdout);
  t.equal(j.kind, 'contract');
  t.ok(j.contract.conditions.some((c: { expr: { op: string; lhs: { field: string }; rhs: number[] } }) => c.expr.op === 'in' && c.expr.lhs.field === 'family'));

  b = bufferIo();
  t.equal(await contractsCommand(['search', 'inet', 'sock', 'state', '-k', '3'], b.io, call), 0);
  t.match(b.out.stdout, /tracepoint:sock:inet_sock_set_state/);
  t.match(b.out.stdout, /\(full-text search\)/);

  b = bufferIo();
  t.equal(await contractsCommand(['status'], b.io, call), 0);
  t.match(b.out.stdout, /kernel contracts: ready/);
  t.match(b.out.stdout, /kprobe: unavailable — CONFIG_KPROBES is not set/);

  b = bufferIo();
  t.equal(await contractsCommand(['rebuild'], b.io, call), 0);
  t.match(b.out.stderr, /\] functions \d+\/\d+: /);
  t.match(b.out.stdout, /^rebuilt in [\d.]+ s: \d+ functions, 5 tracepoints/);

  b = bufferIo();
  t.equal(await contractsCommand(['rebuild', '--if-changed', '--json'], b.io, call), 0);
  t.equal(JSON.parse(b.out.stdout).started, false);

  for (const argv of [['show'], ['show', 'no such thing'], ['search'], ['search', 'x', '-k', '0'], ['frobnicate'], ['status', '--bogus']]) {
    const e = await contractsCommand(argv, bufferIo().io, call).catch((x: unknown) => x);
    t.ok(e instanceof CliError && e.exitCode === 2, `usage error: ${argv.join(' ')}`);
  }
  const missing = await contractsCommand(['show', 'tracepoint:no:where'], bufferIo().io, call).catch((x: unknown) => x);
  t.match((missing as Error).message, /no such hook/);
});
