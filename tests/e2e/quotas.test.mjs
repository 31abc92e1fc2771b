// Plans and quotas against the real worker in local workerd (issue 20, docs/plans.md): the
// published plans, 402 plan_limit on agents, webhooks and invitations, the monthly validation quota
// counted exactly across agents calling concurrently (leases from the organization's quota object),
// its 429 answer, the month rolling over (the quota's clock moved by a test-only header), usage that
// matches the audit log, and quota.threshold webhook events verified with the Standard Webhooks
// reference library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';
import { receiver, closeReceivers, verified, until } from '../support/hooks.mjs';

let worker, raw;
/** A rate limit these tests never reach: only the quota refuses. */
const UNHURRIED = { capacity: 10000, refill_per_second: 1000 };

before(async () => {
  worker = await startWorker();
  raw = client(worker.baseUrl, null);
});
after(async () => {
  closeReceivers();
  await worker?.stop();
});

async function organization(name, options) {
  const org = await worker.createOrganization(name, options);
  return { ...org, admin: client(worker.baseUrl, org.adminKey) };
}

const validate = (key, headers = {}) =>
  raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key, headers });

/** Calls validate `n` times with up to `concurrency` in flight, round-robin over `keys`. */
async function hammer(keys, n, concurrency = 8) {
  const answers = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        answers.push(await validate(keys[i % keys.length]));
      }
    }),
  );
  return answers;
}

/** Audit rows of the organization in D1 (after the log has caught up), by reason. */
async function auditCount(orgId, expected) {
  const count = async () =>
    (await worker.d1(`SELECT COUNT(*) AS n FROM audit_log WHERE org_id = '${orgId}' AND reason != 'quota_exceeded'`))[0]
      .results[0].n;
  await until(async () => (await count()) === expected, 15_000, `${expected} audit rows`);
  return count();
}

function nextMonth(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

test('GET /v1/plans publishes every plan with the limits the worker enforces, without a key', async () => {
  const r = await raw('GET', '/v1/plans');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.plans.map((p) => [p.id, p.limits.agents, p.limits.members, p.limits.validations_per_month, p.limits.webhook_endpoints]),
    [
      ['free', 1, 3, 1000, 1],
      ['pro', 10, 20, 100000, 10],
      ['enterprise', null, null, null, null],
    ],
  );
  assert.deepEqual(r.body.plans.map((p) => p.self_serve), [true, true, false]);
});

test('past a plan limit, creating an agent, a webhook or an invitation answers 402 naming the limit', async () => {
  const { admin } = await organization('Free limits', { plan: 'free' });
  await makeAgent(admin, { name: 'first' });
  const second = await admin('POST', '/v1/admin/agents', { name: 'second' });
  assert.equal(second.status, 402, second.text);
  assert.deepEqual(
    { code: second.body.error.code, quota: second.body.error.quota, limit: second.body.error.limit, plan: second.body.error.plan },
    { code: 'plan_limit', quota: 'agents', limit: 1, plan: 'free' },
  );
  assert.match(second.body.error.message, /Free plan allows 1 agent/);
  assert.equal((await admin('GET', '/v1/admin/agents')).body.agents.length, 1, 'nothing was created');

  const rx = await receiver();
  const hook = await admin('POST', '/v1/admin/webhooks', { url: rx.url, event_types: ['decision.denied'] });
  assert.equal(hook.status, 201, hook.text);
  const another = await admin('POST', '/v1/admin/webhooks', { url: rx.url, event_types: ['decision.denied'] });
  assert.equal(another.status, 402, another.text);
  assert.equal(another.body.error.quota, 'webhook_endpoints');

  for (const n of [1, 2, 3]) {
    const invited = await admin('POST', '/v1/admin/invitations', { email: `person${n}@example.com`, role: 'viewer' });
    assert.equal(invited.status, 201, invited.text);
  }
  const fourth = await admin('POST', '/v1/admin/invitations', { email: 'person4@example.com', role: 'viewer' });
  assert.equal(fourth.status, 402, fourth.text);
  assert.equal(fourth.body.error.quota, 'members');
  assert.match(fourth.body.error.message, /3 members \(with open invitations\)/);

  const usage = await admin('GET', '/v1/admin/usage');
  assert.equal(usage.status, 200, usage.text);
  assert.deepEqual(usage.body.quotas.agents, { used: 1, limit: 1 });
  assert.deepEqual(usage.body.quotas.webhook_endpoints, { used: 1, limit: 1 });
  assert.deepEqual(usage.body.quotas.members, { used: 3, limit: 3 });
});

test('a Free organization gets exactly 1,000 decisions a month; the 1,001st is quota_exceeded, 429, audited', async () => {
  const { admin, orgId } = await organization('Free month', { plan: 'free' });
  const { key } = await makeAgent(admin, { rateLimit: UNHURRIED, rules: { read: 'none' } });
  const answers = await hammer([key], 1000, 8);
  assert.deepEqual(
    [...new Set(answers.map((a) => `${a.status} ${a.body.reason}`))],
    ['200 allowed'],
    'the first 1,000 are decided as the rules say',
  );

  const over = await validate(key);
  assert.equal(over.status, 429, over.text);
  assert.equal(over.body.allowed, false);
  assert.equal(over.body.reason, 'quota_exceeded');
  const reset = nextMonth();
  assert.deepEqual(over.body.quota, { limit: 1000, used: 1000, resets_at: reset.toISOString() });
  const retryAfter = Number(over.headers.get('retry-after'));
  const expected = Math.ceil((reset.getTime() - Date.now()) / 1000);
  assert.ok(Math.abs(retryAfter - expected) <= 5, `Retry-After ${retryAfter}, the reset is in ${expected} s`);
  assert.match(over.body.decision_id, /^dec_/);

  // Audited like every decision, and not counted.
  const row = await admin('GET', `/v1/admin/logs/${over.body.decision_id}`);
  assert.equal(row.status, 200, row.text);
  assert.equal(row.body.reason, 'quota_exceeded');
  assert.equal(await auditCount(orgId, 1000), 1000);
  const usage = await admin('GET', '/v1/admin/usage');
  assert.deepEqual(usage.body.quotas.validations, { used: 1000, limit: 1000 });
  assert.equal(usage.body.plan, 'free');
  assert.equal(usage.body.by_agent.length, 1);
  assert.equal(usage.body.by_agent[0].validations, 1000);
  assert.equal(usage.body.by_day.reduce((n, d) => n + d.validations, 0), 1000);
  assert.equal(usage.body.period.end, reset.toISOString());
});

test('several agents calling concurrently share the month exactly, and usage matches the audit log', async () => {
  const { admin, orgId } = await organization('Shared month', { plan: 'enterprise', limits: { validations_per_month: 600 } });
  const keys = [];
  for (let i = 0; i < 4; i++) keys.push((await makeAgent(admin, { rateLimit: UNHURRIED, rules: { read: 'none' } })).key);
  const answers = await hammer(keys, 700, 12);
  const decided = answers.filter((a) => a.body.reason !== 'quota_exceeded');
  const refused = answers.filter((a) => a.body.reason === 'quota_exceeded');
  assert.equal(decided.length, 600, 'exactly the limit, never more');
  assert.equal(refused.length, 100);
  assert.ok(decided.every((a) => a.status === 200 && a.body.allowed));
  assert.ok(refused.every((a) => a.status === 429 && a.body.quota.limit === 600));
  // Every agent is refused now, also one that held a lease while the others ran out.
  for (const key of keys) assert.equal((await validate(key)).body.reason, 'quota_exceeded');
  assert.equal(await auditCount(orgId, 600), 600);
  const usage = await admin('GET', '/v1/admin/usage');
  assert.equal(usage.body.quotas.validations.used, 600);
  assert.equal(usage.body.by_agent.reduce((n, a) => n + a.validations, 0), 600);
});

test('the quota resets when the month rolls over at the UTC boundary', async () => {
  const { admin } = await organization('Rollover', { plan: 'enterprise', limits: { validations_per_month: 3 } });
  const { key } = await makeAgent(admin, { rateLimit: UNHURRIED, rules: { read: 'none' } });
  const reset = nextMonth();
  const lastSecond = { 'X-OakAuth-Test-Clock': new Date(reset.getTime() - 10_000).toISOString() };
  for (let i = 0; i < 3; i++) assert.equal((await validate(key, lastSecond)).body.reason, 'allowed');
  const over = await validate(key, lastSecond);
  assert.equal(over.body.reason, 'quota_exceeded');
  assert.equal(over.headers.get('retry-after'), '10', 'until the reset on the moved clock');
  const newMonth = { 'X-OakAuth-Test-Clock': reset.toISOString() };
  for (let i = 0; i < 3; i++) assert.equal((await validate(key, newMonth)).body.reason, 'allowed', 'a new month');
  const overAgain = await validate(key, newMonth);
  assert.equal(overAgain.body.reason, 'quota_exceeded');
  assert.equal(overAgain.body.quota.resets_at, nextMonth(reset).toISOString());
});

test('quota.threshold events are sent at 80% and at 100%, once each', async () => {
  const { admin } = await organization('Thresholds', { plan: 'enterprise', limits: { validations_per_month: 10 } });
  const rx = await receiver();
  const hook = await admin('POST', '/v1/admin/webhooks', { url: rx.url, event_types: ['quota.threshold'] });
  assert.equal(hook.status, 201, hook.text);
  const { key } = await makeAgent(admin, { rateLimit: UNHURRIED, rules: { read: 'none' } });
  for (let i = 0; i < 12; i++) await validate(key);
  await until(() => rx.got.length >= 2, 20_000, 'two quota.threshold events');
  const events = rx.got.map((req) => verified(hook.body.secret, req));
  assert.deepEqual(
    events.map((e) => [e.type, e.data.quota, e.data.threshold, e.data.limit]),
    [
      ['quota.threshold', 'validations', 80, 10],
      ['quota.threshold', 'validations', 100, 10],
    ],
  );
  assert.equal(events[1].data.resets_at, nextMonth().toISOString());
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(rx.got.length, 2, 'each threshold once a month');
});

test('organizations without limits are never refused, and usage says unlimited', async () => {
  const admin = client(worker.baseUrl, worker.adminKey);
  const usage = await admin('GET', '/v1/admin/usage');
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.body.plan, 'enterprise');
  assert.deepEqual(
    Object.values(usage.body.quotas).map((q) => q.limit),
    [null, null, null, null],
  );
  assert.equal(usage.body.billing_enabled, false);
  const { key } = await makeAgent(admin, { rateLimit: UNHURRIED, rules: { read: 'none' } });
  assert.equal((await validate(key)).body.reason, 'allowed');
});
