// Stripe billing against the real worker in local workerd (docs/billing.md). Webhooks are signed
// with the official `stripe` npm package (stripe.webhooks.generateTestHeaderString: Stripe's
// implementation, not ours). A local HTTP recorder on 127.0.0.1 stands in for Stripe's API (the
// only fake, at the network boundary): it records the Checkout and Portal session requests and
// answers as Stripe does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startWorker } from '../support/worker.mjs';
import { client, checkAgainstSpec } from '../support/api.mjs';
import { startStripeRecorder } from '../support/stripe.mjs';
import { receiver, closeReceivers, verified, until } from '../support/hooks.mjs';

// Only the webhook test helper of the library is used; no request ever reaches Stripe.
const stripe = new Stripe('sk_test_not_used_by_the_helper');
const SECRET_KEY = 'sk_test_oakauth_e2e_0123456789abcdefghij';
const WEBHOOK_SECRET = 'whsec_oakauth_e2e_billing_0123456789abcdef';
const PRICE_PRO = 'price_test_pro_e2e';
const DASHBOARD = 'https://dashboard.example';
const CHECKOUT_URL = 'https://checkout.stripe.com/c/pay/cs_test_e2e_1';
const PORTAL_URL = 'https://billing.stripe.com/p/session/test_e2e_1';

let worker, unconfigured, recorder;
/** Every request the worker sent the Stripe API recorder. */
let recorded;

before(async () => {
  recorder = await startStripeRecorder({ checkoutUrl: CHECKOUT_URL, portalUrl: PORTAL_URL });
  recorded = recorder.recorded;
  [worker, unconfigured] = await Promise.all([
    startWorker({
      vars: {
        STRIPE_SECRET_KEY: SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: recorder.url,
        STRIPE_PRICE_PRO: PRICE_PRO,
        DASHBOARD_URL: DASHBOARD,
      },
    }),
    startWorker(),
  ]);
});
after(async () => {
  if (process.env.OAK_DEBUG) console.log(worker?.logs.join(''));
  recorder?.close();
  closeReceivers();
  await Promise.all([worker?.stop(), unconfigured?.stop()]);
});

// Every answer is checked against docs/openapi.yaml.
const call = client;

let clock = Math.floor(Date.now() / 1000) - 120;
let eventSeq = 0;
/** A Stripe event, `created` later than every one before unless given. */
function stripeEvent(type, object, { created, id } = {}) {
  eventSeq += 1;
  return { id: id ?? `evt_test_e2e_${Date.now()}_${eventSeq}`, object: 'event', api_version: '2025-01-27.acacia', type, created: created ?? ++clock, livemode: false, data: { object } };
}

function subscription(orgId, status, { id = `sub_${orgId}`, customer = `cus_${orgId}`, price = PRICE_PRO } = {}) {
  return { id, object: 'subscription', customer, status, metadata: { org_id: orgId }, items: { object: 'list', data: [{ id: 'si_1', object: 'subscription_item', price: { id: price, object: 'price' } }] } };
}

/** Delivers `event` as Stripe would, signed by the stripe library (`secret`, `timestamp` to forge). */
async function deliver(event, { secret = WEBHOOK_SECRET, timestamp, target = worker, header } = {}) {
  const payload = JSON.stringify(event);
  const signature = header ?? stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
  const res = await fetch(`${target.baseUrl}/v1/billing/stripe/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(signature ? { 'Stripe-Signature': signature } : {}) },
    body: payload,
  });
  const text = await res.text();
  checkAgainstSpec('POST', res.url, res.status, res.headers, text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function billingRow(orgId) {
  const answer = await worker.d1(
    `SELECT plan, billing_status, grace_until, stripe_customer_id, stripe_subscription_id, billing_updated_at FROM organizations WHERE id = '${orgId}'`,
  );
  return answer[0].results[0];
}

/** The plan in force, from `GET /v1/admin/usage` when the worker serves it. */
async function usagePlan(admin) {
  const usage = await admin('GET', '/v1/admin/usage');
  if (usage.status === 404 && usage.body?.error?.code === 'not_found') return undefined;
  assert.equal(usage.status, 200, usage.text);
  return usage.body;
}

async function events(admin) {
  const r = await admin('GET', '/v1/admin/events?limit=100');
  assert.equal(r.status, 200, r.text);
  return r.body.events;
}

test('checkout sends Stripe exactly the contract form and answers the URL Stripe gave', async () => {
  const org = await worker.createOrganization('Checkout Org', { plan: 'free' });
  const owner = call(worker.baseUrl, org.adminKey);
  recorded.length = 0;
  const r = await owner('POST', '/v1/admin/billing/checkout', { plan: 'pro' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { url: CHECKOUT_URL });
  assert.equal(recorded.length, 1);
  const [sent] = recorded;
  assert.equal(sent.method, 'POST');
  assert.equal(sent.path, '/v1/checkout/sessions');
  assert.equal(sent.headers.authorization, `Bearer ${SECRET_KEY}`);
  assert.equal(sent.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.deepEqual([...new URLSearchParams(sent.body)], [
    ['mode', 'subscription'],
    ['line_items[0][price]', PRICE_PRO],
    ['line_items[0][quantity]', '1'],
    ['client_reference_id', org.orgId],
    ['metadata[org_id]', org.orgId],
    ['subscription_data[metadata][org_id]', org.orgId],
    ['success_url', `${DASHBOARD}/#/usage?checkout=success`],
    ['cancel_url', `${DASHBOARD}/#/usage?checkout=cancelled`],
  ]);

  // Plans that are not bought through Checkout.
  for (const plan of ['free', 'enterprise']) {
    const refused = await owner('POST', '/v1/admin/billing/checkout', { plan });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, 'invalid_request');
  }
  assert.equal((await owner('POST', '/v1/admin/billing/checkout', { plan: 'gold' })).status, 400);
  assert.equal(recorded.length, 1, 'refused requests never reach Stripe');

  // A customer already known goes with the next Checkout (after a cancellation, say).
  await worker.d1(`UPDATE organizations SET stripe_customer_id = 'cus_known_e2e', billing_status = 'canceled' WHERE id = '${org.orgId}'`);
  const again = await owner('POST', '/v1/admin/billing/checkout', { plan: 'pro' });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual([...new URLSearchParams(recorded[1].body)].at(-1), ['customer', 'cus_known_e2e']);

  // With an active subscription, Checkout is the wrong door: 409, use the portal.
  await worker.d1(`UPDATE organizations SET billing_status = 'active', plan = 'pro' WHERE id = '${org.orgId}'`);
  const active = await owner('POST', '/v1/admin/billing/checkout', { plan: 'pro' });
  assert.equal(active.status, 409, active.text);
  assert.equal(active.body.error.code, 'conflict');
  assert.match(active.body.error.message, /portal/);
});

test('the portal needs a Stripe customer, and sends Stripe the customer and the way back', async () => {
  const org = await worker.createOrganization('Portal Org', { plan: 'free' });
  const owner = call(worker.baseUrl, org.adminKey);
  recorded.length = 0;
  const none = await owner('POST', '/v1/admin/billing/portal', {});
  assert.equal(none.status, 409, none.text);
  assert.equal(none.body.error.code, 'conflict');
  assert.equal(recorded.length, 0);

  // checkout.session.completed tells the worker the customer.
  const completed = stripeEvent('checkout.session.completed', {
    id: 'cs_test_portal', object: 'checkout.session', client_reference_id: org.orgId, customer: 'cus_portal_e2e', subscription: 'sub_portal_e2e',
  });
  assert.deepEqual((await deliver(completed)).body, { received: true });
  const row = await billingRow(org.orgId);
  assert.deepEqual([row.stripe_customer_id, row.stripe_subscription_id, row.plan], ['cus_portal_e2e', 'sub_portal_e2e', 'free']);

  const r = await owner('POST', '/v1/admin/billing/portal', {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { url: PORTAL_URL });
  assert.equal(recorded.length, 1);
  assert.equal(recorded[0].path, '/v1/billing_portal/sessions');
  assert.equal(recorded[0].headers.authorization, `Bearer ${SECRET_KEY}`);
  assert.deepEqual([...new URLSearchParams(recorded[0].body)], [['customer', 'cus_portal_e2e'], ['return_url', `${DASHBOARD}/#/usage`]]);
  // An empty body is the same as {}; unknown fields are refused.
  assert.equal((await owner('POST', '/v1/admin/billing/portal')).status, 200);
  assert.equal((await owner('POST', '/v1/admin/billing/portal', { customer: 'cus_other' })).status, 400);
});

test('only owners open Checkout or the portal', async () => {
  const org = await worker.createOrganization('Roles Org', { plan: 'free' });
  const owner = client(worker.baseUrl, org.adminKey);
  for (const role of ['admin', 'viewer']) {
    const made = await owner('POST', '/v1/admin/keys', { name: `${role} key`, role });
    assert.equal(made.status, 201, made.text);
    const as = call(worker.baseUrl, made.body.secret);
    for (const [path, body] of [['/v1/admin/billing/checkout', { plan: 'pro' }], ['/v1/admin/billing/portal', {}]]) {
      const r = await as('POST', path, body);
      assert.equal(r.status, 403, `${role} ${path}: ${r.text}`);
      assert.match(r.body.error.message, new RegExp(`needs the owner role; you are ${role}`));
    }
  }
});

test('Stripe failing is a 500 for the caller, and the secret key is never logged', async () => {
  const org = await worker.createOrganization('Failing Stripe Org', { plan: 'free' });
  const owner = call(worker.baseUrl, org.adminKey);
  recorder.failure = {
    status: 401,
    body: { error: { type: 'invalid_request_error', code: 'api_key_expired', message: `Expired API Key provided: ${SECRET_KEY}` } },
  };
  try {
    const r = await owner('POST', '/v1/admin/billing/checkout', { plan: 'pro' });
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.error.code, 'internal_error');
    assert.ok(!r.text.includes(SECRET_KEY));
  } finally {
    recorder.failure = null;
  }
  await new Promise((r) => setTimeout(r, 500));
  const logs = worker.logs.join('');
  assert.match(logs, /Stripe \/v1\/checkout\/sessions: HTTP 401 \(invalid_request_error, api_key_expired\)/);
  assert.ok(!logs.includes(SECRET_KEY), 'the key is not in the logs');
  assert.ok(!logs.includes(SECRET_KEY.slice(8)), 'no part of the key is in the logs');
});

test('subscription events move the plan; bad signatures, old timestamps and replays change nothing; a downgrade disables the newest agents', async () => {
  const org = await worker.createOrganization('Subscriber Org', { plan: 'free' });
  const admin = client(worker.baseUrl, org.adminKey);

  const created = stripeEvent('customer.subscription.created', subscription(org.orgId, 'active'));
  // Not signed by Stripe's secret: refused, nothing changes.
  const forged = await deliver(created, { secret: 'whsec_someone_elses_secret_0123456789' });
  assert.equal(forged.status, 400);
  assert.equal(forged.body.error.code, 'invalid_request');
  assert.match(forged.body.error.message, /no v1 signature/);
  assert.ok(!JSON.stringify(forged.body).includes(WEBHOOK_SECRET));
  // Signed, but six minutes ago: refused as a replay would be.
  const old = await deliver(created, { timestamp: Math.floor(Date.now() / 1000) - 360 });
  assert.equal(old.status, 400);
  assert.match(old.body.error.message, /more than 300 s old/);
  // No header at all, or a malformed one.
  assert.equal((await deliver(created, { header: '' })).status, 400);
  assert.equal((await deliver(created, { header: 'v1=abc' })).status, 400);
  assert.equal((await billingRow(org.orgId)).plan, 'free');
  assert.equal((await worker.d1(`SELECT COUNT(*) AS n FROM stripe_events WHERE id = '${created.id}'`))[0].results[0].n, 0, 'refused deliveries are not remembered');

  // The real delivery: Pro.
  assert.deepEqual(await deliver(created), { status: 200, body: { received: true } });
  let row = await billingRow(org.orgId);
  assert.deepEqual([row.plan, row.billing_status, row.grace_until, row.stripe_customer_id], ['pro', 'active', null, `cus_${org.orgId}`]);
  assert.equal(row.billing_updated_at, created.created * 1000);
  const usage = await usagePlan(admin);
  if (usage) assert.deepEqual([usage.plan, usage.subscribed_plan, usage.billing_status], ['pro', 'pro', 'active']);
  const change = (await events(admin)).find((e) => e.action === 'organization.plan_change');
  assert.ok(change, 'the plan change is an admin event');
  assert.deepEqual([change.actor, change.actor_type, change.actor_name, change.target_id], ['billing', 'system', 'billing', org.orgId]);
  assert.deepEqual(change.detail, { from: 'free', to: 'pro', status: 'active' });

  // Three agents on Pro, oldest first.
  const agents = [];
  for (const name of ['first', 'second', 'third']) {
    const r = await admin('POST', '/v1/admin/agents', { name });
    assert.equal(r.status, 201, r.text);
    agents.push(r.body.agent.id);
    await new Promise((res) => setTimeout(res, 5));
  }

  // Webhook subscribers hear of agents a downgrade disables, as of an admin's change.
  const rx = await receiver();
  const hook = await admin('POST', '/v1/admin/webhooks', { url: rx.url, event_types: ['agent.changed'] });
  assert.equal(hook.status, 201, hook.text);

  // The subscription ends: Free, the two newest agents disabled (nothing deleted).
  const deleted = stripeEvent('customer.subscription.deleted', subscription(org.orgId, 'canceled'));
  assert.deepEqual((await deliver(deleted)).body, { received: true });
  row = await billingRow(org.orgId);
  assert.deepEqual([row.plan, row.billing_status], ['free', 'canceled']);
  const enabled = {};
  for (const id of agents) enabled[id] = (await admin('GET', `/v1/admin/agents/${id}`)).body.enabled;
  assert.deepEqual(enabled, { [agents[0]]: true, [agents[1]]: false, [agents[2]]: false });
  const all = await events(admin);
  const disables = all.filter((e) => e.action === 'agent.disable');
  assert.deepEqual(disables.map((e) => e.target_id).sort(), [agents[1], agents[2]].sort());
  for (const e of disables) {
    assert.deepEqual([e.actor, e.actor_type, e.agent_id], ['billing', 'system', e.target_id]);
    assert.deepEqual(e.detail, { enabled: false, reason: 'plan_limit', plan: 'free' });
  }
  await until(() => rx.got.length >= 2, 20_000, 'two agent.changed events');
  const changed = rx.got.map((req) => verified(hook.body.secret, req));
  assert.deepEqual(changed.map((e) => [e.type, e.data.action, e.data.agent.enabled]), Array(2).fill(['agent.changed', 'agent.disable', false]));
  assert.deepEqual(changed.map((e) => e.data.agent.id).sort(), [agents[1], agents[2]].sort());
  const downgrade = all.find((e) => e.action === 'organization.plan_change' && e.detail.to === 'free');
  assert.deepEqual(downgrade.detail, { from: 'pro', to: 'free', status: 'canceled' });
  assert.equal((await admin('GET', '/v1/admin/agents?limit=10')).body.agents.length, 3, 'nothing deleted');

  // Replaying the creation changes nothing: the event id was seen.
  const replay = await deliver(created);
  assert.deepEqual(replay, { status: 200, body: { received: true, duplicate: true } });
  assert.equal((await billingRow(org.orgId)).plan, 'free');
  // An event created before the last one applied (Stripe does not deliver in order) changes nothing.
  const late = stripeEvent('customer.subscription.updated', subscription(org.orgId, 'active'), { created: created.created });
  assert.deepEqual((await deliver(late)).body, { received: true });
  assert.equal((await billingRow(org.orgId)).plan, 'free');
  // Other event types are acknowledged and ignored.
  assert.deepEqual((await deliver(stripeEvent('customer.updated', { id: `cus_${org.orgId}`, object: 'customer' }))).body, { received: true });
});

test('a failed payment is past due with a grace period, after which the plan in force is Free', async () => {
  const org = await worker.createOrganization('Past Due Org', { plan: 'free' });
  const admin = client(worker.baseUrl, org.adminKey);
  assert.equal((await deliver(stripeEvent('customer.subscription.created', subscription(org.orgId, 'active')))).status, 200);
  const failed = stripeEvent('invoice.payment_failed', { id: 'in_e2e_1', object: 'invoice', customer: `cus_${org.orgId}`, subscription: `sub_${org.orgId}` });
  assert.deepEqual((await deliver(failed)).body, { received: true });
  let row = await billingRow(org.orgId);
  assert.deepEqual([row.plan, row.billing_status], ['pro', 'past_due']);
  assert.equal(row.grace_until, failed.created * 1000 + 7 * 86_400_000, 'BILLING_GRACE_DAYS defaults to 7');
  let usage = await usagePlan(admin);
  if (usage) {
    assert.deepEqual([usage.plan, usage.billing_status], ['pro', 'past_due']);
    assert.equal(Date.parse(usage.grace_until), row.grace_until);
  }
  const status = (await events(admin)).find((e) => e.action === 'organization.plan_change' && e.detail.status === 'past_due');
  assert.deepEqual(status.detail, { from: 'pro', to: 'pro', status: 'past_due' });

  // The grace period runs out.
  await worker.d1(`UPDATE organizations SET grace_until = ${Date.now() - 1000} WHERE id = '${org.orgId}'`);
  usage = await usagePlan(admin);
  if (usage) assert.deepEqual([usage.plan, usage.subscribed_plan, usage.billing_status], ['free', 'pro', 'past_due']);
  else assert.ok((await billingRow(org.orgId)).grace_until < Date.now());

  // The payment goes through after all: active, grace cleared.
  const paid = stripeEvent('invoice.paid', { id: 'in_e2e_1', object: 'invoice', customer: `cus_${org.orgId}`, subscription: `sub_${org.orgId}` });
  assert.deepEqual((await deliver(paid)).body, { received: true });
  row = await billingRow(org.orgId);
  assert.deepEqual([row.plan, row.billing_status, row.grace_until], ['pro', 'active', null]);
});

test('without Stripe configuration billing answers 404 billing_not_configured', async () => {
  const owner = call(unconfigured.baseUrl, unconfigured.adminKey);
  for (const [path, body] of [['/v1/admin/billing/checkout', { plan: 'pro' }], ['/v1/admin/billing/portal', {}]]) {
    const r = await owner('POST', path, body);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error.code, 'billing_not_configured');
    assert.match(r.body.error.message, /STRIPE_SECRET_KEY/);
  }
  const hook = await deliver(stripeEvent('customer.created', { id: 'cus_1' }), { target: unconfigured });
  assert.equal(hook.status, 404);
  assert.equal(hook.body.error.code, 'billing_not_configured');
  // Without its signature header the request is malformed, configured or not.
  const unsigned = await call(unconfigured.baseUrl, null)('POST', '/v1/billing/stripe/webhook', {});
  assert.equal(unsigned.status, 400, unsigned.text);
  assert.match(unsigned.body.error.message, /Stripe-Signature/);
});
