// withOakAuth against the real worker: a real MCP Client talks to a wrapped McpServer over an
// in-memory transport, and OakAuth decides every tool call.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { OakAuth, OakAuthAdmin } from 'oakauth';
import { withOakAuth } from 'oakauth/mcp';
import { startWorker } from '../../tests/support/worker.mjs';

let worker;
let admin;
let agentKey;
let agentId;

const toolMapping = {
  read_file: { tool: 'filesystem', scope: 'read' },
  write_file: { tool: 'filesystem', scope: 'write' },
  delete_file: { tool: 'filesystem', scope: 'delete' },
};

before(async () => {
  worker = await startWorker();
  admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  const created = await admin.createAgent({ name: 'mcp-agent', rate_limit: { capacity: 1000, refill_per_second: 100 } });
  agentKey = created.api_key;
  agentId = created.agent.id;
  await admin.createTool(agentId, { name: 'filesystem', scopes: ['read', 'write', 'delete'], risk_level: 'write' });
  await admin.createRule(agentId, { tool: 'filesystem', scope: 'read', require_reasoning: 'none' });
  await admin.createRule(agentId, { tool: 'filesystem', scope: 'delete', require_reasoning: 'hard' });
  // No rule for filesystem:write. `echo` is checked with the default scope `call`; `shell` is unknown.
  await admin.createTool(agentId, { name: 'echo', scopes: ['call'], risk_level: 'read' });
  await admin.createRule(agentId, { tool: 'echo', scope: 'call' });
});

after(async () => {
  await worker?.stop();
});

/**
 * A server with five tools, three registered before wrapping and two after, each recording the
 * arguments it ran with; and a client connected to it.
 */
async function setup(options = {}, apiKey = agentKey) {
  const ran = [];
  const server = new McpServer({ name: 'files', version: '1.0.0' });
  const record = (name) => async (args) => {
    ran.push({ name, args });
    return { content: [{ type: 'text', text: `${name} ran` }] };
  };
  // Loose and strict schemas: neither would hide a `_reasoning` that reached the tool.
  server.registerTool('read_file', { description: 'Read a file', inputSchema: z.looseObject({ path: z.string() }) }, record('read_file'));
  server.registerTool('write_file', { description: 'Write a file', inputSchema: { path: z.string(), text: z.string() } }, record('write_file'));
  server.registerTool('echo', { description: 'Echo' }, async () => {
    ran.push({ name: 'echo', args: undefined });
    return { content: [{ type: 'text', text: 'echo ran' }] };
  });
  withOakAuth(server, { apiKey, ...worker.endpoint, toolMapping, ...options });
  server.registerTool('delete_file', { description: 'Delete a file', inputSchema: z.strictObject({ path: z.string() }) }, record('delete_file'));
  server.registerTool('shell', { description: 'Run a command', inputSchema: { command: z.string() } }, record('shell'));

  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientTransport);
  return { client, server, ran };
}

const text = (result) => result.content.map((c) => c.text).join('\n');

/** The audit-log entries of the agent written after `since`, newest first. */
async function logsSince(since) {
  const page = await admin.listLogs({ agent_id: agentId, since, limit: 200 });
  return page.logs;
}

describe('tool calls through withOakAuth', () => {
  let env;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.client.close();
  });

  it('an allowed tool runs, without the _reasoning argument, and the reasoning reaches the log', async () => {
    const since = new Date().toISOString();
    const result = await env.client.callTool({ name: 'read_file', arguments: { path: '/srv/a.txt', _reasoning: 'the user asked for a.txt' } });
    assert.equal(result.isError, undefined);
    assert.equal(text(result), 'read_file ran');
    assert.deepEqual(env.ran.at(-1), { name: 'read_file', args: { path: '/srv/a.txt' } });

    const [entry] = await logsSince(since);
    assert.equal(entry.tool, 'filesystem');
    assert.equal(entry.scope, 'read');
    assert.equal(entry.allowed, true);
    assert.equal(entry.reasoning, 'the user asked for a.txt');
    assert.deepEqual(entry.context, { mcp_tool: 'read_file' });
  });

  it('a denied tool does not run and answers isError with the reason', async () => {
    const before = env.ran.length;
    const result = await env.client.callTool({ name: 'write_file', arguments: { path: '/etc/passwd', text: 'x', _reasoning: 'because' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /OakAuth denied filesystem:write \(scope_not_granted\)/);
    assert.match(text(result), /did not run/);
    assert.equal(env.ran.length, before);
  });

  it('a hard rule refuses a call without reasoning and tells the model to send _reasoning', async () => {
    const before = env.ran.length;
    const result = await env.client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /reasoning required/);
    assert.match(text(result), /`_reasoning`/);
    assert.equal(env.ran.length, before);
  });

  it('a tool registered after wrapping runs with reasoning, which reaches the log and not the tool', async () => {
    const since = new Date().toISOString();
    const result = await env.client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x', _reasoning: 'the user asked to remove /tmp/x' } });
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(env.ran.at(-1), { name: 'delete_file', args: { path: '/tmp/x' } });
    const [entry] = await logsSince(since);
    assert.equal(entry.scope, 'delete');
    assert.equal(entry.reason, 'allowed');
    assert.equal(entry.reasoning, 'the user asked to remove /tmp/x');
  });

  it('a tool OakAuth does not know does not run, even when registered after wrapping', async () => {
    const before = env.ran.length;
    const result = await env.client.callTool({ name: 'shell', arguments: { command: 'rm -rf /', _reasoning: 'cleanup' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /OakAuth denied shell:call \(unknown_tool\)/);
    assert.equal(env.ran.length, before);
  });

  it('an unmapped tool is checked as its own name with the default scope', async () => {
    const since = new Date().toISOString();
    const result = await env.client.callTool({ name: 'echo', arguments: { _reasoning: 'say hello' } });
    assert.equal(text(result), 'echo ran');
    const [entry] = await logsSince(since);
    assert.equal(entry.tool, 'echo');
    assert.equal(entry.scope, 'call');
    assert.equal(entry.reasoning, 'say hello');
  });

  it('a _reasoning that is not a string is refused before anything runs', async () => {
    const before = env.ran.length;
    const result = await env.client.callTool({ name: 'read_file', arguments: { path: '/a', _reasoning: { why: 'x' } } });
    assert.equal(result.isError, true);
    assert.match(text(result), /must be a string/);
    assert.equal(env.ran.length, before);
  });

  it('the tool still validates its own arguments after the check', async () => {
    const before = env.ran.length;
    const result = await env.client.callTool({ name: 'read_file', arguments: { _reasoning: 'no path given' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /Input validation error/);
    assert.equal(env.ran.length, before);
  });

  it('tools/list advertises an optional string _reasoning on every tool, keeping its own arguments', async () => {
    const { tools } = await env.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['delete_file', 'echo', 'read_file', 'shell', 'write_file']);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.properties._reasoning.type, 'string', tool.name);
      assert.ok(!(tool.inputSchema.required ?? []).includes('_reasoning'), `${tool.name} requires _reasoning`);
    }
    const read = tools.find((t) => t.name === 'read_file');
    assert.equal(read.inputSchema.properties.path.type, 'string');
    assert.deepEqual(read.inputSchema.required, ['path']);
  });

  it('does not change the schema of servers it did not wrap', async () => {
    const plain = new McpServer({ name: 'plain', version: '1.0.0' });
    plain.registerTool('noop', { description: 'No input' }, async () => ({ content: [] }));
    const [ct, st] = InMemoryTransport.createLinkedPair();
    await plain.connect(st);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(ct);
    const { tools } = await client.listTools();
    assert.equal(tools[0].inputSchema.properties?._reasoning, undefined);
    await client.close();
  });
});

describe('rules that test the call\'s arguments', () => {
  // Its own agent: filesystem:write is allowed only under /work (docs/policies.md, "Work folder").
  let policyKey;
  let policyAgentId;
  let rule;
  before(async () => {
    const created = await admin.createAgent({ name: 'mcp-policies', rate_limit: { capacity: 1000, refill_per_second: 100 } });
    policyKey = created.api_key;
    policyAgentId = created.agent.id;
    await admin.createTool(policyAgentId, { name: 'filesystem', scopes: ['read', 'write', 'delete'], risk_level: 'write' });
    rule = await admin.createRule(policyAgentId, {
      tool: 'filesystem',
      scope: 'write',
      require_reasoning: 'none',
      conditions: [{ pointer: '/path', op: 'path_under', value: '/work', on_missing: 'deny' }],
    });
  });

  /** The audit-log entries of the policy agent written after `since`, newest first. */
  const policyLogs = async (since) => (await admin.listLogs({ agent_id: policyAgentId, since, limit: 200 })).logs;

  it('a call with an allowed argument runs; one with a forbidden argument is denied and the tool never runs', async () => {
    const env = await setup({}, policyKey);
    const since = new Date().toISOString();

    const allowed = await env.client.callTool({ name: 'write_file', arguments: { path: '/work/report.md', text: 'draft', _reasoning: 'the user asked for a report' } });
    assert.equal(allowed.isError, undefined, text(allowed));
    assert.equal(text(allowed), 'write_file ran');
    assert.deepEqual(env.ran, [{ name: 'write_file', args: { path: '/work/report.md', text: 'draft' } }]);

    // `..` leaves /work: no allow rule applies.
    const escaped = await env.client.callTool({ name: 'write_file', arguments: { path: '/work/../etc/passwd', text: 'x', _reasoning: 'cleanup' } });
    assert.equal(escaped.isError, true);
    assert.match(text(escaped), /OakAuth denied filesystem:write \(conditions_not_met\)/);
    assert.match(text(escaped), /did not run/);
    // A relative path cannot be tested against /work: the condition errs, and the rule denies.
    const relative = await env.client.callTool({ name: 'write_file', arguments: { path: 'report.md', text: 'x' } });
    assert.equal(relative.isError, true);
    assert.match(text(relative), /OakAuth denied filesystem:write \(denied_by_rule\)/);
    assert.equal(env.ran.length, 1, 'the tool ran for the allowed call only');

    // The log holds what OakAuth decided on: the call's arguments, without _reasoning.
    const entries = (await policyLogs(since)).filter((e) => e.context?.mcp_tool === 'write_file').reverse();
    assert.deepEqual(
      entries.map((e) => [e.reason, e.arguments]),
      [
        ['allowed', { path: '/work/report.md', text: 'draft' }],
        ['conditions_not_met', { path: '/work/../etc/passwd', text: 'x' }],
        ['denied_by_rule', { path: 'report.md', text: 'x' }],
      ],
    );
    assert.equal(entries[0].reasoning, 'the user asked for a report');
    // Each refusal tells the model the explanation OakAuth logged, naming the rule and the value.
    for (const [entry, result] of [[entries[1], escaped], [entries[2], relative]]) {
      assert.equal(entry.explanation.rule_id, rule.id);
      assert.equal(entry.explanation.condition.pointer, '/path');
      assert.ok(text(result).includes(entry.explanation.message), `${text(result)}\nlacks: ${entry.explanation.message}`);
      const logged = await admin.getLog(entry.decision_id);
      assert.deepEqual(logged.arguments, entry.arguments);
      assert.ok(!('_reasoning' in logged.arguments));
    }
    assert.equal(entries[2].explanation.condition.error !== null, true, 'a relative path is an evaluation error');
    await env.client.close();
  });

  it('hideDeniedTools keeps a tool whose rule tests the arguments, and still refuses a forbidden call', async () => {
    const env = await setup({ hideDeniedTools: true }, policyKey);
    const { tools } = await env.client.listTools();
    // write_file: a listing sends no arguments, so its rule denies (on_missing: deny), but other
    // arguments could lift that. read_file, delete_file (no rule), echo and shell (unknown) go.
    assert.deepEqual(tools.map((t) => t.name).sort(), ['write_file']);
    const denied = await env.client.callTool({ name: 'write_file', arguments: { path: '/etc/passwd', text: 'x' } });
    assert.equal(denied.isError, true);
    assert.match(text(denied), /OakAuth denied filesystem:write \(conditions_not_met\)/);
    const ok = await env.client.callTool({ name: 'write_file', arguments: { path: '/work/a', text: 'x' } });
    assert.equal(text(ok), 'write_file ran');
    assert.deepEqual(env.ran, [{ name: 'write_file', args: { path: '/work/a', text: 'x' } }]);
    await env.client.close();
  });
});

describe('hideDeniedTools', () => {
  it('leaves out of tools/list the tools the agent may not use at all', async () => {
    const env = await setup({ hideDeniedTools: true });
    const { tools } = await env.client.listTools();
    // delete_file stays: reasoning would lift its deny. write_file (no rule) and shell (unknown) go.
    assert.deepEqual(tools.map((t) => t.name).sort(), ['delete_file', 'echo', 'read_file']);
    assert.ok(tools.every((t) => t.inputSchema.properties._reasoning));
    // Hidden or not, calling a denied tool still does not run it.
    const result = await env.client.callTool({ name: 'shell', arguments: { command: 'ls' } });
    assert.equal(result.isError, true);
    assert.equal(env.ran.length, 0);
    await env.client.close();
  });

  it('a call of a hidden tool answers exactly like a call of a tool the server does not have', async () => {
    const env = await setup({ hideDeniedTools: true });
    // The whole answer, with the probed name taken out: nothing in it may tell the two apart.
    const answer = async (name) => JSON.stringify(await env.client.callTool({ name, arguments: { _reasoning: 'probing' } })).replaceAll(name, '<name>');
    const missing = await answer('no_such_tool');
    assert.match(missing, /<name> not found/);
    assert.equal(await answer('write_file'), missing, 'hidden: filesystem:write has no rule');
    assert.equal(await answer('shell'), missing, 'hidden: unknown to OakAuth');
    assert.equal(env.ran.length, 0);
    // Without hideDeniedTools nothing is hidden, and the model is told why a call was refused.
    const open = await setup();
    const result = await open.client.callTool({ name: 'write_file', arguments: { path: '/a', text: 'x' } });
    assert.match(text(result), /OakAuth denied filesystem:write \(scope_not_granted\)/);
    await env.client.close();
    await open.client.close();
  });

  it('listing again within the cache window does not validate again; calls are validated every time', async () => {
    const env = await setup({ hideDeniedTools: true });
    const since = new Date().toISOString();
    const first = await env.client.listTools();
    const again = await Promise.all([env.client.listTools(), env.client.listTools()]);
    assert.deepEqual(again, [first, first]);
    const listings = (await logsSince(since)).filter((e) => e.context?.mcp === 'tools/list');
    assert.deepEqual(listings.map((e) => e.tool).sort(), ['echo', 'filesystem', 'filesystem', 'filesystem', 'shell'], 'one validation per tool');

    await env.client.callTool({ name: 'echo', arguments: {} });
    await env.client.callTool({ name: 'echo', arguments: {} });
    const calls = (await logsSince(since)).filter((e) => e.context?.mcp_tool === 'echo');
    assert.equal(calls.length, 2, 'every call is validated');
    assert.equal(env.ran.filter((r) => r.name === 'echo').length, 2);
    await env.client.close();
  });

  it('listing decisions are asked again once listCacheTtl has passed', async () => {
    const env = await setup({ hideDeniedTools: true, listCacheTtl: 300 });
    const since = new Date().toISOString();
    await env.client.listTools();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await env.client.listTools();
    const listings = (await logsSince(since)).filter((e) => e.context?.mcp === 'tools/list');
    assert.equal(listings.length, 10);
    await env.client.close();
  });
});

describe('failing closed', () => {
  it('when OakAuth cannot be reached, the tool does not run and the model is told why', async () => {
    const port = await new Promise((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    const unreachable = () => new OakAuth({ apiKey: agentKey, baseUrl: `http://127.0.0.1:${port}`, allowInsecureLoopback: true, retries: 0 });
    const env = await setup({ client: unreachable() });
    const result = await env.client.callTool({ name: 'read_file', arguments: { path: '/a', _reasoning: 'read it' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /could not check filesystem:read .*did not run/s);
    assert.equal(env.ran.length, 0);
    await env.client.close();

    // With hideDeniedTools, nothing is listed, and a call answers as for a tool the server does not have.
    const hidden = await setup({ client: unreachable(), hideDeniedTools: true });
    assert.deepEqual((await hidden.client.listTools()).tools, [], 'nothing is listed when nothing can be checked');
    const call = await hidden.client.callTool({ name: 'read_file', arguments: { path: '/a', _reasoning: 'read it' } });
    assert.deepEqual(call, { content: [{ type: 'text', text: 'Tool read_file not found' }], isError: true });
    assert.equal(hidden.ran.length, 0);
    await hidden.client.close();
  });

  it('a revoked key refuses every call', async () => {
    const env = await setup({}, 'oak_00000000000000000000000000000000AAAAAA');
    const result = await env.client.callTool({ name: 'read_file', arguments: { path: '/a' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /could not check filesystem:read \(unauthorized/);
    assert.equal(env.ran.length, 0);
    await env.client.close();
  });

  it('a rate limit tells the model when to retry', async () => {
    const limited = await admin.createAgent({ name: 'mcp-limited', rate_limit: { capacity: 1, refill_per_second: 0.02 } });
    await admin.createTool(limited.agent.id, { name: 'echo', scopes: ['call'], risk_level: 'read' });
    await admin.createRule(limited.agent.id, { tool: 'echo', scope: 'call' });
    const env = await setup({}, limited.api_key);
    assert.equal(text(await env.client.callTool({ name: 'echo', arguments: {} })), 'echo ran');
    const result = await env.client.callTool({ name: 'echo', arguments: {} });
    assert.equal(result.isError, true);
    assert.match(text(result), /rate limit reached for echo:call; retry in \d+ seconds/);
    assert.equal(env.ran.length, 1);
    await env.client.close();
  });
});

describe('wrapping', () => {
  it('refuses to wrap a server twice', () => {
    const server = new McpServer({ name: 's', version: '1' });
    withOakAuth(server, { apiKey: agentKey, ...worker.endpoint });
    assert.throws(() => withOakAuth(server, { apiKey: agentKey, ...worker.endpoint }), /wrapped already/);
  });

  it('refuses to wrap a connected server that has no tools yet', async () => {
    const server = new McpServer({ name: 's', version: '1' });
    const [, st] = InMemoryTransport.createLinkedPair();
    await server.connect(st);
    assert.throws(() => withOakAuth(server, { apiKey: agentKey, ...worker.endpoint }), /before server\.connect/);
    await server.close();
  });

  it('needs an agent key', () => {
    const saved = process.env.OAKAUTH_API_KEY;
    delete process.env.OAKAUTH_API_KEY;
    try {
      assert.throws(() => withOakAuth(new McpServer({ name: 's', version: '1' }), { ...worker.endpoint }), { name: 'OakAuthConfigurationError' });
    } finally {
      if (saved !== undefined) process.env.OAKAUTH_API_KEY = saved;
    }
  });
});
