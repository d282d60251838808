/**
 * kgentctl's client against a misbehaving stand-in on a real Unix socket: per-call time limits,
 * and replies that are not JSON-RPC are errors the user sees in one line, never skipped.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KgentClient, RpcError } from '../../cli/client.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { main } from '../../cli/main.js';
import { Status } from '../../daemon/protocol/index.js';

/** A socket server answering each request line with `reply(request)` (a raw line, or nothing). */
async function standIn(t: { teardown(fn: () => void): void }, reply: (req: { id: number; method: string }) => string | undefined): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-client-'));
  const socket = path.join(dir, 's.sock');
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { id: number; method: string };
        buf = buf.slice(nl + 1);
        const out = reply(req);
        if (out !== undefined) c.write(`${out}\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return socket;
}

t.test('a call that gets no answer times out with one clear line', async (t) => {
  const socket = await standIn(t, () => undefined);
  const c = await KgentClient.connect(socket);
  t.teardown(() => c.close());
  const e = await c.call(Status, {}, { timeoutMs: 200 }).catch((x: unknown) => x);
  t.ok(e instanceof CliError, 'CliError');
  t.equal((e as CliError).exitCode, ExitCode.DaemonError);
  t.match((e as Error).message, /^kgentd did not answer daemon\.status within 200 ms; /);
});

t.test('a late answer to a timed-out call is dropped; the connection keeps working', async (t) => {
  let n = 0;
  const socket = await standIn(t, (req) => {
    n++;
    if (n === 1) return undefined; // never answered in time...
    // ...answered after the second request arrives, then the second.
    return `${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { late: true } })}\n${JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { ok: true } })}`;
  });
  const c = await KgentClient.connect(socket);
  t.teardown(() => c.close());
  await t.rejects(c.call(Status, {}, { timeoutMs: 100 }), /did not answer/);
  t.same(await c.call(Status, {}), { ok: true });
});

t.test('unparsable replies are errors, never skipped', async (t) => {
  const cases: { name: string; line: string; message: RegExp }[] = [
    { name: 'not JSON', line: 'hello there', message: /sent a line that is not JSON: "hello there"; is it a kgentd/ },
    { name: 'JSON but not JSON-RPC', line: '{"foo":1}', message: /sent a message that answers no request of this connection: / },
    { name: 'answer to another id', line: '{"jsonrpc":"2.0","id":99,"result":1}', message: /answers no request/ },
  ];
  for (const c of cases) {
    const socket = await standIn(t, () => c.line);
    const client = await KgentClient.connect(socket);
    const e = await client.call(Status, {}).catch((x: unknown) => x);
    client.close();
    t.ok(e instanceof CliError, `${c.name}: CliError`);
    t.match((e as Error).message, c.message, c.name);
    t.notOk((e as Error).message.includes('\n'), `${c.name}: one line`);
  }
  // An error the daemon could not attach to a request (it could not parse ours) is shown as such.
  const socket = await standIn(t, () => '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: x"}}');
  const client = await KgentClient.connect(socket);
  const e = await client.call(Status, {}).catch((x: unknown) => x);
  client.close();
  t.ok(e instanceof RpcError && e.message === 'parse error: x');
});

t.test('kgentctl status against a garbling socket: exit 6 and one line on stderr', async (t) => {
  const socket = await standIn(t, () => 'garbage');
  let err = '';
  const code = await main(['--socket', socket, 'status'], { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } }, {});
  t.equal(code, ExitCode.DaemonError);
  t.match(err, /^kgentctl status: kgentd at .* sent a line that is not JSON: "garbage"; /);
  t.equal(err.trimEnd().split('\n').length, 1);
});
