/**
 * One control-socket connection (daemon/server/connection.ts) on a real Unix socket, apart from
 * the server's admission: lines dispatched in order once the peer is admitted, notifications, the
 * idle timeout and what holds it off, the time bound on a request line, oversized messages, a
 * refused peer, and the end (abort signal, close hooks, the server told once).
 */
import t from 'tap';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Connection, type ConnectionContext, type ConnectionOptions } from '../../../daemon/server/connection.js';
import { KgentError } from '../../../daemon/errors.js';
import { ErrorCodes } from '../../../daemon/protocol/jsonrpc.js';

const quiet = pino({ level: 'silent' });

interface Served {
  readonly client: net.Socket;
  /** Lines the client received, parsed. */
  readonly received: Record<string, unknown>[];
  readonly ended: Promise<void>;
  readonly conn: Promise<Connection>;
  readonly onEndCalls: () => number;
  readonly refused: string[];
  next(): Promise<Record<string, unknown>>;
}

async function serve(t: Tap.Test, over: Partial<ConnectionOptions> = {}): Promise<Served> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-conn-'));
  const sock = path.join(dir, 's');
  let onEnd = 0;
  const refused: string[] = [];
  let gotConn!: (c: Connection) => void;
  const conn = new Promise<Connection>((r) => (gotConn = r));
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    const c = new Connection(s, {
      connectionId: 1,
      cred: { pid: process.pid, uid: 4242, gid: 4242, groups: null },
      maxMessageBytes: 1024,
      idleMs: 60_000,
      lineMs: 60_000,
      maxPendingWriteBytes: 1 << 20,
      logger: quiet,
      identify: async (cred) => ({ ...cred, groups: [cred.gid], user: 'tester' }),
      dispatch: async (line, ctx, send) => {
        const msg = JSON.parse(line) as { id: number; method: string };
        if (msg.method === 'hold') {
          const release = ctx.busy();
          setTimeout(release, 600);
        }
        send({ jsonrpc: '2.0', id: msg.id, result: { method: msg.method, user: ctx.peer.user } });
      },
      refuse: (so, message) => {
        refused.push(message);
        so.end();
      },
      onEnd: () => onEnd++,
      ...over,
    });
    gotConn(c);
    c.start();
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const client = net.connect(sock);
  client.on('error', () => undefined);
  const received: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  let buf = '';
  client.on('data', (d) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      received.push(m);
      waiters.shift()?.(m);
    }
  });
  const ended = new Promise<void>((r) => client.on('close', () => r()));
  await new Promise<void>((r) => client.on('connect', () => r()));
  t.teardown(async () => {
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  let read = 0;
  return {
    client,
    received,
    ended,
    conn,
    refused,
    onEndCalls: () => onEnd,
    next: () => (read < received.length ? Promise.resolve(received[read++]!) : new Promise((r) => waiters.push((m) => (read++, r(m))))),
  };
}

const send = (s: Served, obj: object): boolean => s.client.write(`${JSON.stringify(obj)}\n`);

t.test('lines are dispatched in order with the identified peer, notifications reach the client', async (t) => {
  const s = await serve(t);
  send(s, { jsonrpc: '2.0', id: 1, method: 'a' });
  send(s, { jsonrpc: '2.0', id: 2, method: 'b' });
  t.same(await s.next(), { jsonrpc: '2.0', id: 1, result: { method: 'a', user: 'tester' } });
  t.same(await s.next(), { jsonrpc: '2.0', id: 2, result: { method: 'b', user: 'tester' } });
  const conn = await s.conn;
  // Passed on as a plain function, as handlers may.
  const notify = conn.notify;
  t.equal(notify({ method: 'kgent/progress' } as never, { n: 1 }), true);
  t.same(await s.next(), { jsonrpc: '2.0', method: 'kgent/progress', params: { n: 1 } });
});

t.test('an idle connection is closed with a line saying why; a held one is not', async (t) => {
  const s = await serve(t, { idleMs: 300 });
  send(s, { jsonrpc: '2.0', id: 1, method: 'hold' });
  await s.next();
  // Held for 600 ms from the request: past one idle period, still open.
  await new Promise((r) => setTimeout(r, 450));
  t.equal(s.received.length, 1, 'not closed while held');
  const closing = await s.next();
  t.equal((closing['error'] as { code: number }).code, ErrorCodes.Timeout);
  t.match((closing['error'] as { message: string }).message, 'connection idle for 300 ms');
  await s.ended;
  // The server side sees its socket close a moment after the client does.
  for (let i = 0; i < 100 && s.onEndCalls() === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(s.onEndCalls(), 1);
});

t.test('a request line not ended in time closes the connection; bytes alone do not reset the bound', async (t) => {
  const s = await serve(t, { lineMs: 300 });
  s.client.write('{"jsonrpc":"2.0",');
  await new Promise((r) => setTimeout(r, 150));
  s.client.write('"id":1,');
  const closing = await s.next();
  t.equal((closing['error'] as { code: number }).code, ErrorCodes.Timeout);
  t.match((closing['error'] as { message: string }).message, 'request line not completed within 300 ms');
  await s.ended;
});

t.test('an oversized message gets an error and the connection keeps working', async (t) => {
  const s = await serve(t);
  s.client.write(`${'x'.repeat(2000)}\n`);
  const err = await s.next();
  t.equal((err['error'] as { code: number }).code, ErrorCodes.MessageTooLarge);
  send(s, { jsonrpc: '2.0', id: 7, method: 'after' });
  t.same((await s.next())['id'], 7);
});

t.test('a peer the admission refuses is told why and nothing it sent is dispatched', async (t) => {
  let dispatched = 0;
  const s = await serve(t, {
    admit: () => {
      throw new KgentError('forbidden', 'not in the kgent group');
    },
    dispatch: async () => {
      dispatched++;
    },
  });
  send(s, { jsonrpc: '2.0', id: 1, method: 'a' });
  await s.ended;
  t.same(s.refused, ['not in the kgent group']);
  t.equal(dispatched, 0);
});

t.test('the end aborts the signal, runs close hooks once, and tells the server once', async (t) => {
  const s = await serve(t);
  const conn: ConnectionContext = await s.conn;
  let hooks = 0;
  conn.onClose(() => hooks++);
  conn.onClose(() => {
    throw new Error('a failing hook does not stop the others');
  });
  conn.onClose(() => hooks++);
  const aborted = new Promise<void>((r) => conn.signal.addEventListener('abort', () => r()));
  t.equal(conn.closed, false);
  conn.close('bye now');
  const closing = await s.next();
  t.equal((closing['error'] as { code: number }).code, ErrorCodes.Refused);
  t.match((closing['error'] as { message: string }).message, 'bye now');
  await aborted;
  await s.ended;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(conn.closed, true);
  t.equal(hooks, 2);
  t.equal(s.onEndCalls(), 1);
  let late = 0;
  conn.onClose(() => late++);
  t.equal(late, 1, 'a hook added after the end runs at once');
  t.equal(conn.notify({ method: 'x' } as never, {}), false, 'nothing is sent after the end');
});
