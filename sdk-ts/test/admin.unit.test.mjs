// The admin client against a scripted fetch: what a real server cannot be made to do on demand
// (fail in the middle of a create, answer garbage), and the exact requests it sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OakAuthAdmin,
  OakAuthConnectionError,
  OakAuthMalformedResponseError,
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

describe('errors and malformed answers', () => {
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
