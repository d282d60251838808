import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { createContractService } from '../../kernel-contracts/service.js';
import { renderCond } from '../../kernel-contracts/contracts/expr.js';
import { subsetLoader } from './helpers/subset-btf.js';

const haveTracefs = fs.existsSync('/sys/kernel/tracing/events/sock/inet_sock_set_state/format');
const haveBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
const skip = !haveTracefs ? 'tracefs with sock:inet_sock_set_state not available here' : !haveBtf ? 'no kernel BTF (/sys/kernel/btf/vmlinux)' : false;

t.test('live kernel: every tracepoint, a few functions (real BTF types), struct members', { skip }, async (t) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-contracts-live-'));
  const svc = createContractService({ stateDir, host: realHost(), sourceTree: null, watchPaths: [], loadBtf: subsetLoader(['tcp_connect', 'tcp_v4_connect', 'inet_bind'], 0) });
  t.teardown(async () => {
    await svc.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  await svc.start();
  await svc.whenIdle();
  const st = await svc.status();
  t.ok(st.counts.tracepoints > 100, `${st.counts.tracepoints} tracepoints`);
  const tp = await svc.lookup('tracepoint:sock:inet_sock_set_state');
  if (tp?.kind !== 'contract') throw new Error('no contract');
  const conds = tp.contract.conditions.map((c) => renderCond(c.expr));
  t.ok(conds.includes('family in {2, 10}'), 'family in {AF_INET, AF_INET6} from the print fmt');
  const kp = await svc.lookup('kprobe:tcp_connect');
  if (kp?.kind !== 'contract') throw new Error('no contract');
  const kprobeType = st.probeTypes.find((p) => p.probe === 'kprobe');
  t.equal(kp.available, kprobeType?.available, 'kprobe availability as the kernel reader reports it');
  if (!kp.available) t.comment(`kprobe:tcp_connect here: ${kp.reason}`);
  const m = await svc.lookup('struct:sock:__sk_common.skc_dport');
  if (m?.kind !== 'member') throw new Error('no member');
  t.same([m.member.value.type, m.member.value.bits, m.member.value.signed, m.member.value.byteOrder], ['__be16', 16, false, 'big']);
  t.comment(`struct:sock:__sk_common.skc_dport offset ${m.member.offset}`);
});
