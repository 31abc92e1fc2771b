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
  OakAuthPlanLimitError,
  OakAuthRateLimitError,
  OakAuthServerError,
  OakAuthValidationError,
} from 'oakauth';
import { json, refused, reset, scriptedFetch } from './support/fake-fetch.mjs';

const admin = (fetch, options = {}) => new OakAuthAdmin({ adminKey: 'oakadm_test', baseUrl: 'https://oak.test', fetch, retries: 2, ...options });
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
    assert.throws(() => new OakAuthAdmin({ adminKey: ' ', baseUrl: 'https://oak.test', fetch: async () => {} }), { name: 'OakAuthConfigurationError' });
  });
});

describe('admin events and audit verification', () => {
  const event = (n) => ({
    id: `evt_${n}`,
    request_id: `req_${n}`,
    actor: 'oakadm_abcdef',
    action: 'agent.update',
    agent_id: 'agt_1',
    target_id: 'agt_1',
    detail: { enabled: false },
    created_at: `2026-01-01T00:00:0${n}.000Z`,
  });
  const intact = { agent_id: 'agt_1', ok: true, rows_checked: 3, head_seq: 3, broken: null, breaks: [], breaks_omitted: 0 };
  const modified = { chain_seq: 2, decision_id: 'dec_2', problem: 'row content does not match its hash: the row was modified' };
  const broken = {
    agent_id: 'agt_2',
    ok: false,
    rows_checked: 1,
    head_seq: 4,
    broken: modified,
    breaks: [modified],
    breaks_omitted: 0,
  };

  it('listEvents sends the filters as the query', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { events: [event(1)], next_cursor: '17' }));
    const page = await admin(fetch).listEvents({ agent_id: 'agt_1', limit: 1, cursor: '20' });
    assert.deepEqual(page.events, [event(1)]);
    assert.equal(page.next_cursor, '17');
    const url = new URL(calls[0].url);
    assert.equal(url.pathname, '/v1/admin/events');
    assert.deepEqual(Object.fromEntries(url.searchParams), { agent_id: 'agt_1', limit: '1', cursor: '20' });
    assert.equal(calls[0].init.method, 'GET');
  });

  it('events() follows the cursors until the last page', async () => {
    const { fetch, calls } = scriptedFetch(
      json(200, { events: [event(3), event(2)], next_cursor: '2' }),
      json(200, { events: [event(1)], next_cursor: null }),
    );
    const seen = [];
    for await (const e of admin(fetch).events({ limit: 2 })) seen.push(e.id);
    assert.deepEqual(seen, ['evt_3', 'evt_2', 'evt_1']);
    assert.equal(calls.length, 2);
    assert.equal(new URL(calls[1].url).searchParams.get('cursor'), '2');
  });

  it('an events answer without its array is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { logs: [], next_cursor: null }));
    await assert.rejects(admin(fetch).listEvents(), OakAuthMalformedResponseError);
  });

  it('verifyAudit asks about one agent or all of them', async () => {
    const report = { ok: false, agents: [intact, broken], next_cursor: null };
    const { fetch, calls } = scriptedFetch(json(200, { ok: true, agents: [intact], next_cursor: null }), json(200, report));
    assert.deepEqual(await admin(fetch).verifyAudit({ agent_id: 'agt_1' }), { ok: true, agents: [intact], next_cursor: null });
    assert.deepEqual(await admin(fetch).verifyAudit(), report);
    assert.equal(new URL(calls[0].url).search, '?agent_id=agt_1');
    assert.equal(new URL(calls[1].url).search, '');
    assert.equal(new URL(calls[1].url).pathname, '/v1/admin/audit/verify');
  });

  it('a verification that contradicts itself is malformed, never read as intact', async () => {
    for (const body of [
      { ok: true, agents: [intact, broken], next_cursor: null },
      { ok: true, agents: [{ ...broken, ok: true }], next_cursor: null },
      { ok: false, agents: [{ ...broken, broken: null }], next_cursor: null },
      { ok: true },
      { ok: 'yes', agents: [], next_cursor: null },
      { ok: true, agents: [intact], next_cursor: 7 },
    ]) {
      const { fetch } = scriptedFetch(json(200, body));
      await assert.rejects(admin(fetch).verifyAudit(), OakAuthMalformedResponseError, JSON.stringify(body));
    }
  });

  it('verifyAuditAll follows next_cursor until every agent is verified', async () => {
    const { fetch, calls } = scriptedFetch(
      json(200, { ok: true, agents: [intact], next_cursor: 'agt_1' }),
      json(200, { ok: false, agents: [broken], next_cursor: null }),
    );
    assert.deepEqual(await admin(fetch).verifyAuditAll({ limit: 1 }), { ok: false, agents: [intact, broken], next_cursor: null });
    assert.equal(new URL(calls[0].url).search, '?limit=1');
    assert.equal(new URL(calls[1].url).search, '?limit=1&cursor=agt_1');
  });

  it('verifyAudit refuses an empty agent id before asking', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { ok: true, agents: [] }));
    await assert.rejects(admin(fetch).verifyAudit({ agent_id: '' }), TypeError);
    assert.equal(calls.length, 0);
  });
});

describe('rules with conditions, input schemas, simulate and replay', () => {
  const condition = { any_of: [{ pointer: '/amount', op: 'lt', value: 500, on_missing: 'deny' }, { not: { source: 'request', pointer: '/weekday', op: 'in', value: ['sat', 'sun'], on_missing: 'skip' } }] };
  const rule = {
    id: 'rule_1', agent_id: 'agt_1', tool_id: 'tool_1', tool: 'payments', scope: 'send', effect: 'deny', require_reasoning: 'none',
    conditions: [condition], mode: 'shadow', description: 'no big payments', created_at: 't', updated_at: 't',
  };

  it('createRule and updateRule send effect, conditions, mode and description as given', async () => {
    const { fetch, calls } = scriptedFetch(json(201, rule), json(200, { ...rule, mode: 'enforce' }));
    const body = { tool: 'payments', scope: 'send', effect: 'deny', conditions: [condition], mode: 'shadow', description: 'no big payments' };
    assert.deepEqual(await admin(fetch).createRule('agt_1', body), rule);
    await admin(fetch).updateRule('agt_1', 'rule_1', { mode: 'enforce' });
    assert.equal(new URL(calls[0].url).pathname, '/v1/admin/agents/agt_1/rules');
    assert.deepEqual(calls[0].body, body);
    assert.equal(calls[1].init.method, 'PATCH');
    assert.deepEqual(calls[1].body, { mode: 'enforce' });
  });

  it('a malformed condition is an OakAuthValidationError naming it', async () => {
    const message = 'conditions[0].any_of[1]: unknown operator "like"';
    const { fetch } = scriptedFetch(json(400, { error: { code: 'invalid_request', message } }));
    const err = await admin(fetch).createRule('agt_1', { tool: 'payments', scope: 'send', conditions: [{ pointer: '/a', op: 'like', on_missing: 'deny' }] }).catch((e) => e);
    assert.ok(err instanceof OakAuthValidationError, err?.name);
    assert.equal(err.code, 'invalid_request');
    assert.match(err.message, /conditions\[0\]\.any_of\[1\]/);
  });

  it('updateTool sends input_schema: null to remove the schema', async () => {
    const tool = { id: 'tool_1', agent_id: 'agt_1', name: 'payments', description: '', scopes: ['send'], risk_level: 'write', input_schema: null, created_at: 't', updated_at: 't' };
    const { fetch, calls } = scriptedFetch(json(200, tool));
    await admin(fetch).updateTool('agt_1', 'tool_1', { input_schema: null });
    assert.deepEqual(calls[0].body, { input_schema: null });
  });

  it('listLogs passes the shadow filter', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { logs: [], next_cursor: null }));
    await admin(fetch).listLogs({ agent_id: 'agt_1', shadow: 'deny' });
    assert.equal(new URL(calls[0].url).search, '?agent_id=agt_1&shadow=deny');
  });

  it('simulate posts the request and returns the decision with its trace', async () => {
    const answer = {
      allowed: false, reason: 'denied_by_rule', message: 'denied', reasoning_required: 'none', reasoning_provided: false,
      explanation: { rule_id: 'rule_1', effect: 'deny', condition: null, message: 'rule_1 denies' }, shadow: [],
      trace: [{ rule_id: 'rule_1', effect: 'deny', mode: 'enforce', outcome: 'matched', condition: null }],
    };
    const body = { agent_id: 'agt_1', request: { tool: 'payments', scope: 'send', arguments: { amount: 900 } }, rules: [{ tool: 'payments', scope: 'send', effect: 'deny' }], at: '2026-01-02T03:04:05Z' };
    const { fetch, calls } = scriptedFetch(json(200, answer));
    assert.deepEqual(await admin(fetch).simulate(body), answer);
    assert.equal(calls[0].init.method, 'POST');
    assert.equal(new URL(calls[0].url).pathname, '/v1/admin/simulate');
    assert.deepEqual(calls[0].body, body);
  });

  it('simulate writes nothing, so a 500 is retried; an unknown agent is OakAuthNotFoundError', async () => {
    const answer = { allowed: true, reason: 'allowed', message: 'ok', reasoning_required: 'none', reasoning_provided: false, explanation: null, shadow: [], trace: [] };
    const { fetch, calls } = scriptedFetch(serverError, json(200, answer));
    assert.deepEqual(await admin(fetch).simulate({ agent_id: 'agt_1', request: { tool: 't', scope: 's' } }), answer);
    assert.equal(calls.length, 2);
    const missing = scriptedFetch(json(404, { error: { code: 'not_found', message: 'no such agent' } }));
    await assert.rejects(admin(missing.fetch).simulate({ agent_id: 'agt_x', request: { tool: 't', scope: 's' } }), OakAuthNotFoundError);
  });

  it('replay posts the draft rules and returns the changes', async () => {
    const answer = {
      replayed: 2,
      changed: [{ decision_id: 'dec_1', created_at: 't', tool: 'payments', scope: 'send', before: 'allowed', after: 'denied_by_rule', allowed_before: true, allowed_after: false, explanation: null, approximate: true }],
    };
    const body = { agent_id: 'agt_1', rules: [{ tool: 'payments', scope: 'send', effect: 'deny', conditions: [condition] }], limit: 2 };
    const { fetch, calls } = scriptedFetch(json(200, answer));
    assert.deepEqual(await admin(fetch).replay(body), answer);
    assert.equal(new URL(calls[0].url).pathname, '/v1/admin/simulate/replay');
    assert.deepEqual(calls[0].body, body);
  });

  it('a simulate answer that is not a JSON object is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, '[]'));
    await assert.rejects(admin(fetch).simulate({ agent_id: 'agt_1', request: { tool: 't', scope: 's' } }), OakAuthMalformedResponseError);
  });
});

describe('approvals and webhooks', () => {
  const approval = {
    id: 'apr_1', agent_id: 'agt_1', agent_name: 'a', tool: 'payments', scope: 'send', arguments: { amount: 900 },
    arguments_digest: 'ab'.repeat(32), reasoning: 'invoice', rule_id: 'rule_1', rule_version: 't', status: 'pending',
    created_at: 't', expires_at: 't', decided_at: null, decided_by: null, comment: null, consumed_at: null, consumed_by: null, requested_by: 'dec_1',
  };
  const webhook = { id: 'whk_1', url: 'https://hooks.example.com/oak', event_types: ['approval.requested'], enabled: true, disabled_reason: null, description: '', secret_rotating_until: null, created_at: 't', updated_at: 't' };
  const delivery = { id: 'msg_1', webhook_id: 'whk_1', event_type: 'approval.requested', status: 'failed', attempts: 3, next_attempt_at: null, last_status_code: 500, last_error: null, created_at: 't', delivered_at: null, payload: {} };
  const sent = (calls) => calls.map((c) => [c.init.method, new URL(c.url).pathname + new URL(c.url).search, c.body]);

  it('each method sends its request', async () => {
    const { fetch, calls } = scriptedFetch(async (url, init) => {
      const path = new URL(url).pathname;
      if (init.method === 'DELETE') return new Response(null, { status: 204 });
      if (path === '/v1/admin/approvals') return json(200, { approvals: [approval], next_cursor: null })();
      if (path.startsWith('/v1/admin/approvals/')) return json(200, approval)();
      if (path === '/v1/admin/webhooks' && init.method === 'GET') return json(200, { webhooks: [webhook], next_cursor: null })();
      if (path.endsWith('/deliveries')) return json(200, { deliveries: [delivery], next_cursor: null })();
      if (path.endsWith('/redeliver')) return json(200, delivery)();
      if (init.method === 'POST') return json(201, { ...webhook, secret: 'whsec_x' })();
      return json(200, webhook)();
    });
    const a = admin(fetch);
    assert.deepEqual((await a.listApprovals({ status: 'pending', agent_id: 'agt_1', limit: 10 })).approvals, [approval]);
    assert.deepEqual(await a.getApproval('apr_1'), approval);
    await a.decideApproval('apr_1', { decision: 'deny', comment: 'not this vendor' });
    await a.listWebhooks({ limit: 5 });
    assert.equal((await a.createWebhook({ url: webhook.url, event_types: ['approval.requested'] })).secret, 'whsec_x');
    await a.getWebhook('whk_1');
    await a.updateWebhook('whk_1', { enabled: false });
    await a.deleteWebhook('whk_1');
    await a.rotateWebhookSecret('whk_1');
    await a.rotateWebhookSecret('whk_1', { overlap_seconds: 0 });
    assert.deepEqual((await a.listWebhookDeliveries('whk_1', { status: 'failed' })).deliveries, [delivery]);
    assert.deepEqual(await a.redeliverWebhook('whk_1', 'msg_1'), delivery);
    assert.deepEqual(sent(calls), [
      ['GET', '/v1/admin/approvals?status=pending&agent_id=agt_1&limit=10', undefined],
      ['GET', '/v1/admin/approvals/apr_1', undefined],
      ['POST', '/v1/admin/approvals/apr_1/decision', { decision: 'deny', comment: 'not this vendor' }],
      ['GET', '/v1/admin/webhooks?limit=5', undefined],
      ['POST', '/v1/admin/webhooks', { url: webhook.url, event_types: ['approval.requested'] }],
      ['GET', '/v1/admin/webhooks/whk_1', undefined],
      ['PATCH', '/v1/admin/webhooks/whk_1', { enabled: false }],
      ['DELETE', '/v1/admin/webhooks/whk_1', undefined],
      ['POST', '/v1/admin/webhooks/whk_1/rotate-secret', {}],
      ['POST', '/v1/admin/webhooks/whk_1/rotate-secret', { overlap_seconds: 0 }],
      ['GET', '/v1/admin/webhooks/whk_1/deliveries?status=failed', undefined],
      ['POST', '/v1/admin/webhooks/whk_1/deliveries/msg_1/redeliver', undefined],
    ]);
  });

  it('a decision whose connection was reset is not sent again (the approval may be decided)', async () => {
    const { fetch, calls } = scriptedFetch(reset());
    await assert.rejects(admin(fetch).decideApproval('apr_1', { decision: 'approve' }), OakAuthConnectionError);
    assert.equal(calls.length, 1);
  });

  it('deciding an approval that is no longer pending is an OakAuthConflictError', async () => {
    const { fetch } = scriptedFetch(json(409, { error: { code: 'conflict', message: 'the approval is already approved' } }));
    const err = await admin(fetch).decideApproval('apr_1', { decision: 'deny' }).catch((e) => e);
    assert.ok(err instanceof OakAuthConflictError);
    assert.equal(err.code, 'conflict');
  });

  it('list answers without their arrays are malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { items: [], next_cursor: null }));
    await assert.rejects(admin(fetch).listApprovals(), OakAuthMalformedResponseError);
    await assert.rejects(admin(fetch).listWebhooks(), OakAuthMalformedResponseError);
    await assert.rejects(admin(fetch).listWebhookDeliveries('whk_1'), OakAuthMalformedResponseError);
  });

  it('ids cannot change the route', async () => {
    const { fetch } = scriptedFetch(json(200, approval));
    await assert.rejects(admin(fetch).getApproval('..'), TypeError);
    await assert.rejects(admin(fetch).redeliverWebhook('whk_1', ''), TypeError);
  });
});

describe('plans, usage and billing', () => {
  const plans = {
    plans: [
      { id: 'free', name: 'Free', limits: { agents: 1, members: 3, validations_per_month: 1000, webhook_endpoints: 1 }, self_serve: true },
      { id: 'enterprise', name: 'Enterprise', limits: { agents: null, members: null, validations_per_month: null, webhook_endpoints: null }, self_serve: false },
    ],
  };
  const usage = {
    organization_id: 'org_1',
    plan: 'free',
    subscribed_plan: 'free',
    billing_status: 'none',
    grace_until: null,
    billing_enabled: false,
    period: { start: '2026-12-01T00:00:00Z', end: '2027-01-01T00:00:00Z' },
    quotas: {
      validations: { used: 812, limit: 1000 },
      agents: { used: 1, limit: 1 },
      members: { used: 2, limit: 3 },
      webhook_endpoints: { used: 0, limit: 1 },
    },
    by_day: [{ date: '2026-12-01', validations: 812 }],
    by_agent: [{ agent_id: 'agt_1', name: 'billing-bot', validations: 812 }],
  };

  it('plans() reads GET /v1/plans', async () => {
    const { fetch, calls } = scriptedFetch(json(200, plans));
    assert.deepEqual(await admin(fetch).plans(), plans);
    assert.equal(calls[0].init.method, 'GET');
    assert.equal(new URL(calls[0].url).pathname, '/v1/plans');
  });

  it('plans() refuses an answer without its list', async () => {
    const { fetch } = scriptedFetch(json(200, { items: [] }));
    await assert.rejects(admin(fetch).plans(), OakAuthMalformedResponseError);
  });

  it('usage() reads GET /v1/admin/usage with the key', async () => {
    const { fetch, calls } = scriptedFetch(json(200, usage));
    assert.deepEqual(await admin(fetch).usage(), usage);
    assert.equal(new URL(calls[0].url).pathname, '/v1/admin/usage');
    assert.equal(calls[0].init.headers.Authorization, 'Bearer oakadm_test');
  });

  it('billingCheckout(plan) posts {plan} and returns the URL; billingPortal() posts {}', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { url: 'https://checkout.stripe.com/c/pay/cs_1' }), json(200, { url: 'https://billing.stripe.com/p/session/1' }));
    const client = admin(fetch);
    assert.deepEqual(await client.billingCheckout('pro'), { url: 'https://checkout.stripe.com/c/pay/cs_1' });
    assert.deepEqual(await client.billingPortal(), { url: 'https://billing.stripe.com/p/session/1' });
    assert.deepEqual(calls.map((c) => [c.init.method, new URL(c.url).pathname, c.body]), [
      ['POST', '/v1/admin/billing/checkout', { plan: 'pro' }],
      ['POST', '/v1/admin/billing/portal', {}],
    ]);
  });

  it('a checkout that met a 500 is not sent again', async () => {
    const { fetch, calls } = scriptedFetch(serverError, json(200, { url: 'https://checkout.stripe.com/x' }));
    await assert.rejects(admin(fetch).billingCheckout('pro'), OakAuthServerError);
    assert.equal(calls.length, 1);
  });

  it('billing that is not configured is OakAuthNotFoundError with its code', async () => {
    const { fetch } = scriptedFetch(json(404, { error: { code: 'billing_not_configured', message: 'billing is not configured' } }));
    const err = await admin(fetch).billingPortal().catch((e) => e);
    assert.ok(err instanceof OakAuthNotFoundError);
    assert.equal(err.code, 'billing_not_configured');
  });

  it('a 402 plan_limit is OakAuthPlanLimitError naming the limit', async () => {
    const body = { error: { code: 'plan_limit', message: 'the Free plan allows 1 agent; upgrade to Pro for more', quota: 'agents', limit: 1, plan: 'free' } };
    const { fetch, calls } = scriptedFetch(json(402, body));
    const err = await admin(fetch).createAgent({ name: 'second' }).catch((e) => e);
    assert.ok(err instanceof OakAuthPlanLimitError, err?.name);
    assert.equal(err.status, 402);
    assert.equal(err.code, 'plan_limit');
    assert.equal(err.quota, 'agents');
    assert.equal(err.limit, 1);
    assert.equal(err.plan, 'free');
    assert.match(err.message, /upgrade to Pro/);
    assert.equal(calls.length, 1);
  });
});
