import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ContractsLanguageModel } from '../../kernel-contracts/language-model.js';
import { fixtureHost } from '../../kernel-contracts/kernel-reader/host.js';
import { createContractService, type ContractService } from '../../kernel-contracts/service.js';
import { registerContractMethods } from '../../daemon/contracts/contracts-methods.js';
import { kernelContractProvider } from '../../daemon/verification/contract-adapter.js';
import { InProcessServer } from '../support/in-process-server.js';
import { openContractDb, ContractStore } from '../../kernel-contracts/store/contract-db.js';
import { renderCond } from '../../kernel-contracts/contracts/expr.js';
import type { RebuildProgress } from '../../kernel-contracts/api.js';
import { KgentError } from '../../daemon/errors.js';
import { ContractsError } from '../../kernel-contracts/errors.js';
import { startOllamaStandin } from '../support/ollama-standin.js';
import { standinContractsModel } from './helpers/standin-model.js';
import { makeFakeKernel, HAVE_REAL_BTF, RECORDED_FORMATS, type FakeKernel } from './helpers/fake-kernel.js';
import { subsetLoader } from './helpers/subset-btf.js';

const NEED_BTF = HAVE_REAL_BTF ? false : 'no /sys/kernel/btf/vmlinux on this host (kernel without BTF)';
const FUNCS = ['tcp_connect', 'tcp_v4_connect', 'inet_csk_accept', 'tcp_sendmsg'];

interface Env {
  k: FakeKernel;
  stateDir: string;
  svc: ContractService;
}

async function setup(t: Tap.Test, opts: { gate?: () => Promise<void>; watch?: string[]; llm?: ContractsLanguageModel } = {}): Promise<Env> {
  const k = makeFakeKernel({ btf: true });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-contracts-state-'));
  const svc = createContractService({
    stateDir,
    host: fixtureHost(k.root),
    sourceTree: null,
    watchPaths: opts.watch ?? [],
    watchDebounceMs: 100,
    loadBtf: subsetLoader(FUNCS, 200, opts.gate),
    ...(opts.llm ? { llm: opts.llm } : {}),
  });
  t.teardown(async () => {
    await svc.stop();
    k.remove();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return { k, stateDir, svc };
}

// tap's types are global-less here; a tiny alias keeps the helper signature readable.
declare namespace Tap {
  type Test = { teardown(fn: () => unknown): void };
}

t.test('first start builds; lookups of tracepoints, kprobes (unavailable here) and struct members', { skip: NEED_BTF }, async (t) => {
  const { svc } = await setup(t);
  const progress: RebuildProgress[] = [];
  svc.on('progress', (p) => progress.push(p));
  await svc.start();
  t.ok(svc.rebuilding, 'no dataset: a rebuild starts in the background');
  await svc.whenIdle();
  t.ok(progress.some((p) => p.phase === 'functions') && progress.some((p) => p.phase === 'tracepoints') && progress.at(-1)?.phase === 'done', 'progress events through to done');

  const st = await svc.status();
  t.equal(st.state, 'ready');
  t.equal(st.counts.tracepoints, Object.keys(RECORDED_FORMATS).length);
  t.ok(st.counts.functions >= FUNCS.length);
  t.equal(st.running.release, '6.18.0-fake');
  t.same(st.probeTypes.find((p) => p.probe === 'kprobe')?.available, false);

  const tp = await svc.lookup('tracepoint:sock:inet_sock_set_state');
  t.equal(tp?.kind, 'contract');
  if (tp?.kind !== 'contract' || tp.contract.kind !== 'tracepoint') throw new Error('unexpected');
  t.equal(tp.available, true);
  t.ok(tp.contract.conditions.some((c) => renderCond(c.expr) === 'family in {2, 10}'));
  t.ok(tp.contract.conditions.some((c) => c.source === 'print-fmt' && renderCond(c.expr).startsWith('newstate in {1, 2,')));

  const kp = await svc.lookup('kprobe:tcp_connect');
  if (kp?.kind !== 'contract' || kp.contract.kind !== 'function') throw new Error('unexpected');
  t.equal(kp.available, false, 'kprobes are off in the fake kernel config');
  t.match(kp.reason, /CONFIG_KPROBES is not set/);
  t.equal(kp.contract.prototype, 'int tcp_connect(struct sock *sk)');
  t.equal(kp.contract.args[0]?.access['kprobe'], 'arg0');

  const m = await svc.lookup('struct:sock:__sk_common.skc_dport');
  if (m?.kind !== 'member') throw new Error('unexpected');
  t.equal(m.member.value.type, '__be16');
  t.equal(m.member.value.bits, 16);
  t.equal(m.member.value.signed, false);
  t.equal(m.member.value.byteOrder, 'big');
  t.equal(m.member.offset, 12, 'skc_dport sits at byte 12 of struct sock (via struct sock_common)');
  t.ok(m.member.conditions.some((c) => renderCond(c.expr) === 'sock->__sk_common.skc_dport is big-endian'));

  t.equal(await svc.lookup('tracepoint:nope:nope'), undefined);
  t.equal(await svc.lookup('kprobe:no_such_function_here'), undefined);
  await t.rejects(svc.lookup('not a hook!'), /is not a hook name/);
});

t.test('identity change on restart -> rebuild; same identity -> no rebuild', { skip: NEED_BTF }, async (t) => {
  const { k, stateDir, svc } = await setup(t);
  await svc.start();
  await svc.whenIdle();
  const g1 = (await svc.status()).generation;
  await svc.stop();

  const again = createContractService({ stateDir, host: fixtureHost(k.root), sourceTree: null, watchPaths: [], loadBtf: subsetLoader(FUNCS) });
  await again.start();
  t.notOk(again.rebuilding, 'same kernel: the stored dataset is used');
  t.equal((await again.status()).generation, g1);
  await again.stop();

  k.setRelease('6.19.0-fake', '#2 SMP PREEMPT_DYNAMIC newer');
  const third = createContractService({ stateDir, host: fixtureHost(k.root), sourceTree: null, watchPaths: [], loadBtf: subsetLoader(FUNCS) });
  t.teardown(() => third.stop());
  await third.start();
  t.ok(third.rebuilding, 'different identity: rebuild started');
  const during = await third.status();
  t.equal(during.state, 'stale', 'the previous dataset is served, marked stale');
  t.equal(during.dataset?.release, '6.18.0-fake');
  await third.whenIdle();
  const after = await third.status();
  t.equal(after.state, 'ready');
  t.equal(after.dataset?.release, '6.19.0-fake');
  t.not(after.generation, g1);
});

t.test('lookups during a rebuild are served from the previous dataset; a failed rebuild keeps it', { skip: NEED_BTF }, async (t) => {
  let hold: (() => void) | undefined;
  let gateOn = false;
  let fail = false;
  const gate = async (): Promise<void> => {
    if (gateOn) await new Promise<void>((r) => (hold = r));
    if (fail) throw new Error('simulated BTF read failure');
  };
  const { k, svc } = await setup(t, { gate });
  await svc.start();
  await svc.whenIdle();
  const g1 = (await svc.status()).generation!;

  k.setRelease('6.20.0-fake');
  gateOn = true;
  const rebuilding = svc.rebuild({ force: true });
  await new Promise((r) => setTimeout(r, 200));
  t.ok(svc.rebuilding);
  const st = await svc.status();
  t.equal(st.generation, g1, 'still generation 1 while building');
  t.ok(st.rebuilding, 'status reports the rebuild in progress');
  const tp = await svc.lookup('tracepoint:tcp:tcp_retransmit_skb');
  t.equal(tp?.kind, 'contract', 'lookup answered from the previous dataset, not empty');
  const hits = await svc.search('retransmit', 5);
  t.equal(hits.hits[0]?.id, 'tracepoint:tcp:tcp_retransmit_skb', 'search answered too');
  gateOn = false;
  hold?.();
  const r = await rebuilding;
  t.ok(r.generation! > g1);
  t.equal((await svc.status()).dataset?.release, '6.20.0-fake');

  fail = true;
  await t.rejects(svc.rebuild({ force: true }), /simulated BTF read failure/);
  const after = await svc.status();
  t.equal(after.generation, r.generation, 'failed build: the previous generation stays current');
  t.match(after.lastError, /simulated/);
  t.equal((await svc.lookup('tracepoint:sock:inet_sock_set_state'))?.kind, 'contract');
});

t.test('search returns only hooks that exist on this kernel', { skip: NEED_BTF }, async (t) => {
  const { k, svc } = await setup(t);
  await svc.start();
  await svc.whenIdle();
  const before = await svc.search('net dev xmit', 5);
  t.equal(before.mode, 'full-text');
  t.equal(before.hits[0]?.id, 'tracepoint:net:net_dev_xmit');
  t.same(before.hits[0]?.probes, ['tracepoint:net:net_dev_xmit', 'rawtracepoint:net:net_dev_xmit']);
  // The new kernel has no net:net_dev_xmit.
  fs.rmSync(path.join(k.root, 'sys/kernel/tracing/events/net'), { recursive: true });
  fs.writeFileSync(path.join(k.root, 'sys/kernel/tracing/available_events'), Object.keys(RECORDED_FORMATS).filter((x) => !x.startsWith('net:')).join('\n') + '\n');
  k.setRelease('6.21.0-fake');
  await svc.rebuild({ force: true });
  const after = await svc.search('net dev xmit', 5);
  t.notOk(after.hits.some((h) => h.id === 'tracepoint:net:net_dev_xmit'), 'gone with the kernel that had it');
  const fn = await svc.search('tcp connect', 10, { kind: 'function' });
  t.ok(fn.hits.some((h) => h.id === 'function:tcp_connect'));
  t.same(fn.hits.find((h) => h.id === 'function:tcp_connect')?.probes, [], 'no probe type attaches to functions here');
  const attachable = await svc.search('tcp connect', 10, { attachable: true });
  t.notOk(attachable.hits.some((h) => h.kind === 'function'), 'attachable: only hooks some probe type can attach to');
  // "connect" stands for the socket state change tracepoint (search/request-terms.ts); the
  // text match tcp_retransmit_skb is still found, filtered in the index.
  t.equal(attachable.hits[0]?.id, 'tracepoint:sock:inet_sock_set_state', 'the request vocabulary ranks the connect hook first');
  t.ok(attachable.hits.some((h) => h.id === 'tracepoint:tcp:tcp_retransmit_skb'), 'filtered in the index, so attachable hooks are still found');
});

t.test('hybrid search when an embedding model is available (stand-in)', { skip: NEED_BTF }, async (t) => {
  const s = await startOllamaStandin({ models: ['coder', 'embedder'], embedModels: ['embedder'] });
  t.teardown(() => s.close());
  const { svc } = await setup(t, { llm: standinContractsModel(s.host, { embedModel: 'embedder' }) });
  await svc.start();
  await svc.whenIdle();
  t.equal((await svc.status()).search.vectors, true);
  const r = await svc.search('socket state change', 3);
  t.equal(r.mode, 'hybrid');
  t.ok(r.hits.length > 0);
  t.ok(s.requests.filter((x) => x.path === '/api/embed').length >= 2, 'documents and the query were embedded');
});

t.test('watcher: a new kernel dir under lib/modules triggers an identity check and rebuild', { skip: NEED_BTF }, async (t) => {
  const libModules = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-lib-modules-'));
  t.teardown(() => fs.rmSync(libModules, { recursive: true, force: true }));
  const { k, svc } = await setup(t, { watch: [libModules] });
  await svc.start();
  await svc.whenIdle();
  const g1 = (await svc.status()).generation;
  const installed = new Promise<string[]>((r) => svc.on('kernel-installed', r));
  const rebuilt = new Promise<number>((r) => svc.on('rebuilt', (x) => r(x.generation)));
  k.setRelease('6.22.0-fake');
  fs.mkdirSync(path.join(libModules, '6.22.0-fake'));
  const added = await installed;
  t.ok(added.some((p) => p.endsWith('6.22.0-fake')));
  const g2 = await rebuilt;
  t.not(g2, g1);
  t.equal((await svc.status()).dataset?.release, '6.22.0-fake');
});

t.test('enrichment on first use through the stand-in: validated, cached per identity; malformed never stored', { skip: NEED_BTF }, async (t) => {
  const good = JSON.stringify({
    summary: 'Sends the SYN.',
    pre: [{ expr: { op: 'ne', lhs: { field: 'sk' }, rhs: 0 }, note: 'always a socket' }],
    post: [{ expr: { op: 'le', lhs: { ret: true }, rhs: 0 }, note: '0 or -errno' }],
  });
  const bad = '{"pre": [{"expr": {"op": "ne", "lhs": {"field": "sock"}, "rhs": 0}}], "post": []}';
  const s = await startOllamaStandin({ chat: [bad, good, bad, bad, bad], models: ['coder'] });
  t.teardown(() => s.close());
  const { stateDir, svc } = await setup(t, { llm: standinContractsModel(s.host, { chatModel: 'coder' }) });
  await svc.start();
  await svc.whenIdle();
  const shown = await svc.lookup('kprobe:tcp_connect', { enrich: true });
  if (shown?.kind !== 'contract') throw new Error('unexpected');
  t.equal(shown.contract.enrichment?.attempts, 2, 'malformed first answer, then a good one');
  t.ok(shown.contract.conditions.some((c) => c.source === 'llm' && renderCond(c.expr) === 'sk != 0'));
  t.equal(s.chatRequests().length, 2);
  const again = await svc.lookup('kprobe:tcp_connect', { enrich: true });
  t.equal(s.chatRequests().length, 2, 'cached: no new LLM call');
  t.ok(again?.kind === 'contract' && again.contract.enrichment);
  t.ok(svc.contract('function:tcp_connect')?.conditions.some((c) => c.source === 'llm'), 'cached conditions come with plain lookups too');

  const err = await svc.enrich('tracepoint:sock:inet_sock_set_state').catch((e: unknown) => e);
  t.ok(err instanceof ContractsError && err.code === 'refused', 'three malformed answers -> refused');
  t.match((err as Error).message, /rejected after 3 answer\(s\)/);
  const store = new ContractStore(openContractDb(stateDir));
  const st = await svc.status();
  t.equal(store.enrichment(st.dataset!.key, 'tracepoint:sock:inet_sock_set_state', 'coder'), undefined, 'nothing stored for the rejected hook');
  t.ok(store.enrichment(st.dataset!.key, 'function:tcp_connect', 'coder'));
  t.equal(st.enrichment.cached, 1);
  store.close();
});

t.test('handlers validate params and map results', { skip: NEED_BTF }, async (t) => {
  const { svc } = await setup(t);
  await svc.start();
  await svc.whenIdle();
  const server = new InProcessServer();
  registerContractMethods(server, svc);
  const notes: unknown[] = [];
  const ctx = { connectionId: 1, notify: (spec: { method: string }, p: unknown) => notes.push([spec.method, p]) > 0, onClose: () => undefined, closed: false };
  const h = (method: string) => (params: unknown) => server.handlers.get(method)!(params, ctx);
  await t.rejects(h('contracts.show')({}), /hook/);
  await t.rejects(h('contracts.show')({ hook: 'kprobe:tcp_connect', extra: 1 }), /unknown field extra/);
  await t.rejects(h('contracts.search')({ text: 'x', k: 1000 }), /<= 100/);
  const nf = await h('contracts.show')({ hook: 'tracepoint:a:b' }).catch((e: unknown) => e);
  t.ok(nf instanceof KgentError && nf.code === 'not-found', 'unknown hook -> not-found');
  const r = (await h('contracts.rebuild')({})) as { started: boolean };
  t.equal(r.started, true);
  t.ok(notes.length > 3 && notes.every((n) => (n as [string])[0] === 'contracts.progress'));
  const show = (await h('contracts.show')({ hook: 'struct:sock:__sk_common.skc_dport' })) as { kind: string; member: { conditions: { text: string }[] } };
  t.equal(show.kind, 'member');
});

t.test('verifier provider: fields, kernel members and preconditions', { skip: NEED_BTF }, async (t) => {
  const { svc } = await setup(t);
  await svc.start();
  await svc.whenIdle();
  const p = kernelContractProvider(svc);
  const fields = await p.tracepointFields('sock', 'inet_sock_set_state');
  const family = fields?.find((f) => f.name === 'family');
  // The print table {AF_INET, AF_INET6} is a hint, not a domain: the verifier never assumes it.
  t.equal(family?.enumDomain, undefined);
  t.equal(family?.size, 2);
  const dport = await p.kernelField('sock', ['__sk_common', 'skc_dport']);
  t.same([dport?.kind, dport?.size, dport?.signed, dport?.byteOrder], ['int', 2, false, 'big']);
  const pre = await p.preconditions!({ provider: 'kretprobe', target: ['tcp_connect'] });
  // tcp_connect returns an int: its range says nothing of the 64-bit retval register.
  t.notOk(pre.some((e) => JSON.stringify(e).includes('"builtin":"retval"')), 'no retval range facts from a 32-bit return type');
  t.equal(await p.tracepointFields('nope', 'nope'), undefined);
});
