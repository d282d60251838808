import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SourceReader, parseKernelDoc, findDefaultSourceTree } from '../../kernel-contracts/source-reader/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureTree = path.join(here, '..', 'fixtures', 'kernel-contracts', 'source-tree');

t.test('kernel-doc parsing', async (t) => {
  const cases: { name: string; comment: string; want: Partial<ReturnType<typeof parseKernelDoc>> }[] = [
    {
      name: 'name - summary, params, context, return',
      comment: '/**\n * foo - do a thing\n * @a: first\n * @b: second,\n *     continued\n *\n * Longer text\n * here.\n *\n * Context: any context.\n * Return: 0 or -errno.\n */',
      want: {
        name: 'foo',
        summary: 'do a thing',
        params: [
          { name: 'a', description: 'first' },
          { name: 'b', description: 'second, continued' },
        ],
        description: 'Longer text here.',
        context: 'any context.',
        returns: '0 or -errno.',
      },
    },
    {
      name: 'name() form and Returns:',
      comment: '/**\n * bar() - other thing\n *\n * Returns: nothing useful\n */',
      want: { name: 'bar', summary: 'other thing', params: [], returns: 'nothing useful', context: undefined },
    },
    {
      name: 'summary wrapping onto two lines',
      comment: '/**\n * baz - a summary that\n *   wraps\n * @x: y\n */',
      want: { summary: 'a summary that wraps', params: [{ name: 'x', description: 'y' }] },
    },
  ];
  for (const c of cases) {
    const got = parseKernelDoc(c.comment);
    for (const [k, v] of Object.entries(c.want)) t.same((got as unknown as Record<string, unknown>)[k], v, `${c.name}: ${k}`);
  }
});

t.test('fixture tree: index, comments, bodies', async (t) => {
  const r = new SourceReader(fixtureTree);
  const stats = await r.buildIndex();
  t.equal(stats.files, 3);
  t.ok(stats.functions >= 6, `found ${stats.functions} definitions`);
  t.notOk(r.locate('fixture_table').length, 'an initialiser with a brace on its own line is not a function');
  t.ok(r.locate('__x64_sys_fork').length, 'SYSCALL_DEFINE0(fork) indexed under its syscall symbol names');

  const tc = await r.lookup('tcp_connect');
  t.ok(tc);
  t.equal(tc!.file, 'net/ipv4/tcp_output.c', '.c definition, not the .h prototype');
  t.equal(tc!.signature, 'int tcp_connect(struct sock *sk)');
  t.equal(tc!.doc?.summary, 'build and send a SYN to start an active open');
  t.same(tc!.doc?.params, [{ name: 'sk', description: 'the socket to connect; must be locked and in TCP_SYN_SENT' }]);
  t.equal(tc!.doc?.context, 'process context, socket lock held.');
  t.equal(tc!.doc?.returns, '0 on success, or a negative errno such as -ENOBUFS.');
  t.match(tc!.body, /^\{[\s\S]*return 0;\n\}$/, 'body runs to the matching brace despite braces in strings and nested blocks');
  t.equal(r.summary('tcp_connect'), 'build and send a SYN to start an active open', 'summary straight from the index');

  const v4 = await r.lookup('tcp_v4_connect');
  t.equal(v4!.signature, 'int tcp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len)');
  t.equal(v4!.doc?.params.length, 3);
  t.match(v4!.doc?.params[1]?.description, /network byte order/);
  t.equal(v4!.doc?.returns, '0 or a negative errno.');

  const fin = await r.lookup('tcp_send_fin');
  t.equal(fin!.doc, undefined, 'a plain comment is not kernel-doc');
  t.match(fin!.commentText, /queue a FIN/);

  const helper = await r.lookup('fixture_helper');
  t.equal(helper!.comment, undefined, 'no comment directly above');

  const inl = await r.lookup('sk_fullsock');
  t.equal(inl!.file, 'include/linux/fixture.h');
  t.equal(inl!.doc?.returns, 'true unless @sk is a request or timewait socket.');
  t.equal(await r.lookup('no_such_function'), undefined);
});

t.test('index save and reload', async (t) => {
  const r = new SourceReader(fixtureTree);
  await r.buildIndex();
  const data = JSON.parse(JSON.stringify(r.toIndexData()));
  const r2 = new SourceReader(fixtureTree);
  t.ok(r2.loadIndexData(data));
  t.equal((await r2.lookup('wake_up_new_task'))?.doc?.summary, 'wake up a newly created task for the first time.');
  const other = new SourceReader(os.tmpdir());
  t.notOk(other.loadIndexData(data), 'an index of another tree is refused');
});

t.test('findDefaultSourceTree picks a /usr/src/linux-* directory, not a tarball', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-usrsrc-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  fs.writeFileSync(path.join(base, 'linux-source-6.1.tar.xz'), '');
  t.equal(findDefaultSourceTree(base), undefined);
  fs.mkdirSync(path.join(base, 'linux-source-6.1', 'kernel'), { recursive: true });
  fs.writeFileSync(path.join(base, 'linux-source-6.1', 'Makefile'), '');
  t.equal(findDefaultSourceTree(base), path.join(base, 'linux-source-6.1'));
});

const tarball = '/usr/src/linux-source-6.1.tar.xz';
t.test('real tree: Debian linux-source-6.1 (net/ipv4, include/linux, kernel)', { skip: fs.existsSync(tarball) ? false : `${tarball} not present (apt install linux-source-6.1)` }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-linux-src-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const top = 'linux-source-6.1';
  execFileSync('tar', ['-xJf', tarball, '-C', dir, '--wildcards', `${top}/Makefile`, `${top}/net/ipv4/*`, `${top}/include/linux/*`, `${top}/kernel/*`], { stdio: 'ignore', timeout: 120_000 });
  const r = new SourceReader(path.join(dir, top));
  const stats = await r.buildIndex();
  t.comment(`real tree index: ${stats.files} files, ${stats.functions} definitions, ${stats.documented} kernel-doc, ${Math.round(stats.buildMs)} ms`);
  t.ok(stats.functions > 10_000);
  const tc = await r.lookup('tcp_connect');
  t.equal(tc?.file, 'net/ipv4/tcp_output.c');
  t.match(tc?.signature, /^int tcp_connect\(struct sock \*sk\)$/);
  t.match(tc?.body, /tcp_transmit_skb|tcp_connect_init/);
  const v4 = await r.lookup('tcp_v4_connect');
  t.equal(v4?.file, 'net/ipv4/tcp_ipv4.c');
  const wake = await r.lookup('wake_up_new_task');
  t.equal(wake?.file, 'kernel/sched/core.c');
  t.match(wake?.doc?.summary, /wake up a newly created task/i);
  t.same(wake?.doc?.params, [], 'a plain comment in kernel-doc shape is parsed as kernel-doc');
  const inet = await r.lookup('inet_csk_accept');
  t.ok(inet?.doc?.returns === undefined || typeof inet?.doc?.returns === 'string');
});
