/**
 * Protocol edges: inherited names are unknown fields, and ids come back exactly as sent
 * even when a JavaScript number cannot hold them.
 */
import t from 'tap';
import { encode, keepRawId, RawJsonNumber } from '../../../daemon/protocol/jsonrpc.js';
import { obj, optional, str } from '../../../daemon/protocol/validate.js';
import { builtOrReason, createDaemon, rawExchange } from '../../support/daemon-harness.js';

t.test('__proto__, constructor and other inherited names are unknown fields', async (t) => {
  const schema = obj({ name: optional(str()) });
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    const params = JSON.parse(`{"${key}": {"x": 1}}`) as unknown;
    t.throws(() => schema.parse(params), { code: 'bad-request', message: new RegExp(`unknown field ${key}`) }, key);
  }
  t.same(schema.parse(JSON.parse('{"name":"a"}')), { name: 'a' });
});

t.test('ids a JavaScript number cannot hold are echoed as sent', async (t) => {
  const table = ['1e309', '9007199254740993', '-9007199254740993', '1.0', '1E2', '123456789012345678901234567890', '0.1'];
  for (const raw of table) {
    const line = `{"jsonrpc":"2.0","method":"m","params":{"id":5},"id":${raw}}`;
    const msg = keepRawId(JSON.parse(line), line) as { id: unknown };
    t.ok(msg.id instanceof RawJsonNumber, raw);
    const out = encode({ jsonrpc: '2.0', id: msg.id as RawJsonNumber, result: { id: 7, s: '\u0000' } });
    t.equal(out, `{"jsonrpc":"2.0","id":${raw},"result":{"id":7,"s":"\\u0000"}}\n`, raw);
  }
  const plain = '{"jsonrpc":"2.0","id":42,"method":"m"}';
  t.equal((keepRawId(JSON.parse(plain), plain) as { id: unknown }).id, 42, 'ordinary ids unchanged');
  const dup = '{"id":1,"jsonrpc":"2.0","method":"m","id":1e400}';
  t.equal(((keepRawId(JSON.parse(dup), dup) as { id: RawJsonNumber }).id).text, '1e400', 'the last id counts, as in JSON.parse');
});

t.test('through the daemon', { skip: builtOrReason() }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const ids = ['1e309', '9007199254740993', '"abc"', '7'];
  const payload = ids.map((id) => `{"jsonrpc":"2.0","id":${id},"method":"daemon.status","params":{}}\n`).join('');
  const raw = await rawLines(d.socket, payload, ids.length);
  for (const id of ids) t.ok(raw.some((l) => l.startsWith(`{"jsonrpc":"2.0","id":${id},"result"`)), `id ${id} echoed`);
  const [proto] = (await rawExchange(d.socket, '{"jsonrpc":"2.0","id":1,"method":"programs.list","params":{"__proto__":{"all":true}}}\n', 1)) as {
    error: { code: number; message: string };
  }[];
  t.equal(proto!.error.code, -32602);
  t.match(proto!.error.message, /unknown field __proto__/);
});

async function rawLines(socket: string, payload: string, count: number): Promise<string[]> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= count) {
        c.destroy();
        resolve(lines);
      }
    });
    c.on('error', reject);
    c.write(payload);
  });
}
