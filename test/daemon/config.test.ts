import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULTS, loadConfig, normaliseOllamaHost } from '../../daemon/config.js';
import { KgentError } from '../../daemon/errors.js';
import { execa } from 'execa';
import { builtOrReason, DAEMON_JS } from '../support/daemon-harness.js';

t.test('configuration layers: defaults < file < env < flags', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-config-'));
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ allowUnsafe: true, runner: { maxRestarts: 5 }, stateDir: '/srv/kgent' }));
  const cfg = loadConfig({ configPath: file, env: { KGENT_STATE_DIR: '/env/state', OLLAMA_HOST: '10.0.0.5:11434' }, flags: { socket: 'rel.sock' } });
  t.equal(cfg.allowUnsafe, true);
  t.equal(cfg.runner.maxRestarts, 5);
  t.equal(cfg.runner.restartDelayMs, DEFAULTS.runner.restartDelayMs, 'nested defaults kept');
  t.equal(cfg.stateDir, '/env/state', 'env beats file');
  t.equal(cfg.socketPath, path.resolve('rel.sock'), 'flag, made absolute');
  t.equal(cfg.ollamaHost, 'http://10.0.0.5:11434');
  const none = loadConfig({ env: { KGENT_CONFIG: undefined }, flags: {}, configPath: undefined as unknown as string });
  t.ok(none.socketPath);
});

t.test('bad configuration is one clear error naming file and key', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-config-'));
  const cases: { text: string; message: RegExp }[] = [
    { text: '{ nope', message: /is not valid JSON/ },
    { text: '{"sockt": "/x"}', message: /unknown key "sockt"/ },
    { text: '{"runner": {"maxRestarts": "3"}}', message: /"runner\.maxRestarts" must be a number/ },
    { text: '[]', message: /top level must be an object/ },
    { text: '{"maxMessageBytes": -5}', message: /"maxMessageBytes" must be an integer from 4096 to 67108864, not -5/ },
    { text: '{"maxProgramBytes": 1.5}', message: /"maxProgramBytes" must be an integer/ },
    { text: '{"runner": {"maxRestarts": -1}}', message: /"runner\.maxRestarts" must be an integer from 0/ },
    { text: '{"policy": {"maxConnectionsPerUid": 0}}', message: /"policy\.maxConnectionsPerUid" must be an integer from 1/ },
    { text: '{"policy": {"idleTimeoutMs": 10}}', message: /"policy\.idleTimeoutMs" must be an integer from 1000/ },
    { text: '{"policy": {"maxConnections": 4, "maxConnectionsPerUid": 8}}', message: /must be at most policy\.maxConnections \(4\)/ },
    { text: '{"policy": {"maxRequestChars": 100000}}', message: /"policy\.maxRequestChars" must be an integer from 16 to 8192/ },
    { text: '{"policy": {"members": {"probeTypes": ["kprobes"]}}}', message: /"policy\.members\.probeTypes\[0\]" must be "\*" or one of/ },
    { text: '{"policy": {"adminGroup": "kgent admin"}}', message: /"policy\.adminGroup" must be a user or group name/ },
    { text: '{"policy": {"admins": {"unsafe": "yes"}}}', message: /"policy\.admins\.unsafe" must be a boolean/ },
    { text: '{"policy": {"revokedPrograms": "kill"}}', message: /"policy\.revokedPrograms" must be "stop" or "flag", not "kill"/ },
    { text: '{"policy": {"requestLineTimeoutMs": 0}}', message: /"policy\.requestLineTimeoutMs" must be an integer from 100/ },
    { text: '{"policy": {"membershipSweepMs": 10}}', message: /"policy\.membershipSweepMs" must be an integer from 1000/ },
    { text: '{"maxRunningKernelChecksPerUid": 0}', message: /"maxRunningKernelChecksPerUid" must be an integer from 1 to 64/ },
    { text: '{"maxQueuedKernelChecksPerUid": -1}', message: /"maxQueuedKernelChecksPerUid" must be an integer from 0/ },
    { text: '{"mcp": {"adminsMayApprove": "yes"}}', message: /"mcp\.adminsMayApprove" must be a boolean/ },
    { text: '{"mcp": {"membersMayApprove": true}}', message: /unknown key "mcp\.membersMayApprove"/ },
    { text: '{"adminKernelCheckSlots": 1.5}', message: /"adminKernelCheckSlots" must be an integer from 0 to 64/ },
    { text: '{"kernelCheckMaxWaitMs": 5}', message: /"kernelCheckMaxWaitMs" must be an integer from 1000/ },
    { text: '{"storage": {"maxFieldBytes": 10}}', message: /"storage\.maxFieldBytes" must be an integer from 1024/ },
    { text: '{"storage": {"maxFieldBytes": 2000000, "maxRequestBytes": 1000000}}', message: /"storage\.maxFieldBytes" must be at most storage\.maxRequestBytes/ },
    { text: '{"storage": {"memberQuotaBytes": 1000}}', message: /"storage\.memberQuotaBytes" must be an integer from 1048576/ },
    { text: '{"storage": {"memberQuotaRequests": -1}}', message: /"storage\.memberQuotaRequests" must be an integer from 0/ },
    { text: '{"log": {"maxBytes": 100}}', message: /"log\.maxBytes" must be an integer from 65536/ },
    { text: '{"log": {"keep": 0}}', message: /"log\.keep" must be an integer from 1 to 100/ },
  ];
  for (const [i, c] of cases.entries()) {
    const file = path.join(dir, `c${i}.json`);
    await writeFile(file, c.text);
    t.throws(() => loadConfig({ configPath: file, env: {}, flags: {} }), { constructor: KgentError, code: 'config', message: c.message });
  }
  t.throws(() => loadConfig({ configPath: path.join(dir, 'missing.json'), env: {}, flags: {} }), { message: /cannot read config/ });
});

t.test('agents propose, people approve: kgentctl mcp offers approve to no one by default', async (t) => {
  t.same(DEFAULTS.mcp, { adminsMayApprove: false });
});

t.test('storage and log settings: defaults, and the log file from file < env < flag', async (t) => {
  t.match(DEFAULTS.storage, { maxFieldBytes: 65536, maxRequestBytes: 1048576, memberQuotaBytes: 52428800, memberQuotaRequests: 1000, adminQuotaBytes: 0, adminQuotaRequests: 0 });
  t.match(DEFAULTS.log, { file: '', maxBytes: 16 * 1024 * 1024, keep: 4 });
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-config-'));
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ log: { file: '/var/log/kgent/a.log', keep: 2 }, storage: { memberQuotaRequests: 0 } }));
  t.equal(loadConfig({ configPath: file, env: {}, flags: {} }).log.file, '/var/log/kgent/a.log');
  t.equal(loadConfig({ configPath: file, env: { KGENT_LOG_FILE: 'rel.log' }, flags: {} }).log.file, path.resolve('rel.log'), 'env, made absolute');
  t.equal(loadConfig({ configPath: file, env: { KGENT_LOG_FILE: 'rel.log' }, flags: { logFile: '/x/b.log' } }).log.file, '/x/b.log', 'flag wins');
  t.equal(loadConfig({ configPath: file, env: {}, flags: {} }).storage.memberQuotaRequests, 0, '0: no limit');
});

t.test('OLLAMA_HOST forms', async (t) => {
  const cases: [string, string][] = [
    ['http://h:1/', 'http://h:1'],
    ['127.0.0.1', 'http://127.0.0.1:11434'],
    ['0.0.0.0:11434', 'http://127.0.0.1:11434'],
    ['gpu-box:8080', 'http://gpu-box:8080'],
  ];
  for (const [input, want] of cases) t.equal(normaliseOllamaHost(input), want, input);
});

t.test('policy defaults: members get no cat, unsafe builtins or raw memory', async (t) => {
  t.match(DEFAULTS.policy, {
    adminGroup: 'kgent-admin',
    members: { deniedBuiltins: ['cat'], unsafe: false, rawMemory: false, probeTypes: ['*'] },
    maxConnectionsPerUid: 16,
    requestLineTimeoutMs: 10_000,
    revokedPrograms: 'stop',
    membershipSweepMs: 30_000,
  });
  t.match(DEFAULTS, { maxRunningKernelChecksPerUid: 1, maxQueuedKernelChecksPerUid: 4, adminKernelCheckSlots: 1 });
});

t.test('kgentd refuses to start on an out-of-range value, with one line', { skip: builtOrReason() }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-config-'));
  const file = path.join(dir, 'config.json');
  await writeFile(file, '{"maxMessageBytes": -5}');
  const r = await execa(process.execPath, [DAEMON_JS, '--config', file, '--socket', path.join(dir, 's.sock'), '--state-dir', path.join(dir, 'state')], { reject: false });
  t.equal(r.exitCode, 1);
  t.equal(String(r.stderr).trim(), `kgentd: config ${file}: "maxMessageBytes" must be an integer from 4096 to 67108864, not -5`);
});
