/**
 * The hooks that fit a request when no contracts index exists yet (kgentd's first minutes, or
 * contracts disabled): read from this host's real tracefs, ranked by the request's vocabulary and
 * the examples' hooks; an example's kprobe never becomes a hook that fits.
 */
import fs from 'node:fs';
import t from 'tap';
import { kernelHookSource } from '../../../daemon/contracts/hooks.js';
import { realHost } from '../../../kernel-contracts/kernel-reader/host.js';

const skip = fs.existsSync('/sys/kernel/tracing/events/sock/inet_sock_set_state/format') ? false : 'needs tracefs with sock:inet_sock_set_state';

t.test('no contracts index: vocabulary and example hooks over tracefs', { skip }, async (t) => {
  const hooks = kernelHookSource(undefined, realHost());
  const cases: { text: string; examples?: string[]; want: string; never?: string }[] = [
    { text: 'trace tcp connects with ports in host byte order', examples: ['kprobe:tcp_connect'], want: 'tracepoint:sock:inet_sock_set_state', never: 'function:tcp_connect' },
    { text: 'count file opens per process', want: 'tracepoint:syscalls:sys_enter_openat' },
    { text: 'what is my server doing', examples: ['tracepoint:sched:sched_switch'], want: 'tracepoint:sched:sched_switch' },
    { text: 'latency of block requests', want: 'tracepoint:block:block_rq_issue' },
  ];
  for (const c of cases) {
    const got = (await hooks.fitting(c.text, 4, c.examples)).map((x) => x.id);
    t.ok(got.includes(c.want), `${c.text}: ${c.want} in ${got.join(', ')}`);
    t.ok(got.length <= 4);
    if (c.never) t.notOk(got.includes(c.never), `${c.text}: never ${c.never}`);
  }
  t.same(await hooks.fitting('zzz qqq', 4), [], 'nothing known: nothing offered');
});
