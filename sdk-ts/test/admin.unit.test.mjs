// The admin client against a scripted fetch: what a real server cannot be made to do on demand
// (fail in the middle of a create, answer garbage), and the exact requests it sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OakAuthAdmin,
  OakAuthConflictError,
  OakAuthConnectionError,
  OakAuthMalformedResponseError,
  OakAuthNotFoundError,
  OakAuthRateLimitError,
  OakAuthServerError,
} from 'oakauth';
import { json, refused, reset, scriptedFetch } from './support/fake-fetch.mjs';

const admin = (fetch, options = {}) => new OakAuthAdmin({ adminKey: 'oakadm_test', baseUrl: 'http://oak.test', fetch, retries: 2, ...options });
const serverError = json(500, { error: { code: 'internal_error', message: 'boom' } });
const agent = { id: 'agt_1', name: 'a', enabled: true, key_prefix: 'oak_ab', rate_limit: { capacity: 60, refill_per_second: 1 }, created_at: 't', updated_at: 't' };

describe('retries of admin calls', () => {
  it('a create that met a 500 is not sent again', async () => {
    const { fetch, calls } = scriptedFetch(serverError, json(201, { agent, api_key: 'oak_x', previous_key_expires_at: null }));
    await assert.rejects(admin(fetch).createAgent({ name: 'a' }), OakAuthServerError);
    assert.equal(calls.length, 1);
  });

  it('a create whose connection was reset is not sent again', async () => {
    const { fetch, calls } = scriptedFetch(reset());
    await assert.rejects(admin(fetch).createAgent({ name: 'a' }), OakAuthConnectionError);
    assert.equal(calls.length, 1);
  });

  it('a create whose connection was refused is sent again', async () => {
    const { fetch, calls } = scriptedFetch(refused(), json(201, { agent, api_key: 'oak_x', previous_key_expires_at: null }));
    const created = await admin(fetch).createAgent({ name: 'a' });
    assert.equal(created.api_key, 'oak_x');
    assert.equal(calls.length, 2);
  });

  it('a read that met a 500 is retried', async () => {
    const { fetch, calls } = scriptedFetch(serverError, json(200, agent));
    assert.deepEqual(await admin(fetch).getAgent('agt_1'), agent);
    assert.equal(calls.length, 2);
  });

  it('a 429 is thrown with its Retry-After, not retried', async () => {
    const { fetch, calls } = scriptedFetch(json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '4' }));
    const err = await admin(fetch).me().catch((e) => e);
    assert.ok(err instanceof OakAuthRateLimitError);
    assert.equal(err.retryAfter, 4);
    assert.equal(err.decisionId, undefined);
    assert.equal(calls.length, 1);
  });
});

describe('requests', () => {
  it('sends the admin key, the method, the path and the JSON body', async () => {
    const { fetch, calls } = scriptedFetch(json(200, agent));
    await admin(fetch).updateAgent('agt_1', { enabled: false });
    assert.equal(calls[0].url, 'http://oak.test/v1/admin/agents/agt_1');
    assert.equal(calls[0].init.method, 'PATCH');
    assert.equal(calls[0].init.headers.Authorization, 'Bearer oakadm_test');
    assert.deepEqual(calls[0].body, { enabled: false });
  });

  it('sends no body and no Content-Type on a read', async () => {
    const { fetch, calls } = scriptedFetch(json(200, agent));
    await admin(fetch).getAgent('agt_1');
    assert.equal(calls[0].init.body, undefined);
    assert.equal(calls[0].init.headers['Content-Type'], undefined);
  });

  it('puts log filters in the query, booleans as true/false, and leaves out the unset ones', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { logs: [], next_cursor: null }));
    await admin(fetch).listLogs({ agent_id: 'agt_1', allowed: false, reason: 'reasoning_required', tool: undefined, limit: 5 });
    const url = new URL(calls[0].url);
    assert.equal(url.pathname, '/v1/admin/logs');
    assert.deepEqual(Object.fromEntries(url.searchParams), { agent_id: 'agt_1', allowed: 'false', reason: 'reasoning_required', limit: '5' });
  });

  it('encodes ids as one path segment and refuses dot segments', async () => {
    const { fetch, calls } = scriptedFetch(json(200, agent));
    await admin(fetch).getAgent('a/b?c');
    assert.equal(calls[0].url, 'http://oak.test/v1/admin/agents/a%2Fb%3Fc');
    await assert.rejects(admin(fetch).getAgent('..'), TypeError);
    await assert.rejects(admin(fetch).deleteTool('agt_1', ''), TypeError);
    assert.equal(calls.length, 1);
  });

  it('a delete answered 204 resolves to undefined', async () => {
    const { fetch, calls } = scriptedFetch(() => new Response(null, { status: 204 }));
    assert.equal(await admin(fetch).deleteRule('agt_1', 'rul_1'), undefined);
    assert.equal(calls[0].init.method, 'DELETE');
    assert.equal(calls[0].url, 'http://oak.test/v1/admin/agents/agt_1/rules/rul_1');
  });

  it('rotateAgentKey sends the overlap', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { agent, api_key: 'oak_new', previous_key_expires_at: null }));
    await admin(fetch).rotateAgentKey('agt_1', { overlap_seconds: 0 });
    assert.equal(calls[0].url, 'http://oak.test/v1/admin/agents/agt_1/rotate-key');
    assert.deepEqual(calls[0].body, { overlap_seconds: 0 });
  });
});

describe('logs() iterates page after page', () => {
  it('follows next_cursor until it is null, keeping the filters', async () => {
    const entry = (id) => ({ decision_id: id });
    const { fetch, calls } = scriptedFetch(
      json(200, { logs: [entry('d3'), entry('d2')], next_cursor: 'c1' }),
      json(200, { logs: [entry('d1')], next_cursor: null }),
    );
    const seen = [];
    for await (const e of admin(fetch).logs({ agent_id: 'agt_1', limit: 2 })) seen.push(e.decision_id);
    assert.deepEqual(seen, ['d3', 'd2', 'd1']);
    assert.equal(calls.length, 2);
    assert.equal(new URL(calls[0].url).searchParams.get('cursor'), null);
    assert.equal(new URL(calls[1].url).searchParams.get('cursor'), 'c1');
    assert.equal(new URL(calls[1].url).searchParams.get('agent_id'), 'agt_1');
  });

  it('stops fetching when the loop stops', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { logs: [{ decision_id: 'd2' }], next_cursor: 'c1' }), json(200, { logs: [{ decision_id: 'd1' }], next_cursor: null }));
    for await (const _ of admin(fetch).logs()) break;
    assert.equal(calls.length, 1);
  });
});

describe('errors and malformed answers', () => {
  it('404 and 409 are their own classes with status and code', async () => {
    const { fetch } = scriptedFetch(json(404, { error: { code: 'not_found', message: 'no such agent' } }), json(409, { error: { code: 'conflict', message: 'name taken' } }));
    const client = admin(fetch);
    const notFound = await client.getAgent('agt_x').catch((e) => e);
    assert.ok(notFound instanceof OakAuthNotFoundError);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.code, 'not_found');
    const conflict = await client.createAgent({ name: 'a' }).catch((e) => e);
    assert.ok(conflict instanceof OakAuthConflictError);
    assert.match(conflict.message, /name taken/);
  });

  it('a list answer without its array is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { items: [], next_cursor: null }));
    await assert.rejects(admin(fetch).listAgents(), OakAuthMalformedResponseError);
  });

  it('a next_cursor that is not a string or null is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { tools: [], next_cursor: 5 }));
    await assert.rejects(admin(fetch).listTools('agt_1'), OakAuthMalformedResponseError);
  });

  it('an answer that is not a JSON object is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, '[1,2]'));
    await assert.rejects(admin(fetch).me(), OakAuthMalformedResponseError);
  });

  it('needs an admin key', () => {
    assert.throws(() => new OakAuthAdmin({ adminKey: ' ', fetch: async () => {} }), TypeError);
  });
});
