// `oakauth proxy` end to end: the real worker in local workerd, the `oakauth` binary as the proxy,
// real MCP servers from npm (server-filesystem, server-everything) and a tiny SDK server that
// echoes what it receives as upstreams, driven by the official TypeScript SDK client (and, in
// python.test.mjs, by Python's `mcp` client).
//
// OAKAUTH_BIN: the binary (default: $CARGO_TARGET_DIR/debug/oakauth or target/debug/oakauth);
// build it first with `cargo build -p oakauth --bin oakauth` (tests/proxy/run.sh does).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createHash } from 'node:crypto';
import { startWorker, freePort, ROOT } from '../support/worker.mjs';
import { client as apiClient } from '../support/api.mjs';
import { OAKAUTH_BIN, FILESYSTEM, EVERYTHING, ECHO, proxyConfig, waitForPort } from './support.mjs';

let w, admin, dir, files, agentA, agentB;

/** An agent with tools and rules: `tools` is { tool: [scopes] }, `rules` is [[tool, scope, policy]]. */
async function agent(name, tools, rules) {
  const created = await admin('POST', '/v1/admin/agents', { name, rate_limit: { capacity: 1000, refill_per_second: 100 } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.agent.id;
  for (const [tool, scopes] of Object.entries(tools)) {
    const t = await admin('POST', `/v1/admin/agents/${id}/tools`, { name: tool, scopes, risk_level: 'read' });
    assert.equal(t.status, 201, t.text);
  }
  for (const [tool, scope, policy] of rules) {
    const r = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool, scope, require_reasoning: policy });
    assert.equal(r.status, 201, r.text);
  }
  return { id, key: created.body.api_key };
}

before(async () => {
  w = await startWorker();
  admin = apiClient(w.baseUrl, w.adminKey);
  dir = await mkdtemp(join(tmpdir(), 'oakauth-proxy-'));
  files = join(dir, 'files');
  await import('node:fs/promises').then((fs) => fs.mkdir(files));
  await writeFile(join(files, 'hello.txt'), 'hello from the disk\n');
  // A reads files and echoes; B only echoes through server-everything (a different rule set).
  agentA = await agent('proxy-a', { filesystem: ['read', 'write'], echo: ['call'], everything: ['echo', 'progress', 'logging', 'relay'], payments: ['send'] }, [
    ['filesystem', 'read', 'none'],
    ['echo', 'call', 'hard'],
    ['everything', 'echo', 'none'],
    ['everything', 'progress', 'none'],
    ['everything', 'logging', 'none'],
    ['everything', 'relay', 'none'],
  ]);
  const approval = await admin('POST', `/v1/admin/agents/${agentA.id}/rules`, { tool: 'payments', scope: 'send', effect: 'require_approval' });
  assert.equal(approval.status, 201, approval.text);
  agentB = await agent('proxy-b', { everything: ['echo'] }, []);
});

after(async () => {
  await w?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const FILESYSTEM_MAPPING = `
[[tools]]
match = "read_text_file"
tool = "filesystem"
scope = "read"

[[tools]]
match = "write_file"
tool = "filesystem"
scope = "write"
`;

/** Starts the proxy over stdio and connects the SDK client to it. */
async function stdioClient(configText, upstream, { key = agentA.key, name = 'c.toml', capabilities = {}, setup } = {}) {
  const path = join(dir, name);
  await writeFile(path, configText);
  const stderr = [];
  const transport = new StdioClientTransport({
    command: OAKAUTH_BIN,
    args: ['proxy', '--config', path, '--', ...upstream],
    env: { ...process.env, OAKAUTH_API_KEY: key },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d) => stderr.push(d.toString()));
  const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(transport);
  return { client, stderr, close: () => client.close() };
}

const text = (result) => result.content.map((c) => c.text ?? '').join('');
const exists = (p) => access(p).then(() => true, () => false);

test('stdio, server-filesystem: an allowed read runs, a denied write leaves the disk untouched, an unmapped tool is denied', async () => {
  const { client, close } = await stdioClient(proxyConfig(w.baseUrl) + FILESYSTEM_MAPPING, ['node', FILESYSTEM, files]);
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('read_text_file') && names.includes('write_file') && names.includes('list_directory'), names.join());
    for (const t of tools) assert.equal(t.inputSchema.properties._reasoning?.type, 'string', `${t.name} advertises _reasoning`);

    const read = await client.callTool({ name: 'read_text_file', arguments: { path: join(files, 'hello.txt'), _reasoning: 'the user asked' } });
    assert.ok(!read.isError, text(read));
    assert.match(text(read), /hello from the disk/);

    const target = join(files, 'written.txt');
    const write = await client.callTool({ name: 'write_file', arguments: { path: target, content: 'pwned' } });
    assert.equal(write.isError, true);
    assert.match(text(write), /^OakAuth denied filesystem:write \(scope_not_granted\): .* The tool did not run\.$/s);
    assert.equal(await exists(target), false, 'the denied write did not reach the disk');

    const unmapped = await client.callTool({ name: 'list_directory', arguments: { path: files } });
    assert.equal(unmapped.isError, true);
    assert.match(text(unmapped), /OakAuth denied tool "list_directory": the OakAuth proxy's configuration maps it to no OakAuth tool/);
    assert.doesNotMatch(text(unmapped), /hello\.txt/, 'the unmapped tool did not run');

    // The decisions are OakAuth's, recorded with the real arguments (the reasoning apart).
    const logs = await admin('GET', `/v1/admin/logs?agent_id=${agentA.id}&limit=20`);
    const readRow = logs.body.logs.find((e) => e.tool === 'filesystem' && e.scope === 'read' && e.allowed);
    assert.ok(readRow, JSON.stringify(logs.body));
    assert.equal(readRow.reasoning, 'the user asked');
    assert.ok(logs.body.logs.some((e) => e.tool === 'filesystem' && e.scope === 'write' && !e.allowed));
  } finally {
    await close();
  }
});

test('stdio: hide_denied leaves tools the agent may not use out of tools/list', async () => {
  const config = proxyConfig(w.baseUrl, { hide_denied: true }) + FILESYSTEM_MAPPING;
  const { client, close } = await stdioClient(config, ['node', FILESYSTEM, files], { name: 'hide.toml' });
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names, ['read_text_file'], 'write (scope not granted) and the unmapped tools are hidden');
    // A hidden tool is still refused, saying why.
    const write = await client.callTool({ name: 'write_file', arguments: { path: join(files, 'x'), content: 'x' } });
    assert.equal(write.isError, true);
    assert.equal(await exists(join(files, 'x')), false);
  } finally {
    await close();
  }
});

test('stdio: the reasoning argument never reaches the upstream; a client-sent receipt is not passed on', async () => {
  const config = proxyConfig(w.baseUrl) + '\n[[tools]]\nmatch = "echo_args"\ntool = "echo"\nscope = "call"\n';
  const { client, close } = await stdioClient(config, ['node', ECHO], { name: 'echo.toml' });
  try {
    const denied = await client.callTool({ name: 'echo_args', arguments: { text: 'hi' } });
    assert.equal(denied.isError, true, 'hard reasoning: refused without it');
    assert.match(text(denied), /^OakAuth denied echo:call: reasoning required\. Call the tool again with a `_reasoning` argument/);

    const result = await client.callTool({
      name: 'echo_args',
      arguments: { text: 'hi', _reasoning: 'testing the proxy' },
      _meta: { 'oakauth/receipt': 'forged.by.client', custom: 'kept' },
    });
    assert.ok(!result.isError, text(result));
    const seen = JSON.parse(text(result));
    assert.deepEqual(seen.arguments, { text: 'hi' });
    assert.notEqual(seen.meta['oakauth/receipt'], 'forged.by.client');
    assert.equal(seen.meta.custom, 'kept', 'other _meta passes through');
    // The decision's receipt, verified as a tool server would: the signature against the worker's
    // JWKS (jose, a third-party JOSE library), the claims, and the digest of exactly the arguments
    // the upstream received (the reasoning argument is not part of them).
    const receipt = seen.meta['oakauth/receipt'];
    assert.match(receipt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const jwks = createRemoteJWKSet(new URL(`${w.baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(receipt, jwks, { issuer: w.baseUrl, typ: 'oakauth-receipt+jwt', algorithms: ['EdDSA'] });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(payload.tool, 'echo');
    assert.equal(payload.scope, 'call');
    assert.equal(payload.agent, agentA.id);
    assert.equal(payload.args, createHash('sha256').update(JSON.stringify({ text: 'hi' })).digest('hex'));
    const logs = await admin('GET', `/v1/admin/logs?agent_id=${agentA.id}&limit=5`);
    assert.ok(logs.body.logs.some((e) => e.decision_id === payload.jti && e.allowed && e.reasoning === 'testing the proxy'));
  } finally {
    await close();
  }
});

test('stdio, server-everything: progress and notifications pass through', async () => {
  const config = proxyConfig(w.baseUrl) +
    '\n[[tools]]\nmatch = "trigger-long-running-operation"\ntool = "everything"\nscope = "progress"\n' +
    '\n[[tools]]\nmatch = "toggle-simulated-logging"\ntool = "everything"\nscope = "logging"\n';
  const { client, close } = await stdioClient(config, ['node', EVERYTHING, 'stdio'], { name: 'everything.toml' });
  try {
    const progress = [];
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    assert.ok(!result.isError, text(result));
    assert.deepEqual(progress.map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]]);

    const logged = new Promise((resolve) => client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => resolve(n.params)));
    const toggled = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    assert.ok(!toggled.isError, text(toggled));
    const message = await Promise.race([logged, new Promise((_, no) => setTimeout(() => no(new Error('no logging notification')), 10_000))]);
    assert.match(message.data, /message/);
  } finally {
    await close();
  }
});

test('stdio: a call the client cancels is cancelled upstream', async () => {
  const config = proxyConfig(w.baseUrl) + '\n[[tools]]\nmatch = "wait_for_cancel"\ntool = "echo"\nscope = "call"\n';
  const { client, close } = await stdioClient(config, ['node', ECHO], { name: 'cancel.toml' });
  try {
    const marker = join(dir, 'cancelled-upstream');
    const controller = new AbortController();
    const call = client.callTool({ name: 'wait_for_cancel', arguments: { marker, _reasoning: 'cancel test' } }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort('enough'), 1500);
    await assert.rejects(call, /enough|abort/i);
    for (let i = 0; i < 50 && !(await exists(marker)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await exists(marker), true, 'the upstream saw notifications/cancelled');
    // The session is still usable afterwards.
    assert.ok((await client.listTools()).tools.length > 0);
  } finally {
    await close();
  }
});

test('stdio, server-everything: sampling and roots requests of the upstream reach the client, with its capabilities', async () => {
  const config = proxyConfig(w.baseUrl) +
    '\n[[tools]]\nmatch = "trigger-sampling-request"\ntool = "everything"\nscope = "relay"\n' +
    '\n[[tools]]\nmatch = "get-roots-list"\ntool = "everything"\nscope = "relay"\n';
  const { client, close } = await stdioClient(config, ['node', EVERYTHING, 'stdio'], {
    name: 'relay.toml',
    capabilities: { sampling: {}, roots: { listChanged: true } },
    setup: (c) => {
      c.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
        model: 'test-model',
        role: 'assistant',
        content: { type: 'text', text: `sampled by the test client: ${request.params.messages[0].content.text}` },
      }));
      c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///tmp/proxy-test-root', name: 'test root' }] }));
    },
  });
  try {
    // server-everything offers the sampling tool only to clients that declare sampling.
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'trigger-sampling-request'));
    const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'ping', maxTokens: 10 } });
    assert.ok(!sampled.isError, text(sampled));
    assert.match(text(sampled), /sampled by the test client: .*ping/);
    const roots = await client.callTool({ name: 'get-roots-list', arguments: {} });
    assert.ok(!roots.isError, text(roots));
    assert.match(text(roots), /proxy-test-root/);
  } finally {
    await close();
  }
});

test('stdio: a call that needs approval is held, then runs once an administrator approves it', async () => {
  const config = proxyConfig(w.baseUrl) + '\n[[tools]]\nmatch = "echo_args"\ntool = "payments"\nscope = "send"\n';
  const { client, close } = await stdioClient(config, ['node', ECHO], { name: 'approval.toml' });
  try {
    const args = { text: 'pay 900 to acct_7' };
    const held = await client.callTool({ name: 'echo_args', arguments: { ...args, _reasoning: 'invoice 7' } });
    assert.equal(held.isError, true);
    const match = text(held).match(/^OakAuth: approval requested \(id (apr_\w+)\) for payments:send; an administrator must approve; call this tool again with the same arguments once approved/);
    assert.ok(match, text(held));
    const decided = await admin('POST', `/v1/admin/approvals/${match[1]}/decision`, { decision: 'approve' });
    assert.equal(decided.status, 200, decided.text);
    const ran = await client.callTool({ name: 'echo_args', arguments: { ...args, _reasoning: 'invoice 7, approved' } });
    assert.ok(!ran.isError, text(ran));
    assert.deepEqual(JSON.parse(text(ran)).arguments, args);
    const again = await client.callTool({ name: 'echo_args', arguments: args });
    assert.equal(again.isError, true, 'an approval allows one call');
  } finally {
    await close();
  }
});

test('stdio: with OakAuth unreachable nothing reaches the upstream', async () => {
  const closed = await freePort();
  const config = proxyConfig(`http://127.0.0.1:${closed}`, { timeout_ms: 500, retries: 0 }) + FILESYSTEM_MAPPING;
  const { client, close } = await stdioClient(config, ['node', FILESYSTEM, files], { name: 'down.toml' });
  try {
    const target = join(files, 'while-down.txt');
    const write = await client.callTool({ name: 'write_file', arguments: { path: target, content: 'x', _reasoning: 'r' } });
    assert.equal(write.isError, true);
    assert.match(text(write), /^OakAuth could not check filesystem:write \(connection to OakAuth failed/);
    assert.equal(await exists(target), false);
    const read = await client.callTool({ name: 'read_text_file', arguments: { path: join(files, 'hello.txt') } });
    assert.equal(read.isError, true);
    assert.doesNotMatch(text(read), /hello from the disk/);
  } finally {
    await close();
  }
});

test('stdio: a garbage or late answer from "OakAuth" never lets a call through', async () => {
  // A fake OakAuth that claims to allow, in ways a real decision never looks, or never answers.
  let mode;
  const fake = createServer((req, res) => {
    if (mode === 'silent') return; // no answer: the proxy's timeout
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(mode === 'partial' ? '{"allowed": true}' : '{"allowed": true, "reason": "scope_not_granted", "decision_id": "dec_x", "message": "m", "reasoning_required": "none", "reasoning_provided": false}');
  });
  await new Promise((r) => fake.listen(0, '127.0.0.1', r));
  const config = proxyConfig(`http://127.0.0.1:${fake.address().port}`, { timeout_ms: 300, retries: 0 }) + FILESYSTEM_MAPPING;
  const { client, close } = await stdioClient(config, ['node', FILESYSTEM, files], { name: 'garbage.toml' });
  try {
    for (const m of ['partial', 'contradictory', 'silent']) {
      mode = m;
      const target = join(files, `garbage-${m}.txt`);
      const write = await client.callTool({ name: 'write_file', arguments: { path: target, content: 'x', _reasoning: 'r' } });
      assert.equal(write.isError, true, m);
      assert.match(text(write), /^OakAuth could not check filesystem:write \((unexpected answer from OakAuth|OakAuth did not answer within)/, m);
      assert.equal(await exists(target), false, `${m}: the upstream was not called`);
    }
  } finally {
    await close();
    fake.closeAllConnections();
    await new Promise((r) => fake.close(r));
  }
});

test('a bad configuration is refused at start, naming the line', async () => {
  const cases = [
    [proxyConfig(w.baseUrl) + '\n[[tools]]\nmatch = "x"\ntool = "t"\nscope = "s"\neffect = "allow"\n', /line \d+: .*effect/],
    [proxyConfig(w.baseUrl).replace('default = "deny"', 'default = "allow"'), /line 1: default = "allow": the only default is "deny"/],
    [proxyConfig(w.baseUrl) + '\n[[tools]]\nmatch = "x"\ntool = "bad name"\nscope = "s"\n', /line \d+: \[\[tools\]\] tool must be/],
  ];
  for (const [i, [config, expected]] of cases.entries()) {
    const path = join(dir, `bad-${i}.toml`);
    await writeFile(path, config);
    const marker = join(dir, `bad-${i}.started`);
    const child = spawn(OAKAUTH_BIN, ['proxy', '--config', path, '--', 'node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], {
      env: { ...process.env, OAKAUTH_API_KEY: agentA.key },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise((r) => child.on('exit', r));
    assert.notEqual(code, 0);
    assert.match(stderr, expected);
    assert.equal(await exists(marker), false, 'the upstream was never started');
  }
});

test('Streamable HTTP both ways: each client decides with its own key; no key, no session', async () => {
  const upstreamPort = await freePort();
  const everything = spawn('node', [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(upstreamPort) }, stdio: ['ignore', 'ignore', 'pipe'] });
  const proxyPort = await freePort();
  const path = join(dir, 'http.toml');
  await writeFile(path, proxyConfig(w.baseUrl, { key: false }) +
    `\n[listen]\naddress = "127.0.0.1:${proxyPort}"\n\n[[tools]]\nmatch = "echo"\ntool = "everything"\nscope = "echo"\n`);
  let proxyErr = '';
  const proxy = spawn(OAKAUTH_BIN, ['proxy', '--config', path, '--url', `http://127.0.0.1:${upstreamPort}/mcp`], { stdio: ['ignore', 'ignore', 'pipe'] });
  proxy.stderr.on('data', (d) => { proxyErr += d; });
  const clients = [];
  try {
    await waitForPort(upstreamPort);
    await waitForPort(proxyPort);
    const connect = async (key) => {
      const client = new Client({ name: 'http-test', version: '1.0.0' });
      const headers = key ? { Authorization: `Bearer ${key}` } : {};
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`), { requestInit: { headers } }));
      clients.push(client);
      return client;
    };
    const [a, b] = await Promise.all([connect(agentA.key), connect(agentB.key)]);
    const allowed = await a.callTool({ name: 'echo', arguments: { message: 'from a', _reasoning: 'test' } });
    assert.ok(!allowed.isError, text(allowed));
    assert.equal(text(allowed), 'Echo: from a');
    const denied = await b.callTool({ name: 'echo', arguments: { message: 'from b' } });
    assert.equal(denied.isError, true);
    assert.match(text(denied), /^OakAuth denied everything:echo \(scope_not_granted\)/);

    // A session is bound to the key it began with: B cannot use A's session.
    const stolen = await fetch(`http://127.0.0.1:${proxyPort}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${agentB.key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'mcp-session-id': a.transport.sessionId,
        'mcp-protocol-version': a.transport.protocolVersion ?? '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'echo', arguments: { message: 'as b' } } }),
    });
    const stolenText = await stolen.text();
    assert.match(stolenText, /this session belongs to another agent key/);
    assert.doesNotMatch(stolenText, /Echo: as b/);

    await assert.rejects(connect(null), /401|Unauthorized|agent key/i);
    const noKey = await fetch(`http://127.0.0.1:${proxyPort}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(noKey.status, 401);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    proxy.kill('SIGINT');
    everything.kill();
    await new Promise((r) => (proxy.exitCode !== null ? r() : proxy.on('exit', r)));
    if (process.env.DEBUG_PROXY) console.error(proxyErr);
  }
});

test('discover registers the upstream tools for an agent and writes a configuration that works', async () => {
  const created = await admin('POST', '/v1/admin/agents', { name: 'proxy-discover' });
  const { id, } = created.body.agent;
  const out = join(dir, 'discovered.toml');
  const run = (extra = []) => new Promise((resolve) => {
    const child = spawn(OAKAUTH_BIN, ['proxy', 'discover', '--config', out, '--agent', id, ...extra, '--', 'node', EVERYTHING, 'stdio'], {
      env: { ...process.env, OAKAUTH_BASE_URL: w.baseUrl, OAKAUTH_ADMIN_KEY: w.adminKey, OAKAUTH_ALLOW_INSECURE_LOOPBACK: '1' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /added +echo \(read; allow rule rule_\w+, reasoning none\)/);
  const tools = await admin('GET', `/v1/admin/agents/${id}/tools`);
  const echo = tools.body.tools.find((t) => t.name === 'echo');
  assert.equal(echo.risk_level, 'read');
  assert.deepEqual(echo.scopes, ['call']);
  assert.equal(echo.input_schema.properties.message.type, 'string');
  const config = await readFile(out, 'utf8');
  assert.match(config, /\[\[tools\]\]\nmatch = "echo"\ntool = "echo"\nscope = "call"/);

  const again = await run();
  assert.notEqual(again.code, 0, 'an existing file is not overwritten');
  assert.match(again.stderr, /exists; pass --force/);
  const forced = await run(['--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /exists +echo \(left as it is\)/);

  // The written configuration runs as it is (its upstream included), with the agent's new key.
  const rotated = await admin('POST', `/v1/admin/agents/${id}/rotate-key`, {});
  assert.equal(rotated.status, 200, rotated.text);
  const key = rotated.body.api_key;
  const transport = new StdioClientTransport({ command: OAKAUTH_BIN, args: ['proxy', '--config', out], env: { ...process.env, OAKAUTH_API_KEY: key }, stderr: 'ignore' });
  const client = new Client({ name: 'discover-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'echo', arguments: { message: 'discovered' } });
    assert.equal(text(result), 'Echo: discovered');
  } finally {
    await client.close();
  }
});

const PYTHON = process.env.OAKAUTH_PROXY_PYTHON ?? join(ROOT, 'tests', 'proxy', '.venv', 'bin', 'python');

test("Python's mcp client over stdio: an allowed call runs, a denied one does not", { skip: !(await exists(PYTHON)) && 'no tests/proxy/.venv: run tests/proxy/run.sh' }, async () => {
  const config = join(dir, 'python.toml');
  await writeFile(config, proxyConfig(w.baseUrl) + FILESYSTEM_MAPPING);
  const target = join(files, 'from-python.txt');
  const child = spawn(PYTHON, [join(ROOT, 'tests', 'proxy', 'python_client.py'), OAKAUTH_BIN, config, join(files, 'hello.txt'), target, '--', 'node', FILESYSTEM, files], {
    env: { ...process.env, OAKAUTH_API_KEY: agentA.key },
  });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0, stderr);
  const seen = JSON.parse(stdout);
  assert.ok(seen.tools.includes('write_file'));
  assert.equal(seen.allowed.is_error, false, seen.allowed.text);
  assert.match(seen.allowed.text, /hello from the disk/);
  assert.equal(seen.denied.is_error, true);
  assert.match(seen.denied.text, /^OakAuth denied filesystem:write \(scope_not_granted\)/);
  assert.equal(await exists(target), false);
});
