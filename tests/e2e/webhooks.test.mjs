// Webhooks against the real worker in local workerd, received by local HTTP servers that verify
// every delivery with the Standard Webhooks reference library (npm `standardwebhooks`), not with
// our own code: endpoints, events, retries until a receiver recovers, 410 Gone, redelivery, secret
// rotation with both signatures, and the URL rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client } from '../support/api.mjs';
import { receiver, closeReceivers, verified, until } from '../support/hooks.mjs';

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => {
  if (process.env.OAK_DEBUG) console.log(worker.logs.join('').split('\n').filter((l) => /ERROR|error/.test(l)).join('\n'));
  closeReceivers();
  await worker?.stop();
});

async function endpoint(url, eventTypes, extra = {}) {
  const r = await admin('POST', '/v1/admin/webhooks', { url, event_types: eventTypes, ...extra });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^whsec_/);
  return r.body;
}

async function approvalAgent() {
  const created = await admin('POST', '/v1/admin/agents', { name: `hooked-${Math.random().toString(36).slice(2, 10)}` });
  const id = created.body.agent.id;
  await admin('POST', `/v1/admin/agents/${id}/tools`, { name: 'payments', scopes: ['send'], risk_level: 'write' });
  await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'payments', scope: 'send', effect: 'require_approval', require_reasoning: 'none' });
  return { id, key: created.body.api_key };
}

const ask = (key, args) => raw('POST', '/v1/validate', { tool: 'payments', scope: 'send', arguments: args }, { key });

test('approval events are delivered signed per Standard Webhooks, with redacted arguments and no keys', async () => {
  const rx = await receiver();
  const hook = await endpoint(rx.url, ['approval.requested', 'approval.decided'], { description: 'to chat' });
  assert.deepEqual(hook.event_types, ['approval.requested', 'approval.decided']);
  assert.equal(hook.enabled, true);
  // The secret is shown once: never in reads.
  const read = await admin('GET', `/v1/admin/webhooks/${hook.id}`);
  assert.equal(read.body.secret, undefined);
  assert.ok(!read.text.includes(hook.secret.slice(6)));
  assert.ok(!(await admin('GET', '/v1/admin/webhooks')).text.includes(hook.secret.slice(6)));
  // Stored sealed, never as it is.
  const stored = (await worker.d1(`SELECT secret FROM webhook_endpoints WHERE id = '${hook.id}'`))[0].results[0].secret;
  assert.match(stored, /^sealed:v1:/);
  assert.ok(!stored.includes(hook.secret.slice(6)));

  const { key } = await approvalAgent();
  const pending = await ask(key, { amount: 900, api_key: 'sk_live_abcdefghijklmnopqrstuvwx' });
  const id = pending.body.approval.id;
  await until(() => rx.got.length >= 1, 20_000, 'approval.requested');
  const requested = verified(hook.secret, rx.got[0]);
  assert.equal(requested.type, 'approval.requested');
  assert.equal(requested.data.id, id);
  assert.equal(requested.data.status, 'pending');
  assert.equal(requested.data.arguments.api_key, '[REDACTED]');
  assert.ok(!rx.got[0].body.includes('sk_live_'), 'no unredacted secret in the payload');
  assert.ok(!rx.got[0].body.includes(key), 'no agent key in the payload');
  assert.match(rx.got[0].headers['webhook-id'], /^msg_/);
  assert.match(rx.got[0].headers['webhook-signature'], /^v1,/);
  assert.ok(Math.abs(Number(rx.got[0].headers['webhook-timestamp']) - Date.now() / 1000) < 60);
  assert.ok(!Number.isNaN(Date.parse(requested.timestamp)));

  assert.equal((await admin('POST', `/v1/admin/approvals/${id}/decision`, { decision: 'deny', comment: 'no' })).status, 200);
  await until(() => rx.got.length >= 2, 20_000, 'approval.decided');
  const decided = verified(hook.secret, rx.got[1]);
  assert.equal(decided.type, 'approval.decided');
  assert.equal(decided.data.status, 'denied');
  assert.equal(decided.data.comment, 'no');
  // A secret it does not know fails verification (the check can fail).
  assert.throws(() => verified('whsec_' + Buffer.alloc(32, 7).toString('base64'), rx.got[1]));

  const log = await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries`);
  assert.equal(log.status, 200, log.text);
  assert.equal(log.body.deliveries.length, 2);
  for (const d of log.body.deliveries) {
    assert.equal(d.status, 'delivered');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status_code, 204);
    assert.ok(d.delivered_at);
  }
  assert.equal(log.body.deliveries[0].event_type, 'approval.decided', 'newest first');
});

test('a receiver that fails gets the event again once it recovers; redeliver sends it again', async () => {
  const rx = await receiver((n) => (n === 1 ? 503 : 200));
  const hook = await endpoint(rx.url, ['agent.changed']);
  const created = await admin('POST', '/v1/admin/agents', { name: `changed-${Date.now()}` });
  assert.equal(created.status, 201);
  await until(() => rx.got.length >= 1, 20_000, 'first attempt');
  const failed = await until(async () => {
    const l = await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries`);
    return l.body.deliveries.find((d) => d.attempts === 1 && d.status === 'pending') && l.body.deliveries[0];
  }, 10_000, 'the failure recorded');
  assert.equal(failed.last_status_code, 503);
  assert.match(failed.last_error, /503/);
  assert.ok(failed.next_attempt_at);
  // The retry comes about 5 s later (±10 %), from the dispatcher's alarm.
  await until(() => rx.got.length >= 2, 20_000, 'the retry');
  const gap = rx.got[1].at - rx.got[0].at;
  assert.ok(gap >= 4000 && gap < 15_000, `retried after ${gap} ms`);
  assert.equal(rx.got[1].headers['webhook-id'], rx.got[0].headers['webhook-id'], 'same message id on a retry');
  const payload = verified(hook.secret, rx.got[1]);
  assert.equal(payload.type, 'agent.changed');
  assert.equal(payload.data.action, 'agent.create');
  assert.equal(payload.data.agent.id, created.body.agent.id);
  assert.ok(!rx.got[1].body.includes(created.body.api_key), 'the new agent key is not sent');
  const done = await until(async () => {
    const l = await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries?status=delivered`);
    return l.body.deliveries[0];
  }, 10_000, 'delivered');
  assert.equal(done.attempts, 2);
  assert.equal(done.last_status_code, 200);

  const again = await admin('POST', `/v1/admin/webhooks/${hook.id}/deliveries/${done.id}/redeliver`);
  assert.equal(again.status, 200, again.text);
  await until(() => rx.got.length >= 3, 20_000, 'the redelivery');
  assert.equal(rx.got[2].headers['webhook-id'], done.id);
  verified(hook.secret, rx.got[2]);
  assert.equal((await admin('POST', `/v1/admin/webhooks/${hook.id}/deliveries/msg_nope/redeliver`)).status, 404);
});

test('410 Gone disables the endpoint; enabling it again clears the reason', async () => {
  const rx = await receiver(() => 410);
  const hook = await endpoint(rx.url, ['key.rotated']);
  const created = await admin('POST', '/v1/admin/agents', { name: `rotated-${Date.now()}` });
  const rotated = await admin('POST', `/v1/admin/agents/${created.body.agent.id}/rotate-key`, { overlap_seconds: 0 });
  assert.equal(rotated.status, 200);
  await until(() => rx.got.length >= 1, 20_000, 'key.rotated');
  const payload = verified(hook.secret, rx.got[0]);
  assert.equal(payload.type, 'key.rotated');
  assert.ok(!rx.got[0].body.includes(rotated.body.api_key), 'the key is never sent');
  const disabled = await until(async () => {
    const h = await admin('GET', `/v1/admin/webhooks/${hook.id}`);
    return h.body.enabled === false && h.body;
  }, 10_000, 'disabled');
  assert.match(disabled.disabled_reason, /410/);
  const log = await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries`);
  assert.equal(log.body.deliveries[0].status, 'failed');
  // Nothing more is sent to it, and it cannot be redelivered to while disabled.
  await admin('POST', `/v1/admin/agents/${created.body.agent.id}/rotate-key`, { overlap_seconds: 0 });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rx.got.length, 1);
  const blocked = await admin('POST', `/v1/admin/webhooks/${hook.id}/deliveries/${log.body.deliveries[0].id}/redeliver`);
  assert.equal(blocked.status, 409);
  const enabled = await admin('PATCH', `/v1/admin/webhooks/${hook.id}`, { enabled: true });
  assert.equal(enabled.body.enabled, true);
  assert.equal(enabled.body.disabled_reason, null);
});

test('a rotated secret: both signatures are sent during the overlap, each verifies alone', async () => {
  const rx = await receiver();
  const hook = await endpoint(rx.url, ['agent.changed']);
  const rotated = await admin('POST', `/v1/admin/webhooks/${hook.id}/rotate-secret`, { overlap_seconds: 3600 });
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.body.secret, hook.secret);
  assert.ok(rotated.body.secret_rotating_until);
  await admin('POST', '/v1/admin/agents', { name: `rot-${Date.now()}` });
  await until(() => rx.got.length >= 1, 20_000, 'delivery');
  const signatures = rx.got[0].headers['webhook-signature'].split(' ');
  assert.equal(signatures.length, 2);
  verified(rotated.body.secret, rx.got[0]);
  verified(hook.secret, rx.got[0]);
  // Without an overlap only the new secret signs.
  const now = await admin('POST', `/v1/admin/webhooks/${hook.id}/rotate-secret`, { overlap_seconds: 0 });
  assert.equal(now.body.secret_rotating_until, null);
  await admin('POST', '/v1/admin/agents', { name: `rot2-${Date.now()}` });
  await until(() => rx.got.length >= 2, 20_000, 'second delivery');
  assert.equal(rx.got[1].headers['webhook-signature'].split(' ').length, 1);
  verified(now.body.secret, rx.got[1]);
  assert.throws(() => verified(rotated.body.secret, rx.got[1]));
});

test('decision.denied is opt-in; an expired approval sends approval.expired', async () => {
  const rx = await receiver();
  const hook = await endpoint(rx.url, ['decision.denied', 'approval.expired']);
  const { key } = await approvalAgent();
  const first = await ask(key, { amount: 1 });
  await until(() => rx.got.some((g) => JSON.parse(g.body).type === 'decision.denied'), 20_000, 'decision.denied');
  const denied = verified(hook.secret, rx.got.find((g) => JSON.parse(g.body).type === 'decision.denied'));
  assert.equal(denied.data.reason, 'approval_required');
  assert.equal(denied.data.decision_id, first.body.decision_id);
  assert.equal(denied.data.approval_id, first.body.approval.id);
  // Its expiry passes (moved in the row: the clock cannot be); the next event wakes the dispatcher.
  await worker.d1(`UPDATE approvals SET expires_at = ${Date.now() - 1} WHERE id = '${first.body.approval.id}'`);
  await ask(key, { amount: 2 });
  const expired = await until(() => rx.got.find((g) => JSON.parse(g.body).type === 'approval.expired'), 20_000, 'approval.expired');
  const payload = verified(hook.secret, expired);
  assert.equal(payload.data.id, first.body.approval.id);
  assert.equal(payload.data.status, 'expired');
});

test('endpoint URLs must be https and public; bad input is refused clearly', async () => {
  // (Loopback is refused too, except with WEBHOOK_ALLOW_HTTP_LOOPBACK, which the test worker sets
  // for its receivers; core/src/webhook/tests.rs covers loopback without it.)
  for (const url of [
    'http://hooks.example.com/x',
    'https://10.0.0.1/x',
    'https://169.254.169.254/latest/meta-data',
    'https://intranet/x',
    'https://user:pw@hooks.example.com/x',
    'https://2130706433/x',
    'ftp://hooks.example.com/x',
  ]) {
    const r = await admin('POST', '/v1/admin/webhooks', { url, event_types: ['agent.changed'] });
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_request');
  }
  assert.equal((await admin('POST', '/v1/admin/webhooks', { url: 'https://hooks.example.com/x', event_types: [] })).status, 400);
  assert.equal((await admin('POST', '/v1/admin/webhooks', { url: 'https://hooks.example.com/x', event_types: ['nope'] })).status, 400);
  assert.equal(
    (await admin('POST', '/v1/admin/webhooks', { url: 'https://hooks.example.com/x', event_types: ['agent.changed', 'agent.changed'] })).status,
    400,
  );
  const ok = await endpoint('https://hooks.example.com/oak', ['agent.changed']);
  assert.equal((await admin('PATCH', `/v1/admin/webhooks/${ok.id}`, { url: 'https://192.168.1.1/x' })).status, 400);
  assert.equal((await admin('POST', `/v1/admin/webhooks/${ok.id}/rotate-secret`, { overlap_seconds: 604801 })).status, 400);
  assert.equal((await admin('GET', `/v1/admin/webhooks/${ok.id}/deliveries?status=maybe`)).status, 400);
  // Another organization cannot see or change it.
  const foreign = client(worker.baseUrl, worker.otherAdminKey);
  assert.equal((await foreign('GET', `/v1/admin/webhooks/${ok.id}`)).status, 404);
  assert.equal((await foreign('DELETE', `/v1/admin/webhooks/${ok.id}`)).status, 404);
  assert.equal((await admin('DELETE', `/v1/admin/webhooks/${ok.id}`)).status, 204);
  assert.equal((await admin('GET', `/v1/admin/webhooks/${ok.id}`)).status, 404);
  // Events of the changes are recorded.
  const events = await admin('GET', '/v1/admin/events');
  assert.ok(events.body.events.some((e) => e.action === 'webhook.delete' && e.target_id === ok.id));
  assert.ok(!events.text.includes(ok.secret.slice(6)), 'no secret in the admin events');
});
