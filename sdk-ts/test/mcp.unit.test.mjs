// withOakAuth against a scripted fetch: what the wrapper sends to /v1/validate for a tool call
// (the call's arguments without the reasoning argument), and how it answers the new denials.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { OakAuth } from 'oakauth';
import { withOakAuth } from 'oakauth/mcp';
import { decision, json, scriptedFetch } from './support/fake-fetch.mjs';

const toolMapping = { pay: { tool: 'payments', scope: 'send' } };

/** A wrapped server with a `pay` tool and a no-argument `ping` tool, and a client connected to it. */
async function setup(fetch, options = {}) {
  const ran = [];
  const server = new McpServer({ name: 'bank', version: '1.0.0' });
  const oak = new OakAuth({ apiKey: 'oak_test', baseUrl: 'https://oak.test', fetch, retries: 0 });
  withOakAuth(server, { client: oak, toolMapping, ...options });
  server.registerTool('pay', { description: 'Pay', inputSchema: { amount: z.number(), to: z.string(), memo: z.object({ text: z.string() }).optional() } }, async (args) => {
    ran.push({ name: 'pay', args });
    return { content: [{ type: 'text', text: 'paid' }] };
  });
  server.registerTool('ping', { description: 'Ping' }, async () => {
    ran.push({ name: 'ping' });
    return { content: [{ type: 'text', text: 'pong' }] };
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientTransport);
  return { client, ran };
}

const text = (result) => result.content.map((c) => c.text).join('\n');

describe('withOakAuth sends the call arguments', () => {
  it('sends the real arguments without _reasoning, which goes as the reasoning; the tool gets the same arguments', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const env = await setup(fetch);
    const args = { amount: 120, to: 'acct_7', memo: { text: 'rent' } };
    const result = await env.client.callTool({ name: 'pay', arguments: { ...args, _reasoning: 'the user asked to pay rent' } });
    assert.equal(result.isError, undefined, text(result));
    assert.equal(calls.length, 1);
    assert.equal(new URL(calls[0].url).pathname, '/v1/validate');
    assert.deepEqual(calls[0].body, {
      tool: 'payments',
      scope: 'send',
      reasoning: 'the user asked to pay rent',
      context: { mcp_tool: 'pay' },
      arguments: args,
    });
    assert.deepEqual(env.ran, [{ name: 'pay', args }]);
    await env.client.close();
  });

  it('a custom reasoningArgument is stripped the same way', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const env = await setup(fetch, { reasoningArgument: 'why' });
    await env.client.callTool({ name: 'pay', arguments: { amount: 5, to: 'a', why: 'asked', _reasoning: 'kept' } });
    assert.equal(calls[0].body.reasoning, 'asked');
    assert.deepEqual(calls[0].body.arguments, { amount: 5, to: 'a', _reasoning: 'kept' });
    await env.client.close();
  });

  it('a call with only _reasoning sends empty arguments; a call without arguments sends none', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const env = await setup(fetch);
    await env.client.callTool({ name: 'ping', arguments: { _reasoning: 'health check' } });
    await env.client.callTool({ name: 'ping' });
    assert.deepEqual(calls[0].body.arguments, {});
    assert.equal(calls[0].body.reasoning, 'health check');
    assert.equal(Object.hasOwn(calls[1].body, 'arguments'), false);
    assert.equal(env.ran.length, 2);
    await env.client.close();
  });
});

describe('withOakAuth and denials by a rule', () => {
  const explanation = {
    rule_id: 'rule_1',
    effect: 'allow',
    condition: { path: 'conditions[0]', source: 'arguments', pointer: '/amount', op: 'lt', expected: 500, observed: 900, holds: false, error: null },
    message: 'conditions[0]: /amount is 900, not below 500',
  };

  for (const reason of ['denied_by_rule', 'conditions_not_met', 'invalid_arguments']) {
    it(`${reason}: the tool does not run and the model is told why, explanation included`, async () => {
      const { fetch } = scriptedFetch(json(200, decision({ allowed: false, reason, message: `denied (${reason})`, explanation })));
      const env = await setup(fetch);
      const result = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'acct_7' } });
      assert.equal(result.isError, true);
      assert.match(text(result), new RegExp(`OakAuth denied payments:send \\(${reason}\\)`));
      assert.ok(text(result).includes(explanation.message), text(result));
      assert.match(text(result), /did not run/);
      assert.equal(env.ran.length, 0);
      await env.client.close();
    });
  }

  it('hideDeniedTools keeps listed a tool whose rules test arguments, and hides one an unconditional deny rule denies', async () => {
    const byTool = {
      payments: decision({ allowed: false, reason: 'conditions_not_met', message: 'no', explanation }),
      ping: decision({ allowed: false, reason: 'denied_by_rule', message: 'no', explanation: { ...explanation, effect: 'deny', condition: null } }),
    };
    const { fetch } = scriptedFetch(async (_url, init) => json(200, byTool[JSON.parse(init.body).tool])());
    const env = await setup(fetch, { hideDeniedTools: true, listCacheTtl: 0 });
    const { tools } = await env.client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['pay']);
    const hidden = await env.client.callTool({ name: 'ping' });
    assert.equal(text(hidden), 'Tool ping not found');
    const refused = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'a' } });
    assert.match(text(refused), /conditions_not_met/);
    assert.equal(env.ran.length, 0);
    await env.client.close();
  });
});

describe('withOakAuth and approvals', () => {
  const ticket = (overrides = {}) => ({
    id: 'apr_7',
    status: 'pending',
    tool: 'payments',
    scope: 'send',
    expires_at: '2030-01-01T00:15:00.000Z',
    poll_after_ms: 2000,
    decided_at: null,
    comment: null,
    ...overrides,
  });
  const deny = (reason, approval) => decision({ allowed: false, reason, message: `denied: ${reason}`, approval });

  it('approval_required: the model is told the id, that an administrator must approve, and to call again with the same arguments', async () => {
    const { fetch } = scriptedFetch(json(200, deny('approval_required', ticket())));
    const env = await setup(fetch);
    const result = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'acct_7' } });
    assert.equal(result.isError, true);
    assert.match(text(result), /^OakAuth: approval requested \(id apr_7\) for payments:send; an administrator must approve; call this tool again with the same arguments once approved/);
    assert.match(text(result), /\(the request expires at 2030-01-01T00:15:00.000Z\)\. The tool did not run\.$/);
    assert.equal(env.ran.length, 0);
    await env.client.close();
  });

  it('the retry after approval sends exactly the arguments of the first call, whatever the reasoning', async () => {
    const { fetch, calls } = scriptedFetch(json(200, deny('approval_required', ticket())), json(200, decision({ approval: ticket({ status: 'consumed' }) })));
    const env = await setup(fetch);
    const args = { amount: 900, to: 'acct_7', memo: { text: 'invoice 12' } };
    await env.client.callTool({ name: 'pay', arguments: { ...args, _reasoning: 'the user asked' } });
    const result = await env.client.callTool({ name: 'pay', arguments: { memo: { text: 'invoice 12' }, to: 'acct_7', amount: 900, _reasoning: 'approved now, retrying' } });
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(calls[1].body.arguments, calls[0].body.arguments);
    assert.deepEqual(calls[1].body.arguments, args);
    assert.equal(Object.hasOwn(calls[1].body, 'approval_id'), false);
    assert.deepEqual(env.ran, [{ name: 'pay', args }]);
    await env.client.close();
  });

  const texts = {
    approval_denied: [ticket({ status: 'denied', comment: 'not this vendor' }), /^OakAuth: an administrator denied the approval \(id apr_7\) of this call to payments:send, with the comment: "not this vendor"\. The tool did not run; do not repeat this call\.$/],
    approval_expired: [ticket({ status: 'expired' }), /expired before an administrator decided or before the approved call was made; nobody denied it\. The tool did not run\. Calling it again with the same arguments requests approval anew\.$/],
    approval_cancelled: [ticket({ status: 'cancelled' }), /the approval \(id apr_7\) of this call to payments:send was cancelled\. The tool did not run\.$/],
    approval_consumed: [ticket({ status: 'consumed' }), /was already used; an approval allows the approved call once\. The tool did not run; the same call can request a new approval after 2030-01-01T00:15:00.000Z\.$/],
    approval_mismatch: [undefined, /^OakAuth denied payments:send \(approval_mismatch\): denied: approval_mismatch The tool did not run\.$/],
  };
  for (const [reason, [approval, expected]] of Object.entries(texts)) {
    it(`${reason}: the model is told plainly, and the tool does not run`, async () => {
      const { fetch } = scriptedFetch(json(200, deny(reason, approval)));
      const env = await setup(fetch);
      const result = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'acct_7' } });
      assert.equal(result.isError, true);
      assert.match(text(result), expected);
      assert.equal(env.ran.length, 0);
      await env.client.close();
    });
  }

  it('approval_denied without a comment says so', async () => {
    const { fetch } = scriptedFetch(json(200, deny('approval_denied', ticket({ status: 'denied' }))));
    const env = await setup(fetch);
    const result = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'acct_7' } });
    assert.match(text(result), /payments:send \(no comment given\)\./);
    await env.client.close();
  });

  it('hideDeniedTools keeps a tool that needs approval listed, and its calls are answered, not hidden', async () => {
    const { fetch } = scriptedFetch(json(200, deny('approval_required', ticket())));
    const env = await setup(fetch, { hideDeniedTools: true, listCacheTtl: 0 });
    const { tools } = await env.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['pay', 'ping']);
    const result = await env.client.callTool({ name: 'pay', arguments: { amount: 900, to: 'acct_7' } });
    assert.match(text(result), /approval requested \(id apr_7\)/);
    await env.client.close();
  });
});
