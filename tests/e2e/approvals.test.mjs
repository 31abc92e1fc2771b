// Approvals against the real worker in local workerd: a require_approval rule holds a call until a
// person decides; the approval is bound to the exact call, used once, and every way it can end
// (approved and used, denied, expired, cancelled) reaches the agent as its own reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client } from '../support/api.mjs';

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (key, body) => raw('POST', '/v1/validate', body, { key });
const poll = (key, id, wait) => raw('GET', `/v1/approvals/${id}${wait === undefined ? '' : `?wait=${wait}`}`, undefined, { key });
const decide = (id, decision, comment) => admin('POST', `/v1/admin/approvals/${id}/decision`, comment === undefined ? { decision } : { decision, comment });
const over = (n) => ({ pointer: '/amount', op: 'gt', value: n, on_missing: 'deny' });

/**
 * An agent with a `payments` tool whose `send` scope is allowed, except that amounts over 500 need
 * a person's approval. Returns { id, key, ask } (ask: the require_approval rule).
 */
async function payer(extraRule = {}) {
  const created = await admin('POST', '/v1/admin/agents', { name: `payer-${Math.random().toString(36).slice(2, 10)}` });
  assert.equal(created.status, 201, created.text);
  const id = created.body.agent.id;
  assert.equal((await admin('POST', `/v1/admin/agents/${id}/tools`, { name: 'payments', scopes: ['send'], risk_level: 'write' })).status, 201);
  assert.equal((await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'payments', scope: 'send', require_reasoning: 'none' })).status, 201);
  const ask = await admin('POST', `/v1/admin/agents/${id}/rules`, {
    tool: 'payments', scope: 'send', effect: 'require_approval', conditions: [over(500)], require_reasoning: 'none', ...extraRule,
  });
  assert.equal(ask.status, 201, ask.text);
  return { id, key: created.body.api_key, ask: ask.body };
}

const pay = (amount, extra = {}) => ({ tool: 'payments', scope: 'send', arguments: { amount, to: 'ana', ...extra } });

test('payments over 500 need approval; the approved call runs once, a second run and other arguments do not', async () => {
  const { id, key, ask } = await payer();
  assert.equal(ask.effect, 'require_approval');
  assert.equal(ask.approval_expiry_seconds, null, 'the default expiry is not stored');

  const small = await validate(key, pay(20));
  assert.equal(small.body.allowed, true, small.text);
  assert.equal(small.body.approval, undefined);

  const first = await validate(key, { ...pay(600), reasoning: 'paying the invoice INV-7 the user approved' });
  assert.equal(first.status, 200);
  assert.equal(first.body.allowed, false);
  assert.equal(first.body.reason, 'approval_required');
  const approval = first.body.approval;
  assert.match(approval.id, /^apr_/);
  assert.equal(approval.status, 'pending');
  assert.ok(approval.poll_after_ms > 0);
  const expiresIn = Date.parse(approval.expires_at) - Date.now();
  assert.ok(expiresIn > 14 * 60_000 && expiresIn <= 15 * 60_000, `expires in ${expiresIn} ms`);
  assert.equal(first.body.explanation.rule_id, ask.id);
  assert.match(first.body.message, /administrator must approve/);

  // Repeated while pending, with the keys in another order: the same approval, no duplicate.
  const again = await validate(key, { tool: 'payments', scope: 'send', arguments: { to: 'ana', amount: 600.0 } });
  assert.equal(again.body.reason, 'approval_required');
  assert.equal(again.body.approval.id, approval.id);

  // Admins see it with the call's details.
  const pending = await admin('GET', `/v1/admin/approvals?status=pending&agent_id=${id}`);
  assert.equal(pending.status, 200, pending.text);
  assert.equal(pending.body.approvals.length, 1);
  const seen = pending.body.approvals[0];
  assert.equal(seen.id, approval.id);
  assert.deepEqual([seen.tool, seen.scope, seen.agent_id, seen.status], ['payments', 'send', id, 'pending']);
  assert.deepEqual(seen.arguments, { amount: 600, to: 'ana' });
  assert.equal(seen.reasoning, 'paying the invoice INV-7 the user approved');
  assert.match(seen.agent_name, /^payer-/);
  assert.equal(seen.rule_id, ask.id);
  assert.equal(seen.requested_by, first.body.decision_id);
  assert.match(seen.arguments_digest, /^[0-9a-f]{64}$/);

  const approved = await decide(approval.id, 'approve', 'ok for INV-7');
  assert.equal(approved.status, 200, approved.text);
  assert.equal(approved.body.status, 'approved');
  assert.match(approved.body.decided_by, /^oakadm_/);
  // Deciding twice is a conflict that names the status.
  const twice = await decide(approval.id, 'deny');
  assert.equal(twice.status, 409);
  assert.match(twice.body.error.message, /approved/);

  // A different amount does not ride on this approval: it asks for its own.
  const bigger = await validate(key, pay(10_000));
  assert.equal(bigger.body.reason, 'approval_required');
  assert.notEqual(bigger.body.approval.id, approval.id);
  // Naming the approval with other arguments is a mismatch.
  const named = await validate(key, { ...pay(10_000), approval_id: approval.id });
  assert.equal(named.body.reason, 'approval_mismatch');
  assert.equal(named.body.allowed, false);

  // The identical call is allowed, once.
  const used = await validate(key, pay(600));
  assert.equal(used.body.allowed, true, used.text);
  assert.equal(used.body.reason, 'allowed');
  assert.equal(used.body.approval.id, approval.id);
  assert.equal(used.body.approval.status, 'consumed');
  assert.match(used.body.explanation.message, /ok for INV-7/);
  const second = await validate(key, pay(600));
  assert.equal(second.body.allowed, false);
  assert.equal(second.body.reason, 'approval_consumed');
  const namedAgain = await validate(key, { ...pay(600), approval_id: approval.id });
  assert.equal(namedAgain.body.reason, 'approval_consumed');

  const after = await admin('GET', `/v1/admin/approvals/${approval.id}`);
  assert.equal(after.body.status, 'consumed');
  assert.equal(after.body.consumed_by, used.body.decision_id);
  // The decision is in the admin events, with who made it.
  const events = await admin('GET', `/v1/admin/events?agent_id=${id}`);
  const event = events.body.events.find((e) => e.target_id === approval.id && e.action === 'approval.approve');
  assert.ok(event, events.text);
  assert.equal(event.actor, approved.body.decided_by);
  assert.equal(event.detail.comment, 'ok for INV-7');
  // The audit chain covers the approval decisions.
  const verified = await admin('GET', `/v1/admin/audit/verify?agent_id=${id}`);
  assert.equal(verified.body.ok, true, verified.text);
});

test('a denial with a comment reaches the agent as approval_denied, never as anything else', async () => {
  const { key } = await payer();
  const first = await validate(key, pay(900));
  const id = first.body.approval.id;
  const denied = await decide(id, 'deny', 'not this month');
  assert.equal(denied.status, 200, denied.text);
  assert.equal(denied.body.status, 'denied');

  const retry = await validate(key, pay(900));
  assert.equal(retry.body.allowed, false);
  assert.equal(retry.body.reason, 'approval_denied');
  assert.equal(retry.body.approval.id, id);
  assert.equal(retry.body.approval.comment, 'not this month');
  assert.match(retry.body.explanation.message, /not this month/);

  const ticket = await poll(key, id);
  assert.equal(ticket.status, 200, ticket.text);
  assert.equal(ticket.body.status, 'denied');
  assert.equal(ticket.body.comment, 'not this month');
  assert.equal(ticket.body.poll_after_ms, 0);

  const history = await admin('GET', '/v1/admin/approvals?status=denied');
  assert.ok(history.body.approvals.some((a) => a.id === id && a.comment === 'not this month'));
});

test('an approval nobody decided expires: approval_expired, then the call asks anew', async () => {
  const { key } = await payer({ approval_expiry_seconds: 60 });
  const first = await validate(key, pay(700));
  const id = first.body.approval.id;
  const window = Date.parse(first.body.approval.expires_at) - Date.now();
  assert.ok(window > 50_000 && window <= 60_000, `${window}`);
  // Time passes (the clock cannot be moved in workerd, so the row's expiry is moved instead).
  await worker.d1(`UPDATE approvals SET expires_at = ${Date.now() - 1} WHERE id = '${id}'`);

  const named = await validate(key, { ...pay(700), approval_id: id });
  assert.equal(named.body.reason, 'approval_expired');
  assert.match(named.body.message, /nobody denied it/);
  assert.equal((await poll(key, id)).body.status, 'expired');
  const listed = await admin('GET', '/v1/admin/approvals?status=expired');
  assert.ok(listed.body.approvals.some((a) => a.id === id));
  // Too late to decide.
  const late = await decide(id, 'approve');
  assert.equal(late.status, 409);
  assert.match(late.body.error.message, /expired/);

  const anew = await validate(key, pay(700));
  assert.equal(anew.body.reason, 'approval_required');
  assert.notEqual(anew.body.approval.id, id);
});

test('twenty concurrent identical retries after one approval: exactly one is allowed', async () => {
  const { key } = await payer();
  const id = (await validate(key, pay(5000))).body.approval.id;
  assert.equal((await decide(id, 'approve')).status, 200);
  const answers = await Promise.all(Array.from({ length: 20 }, () => validate(key, pay(5000))));
  const allowed = answers.filter((a) => a.body.allowed);
  assert.equal(allowed.length, 1, answers.map((a) => a.body.reason).join(','));
  for (const a of answers.filter((x) => !x.body.allowed)) assert.equal(a.body.reason, 'approval_consumed', a.text);
});

test('the long poll answers early when the approval is decided, and only to its agent', async () => {
  const { key } = await payer();
  const other = await payer();
  const id = (await validate(key, pay(800))).body.approval.id;

  const quick = await poll(key, id, 1);
  assert.equal(quick.body.status, 'pending');
  const started = Date.now();
  const waiting = poll(key, id, 25);
  setTimeout(() => { decide(id, 'approve').catch(() => {}); }, 1500);
  const answer = await waiting;
  const took = Date.now() - started;
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.body.status, 'approved');
  assert.ok(took >= 1400 && took < 10_000, `answered after ${took} ms`);

  assert.equal((await poll(other.key, id)).status, 404, "another agent's approval is not found");
  assert.equal((await poll(key, 'apr_nope')).status, 404);
  assert.equal((await poll(key, id, 26)).status, 400);
  assert.equal((await poll(key, id, 'soon')).status, 400);
  assert.equal((await raw('GET', `/v1/approvals/${id}`, undefined, { key: worker.adminKey })).status, 403);
  assert.equal((await raw('GET', `/v1/approvals/${id}`)).status, 401);
});

test('an agent cancels a pending approval; its call then answers approval_cancelled', async () => {
  const { key } = await payer();
  const id = (await validate(key, pay(1200))).body.approval.id;
  const cancelled = await raw('POST', `/v1/approvals/${id}/cancel`, undefined, { key });
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.body.status, 'cancelled');
  assert.equal((await validate(key, pay(1200))).body.reason, 'approval_cancelled');
  const again = await raw('POST', `/v1/approvals/${id}/cancel`, undefined, { key });
  assert.equal(again.status, 409);
  assert.equal((await decide(id, 'approve')).status, 409);
});

test('deny rules win over require_approval; a changed rule asks again; bad settings are refused', async () => {
  const { id, key, ask } = await payer();
  const first = await validate(key, pay(650));
  const apr = first.body.approval.id;
  assert.equal((await decide(apr, 'approve')).status, 200);
  // The rule changes (a new version): the approval was for the old one, so the call asks again.
  const changed = await admin('PATCH', `/v1/admin/agents/${id}/rules/${ask.id}`, { approval_expiry_seconds: 3600 });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.body.approval_expiry_seconds, 3600);
  const asked = await validate(key, pay(650));
  assert.equal(asked.body.reason, 'approval_required');
  assert.notEqual(asked.body.approval.id, apr);
  assert.equal((await validate(key, { ...pay(650), approval_id: apr })).body.reason, 'approval_mismatch');

  const deny = await admin('POST', `/v1/admin/agents/${id}/rules`, {
    tool: 'payments', scope: 'send', effect: 'deny', conditions: [{ pointer: '/to', op: 'eq', value: 'mallory', on_missing: 'skip' }],
  });
  assert.equal(deny.status, 201, deny.text);
  const blocked = await validate(key, pay(900, { to: 'mallory' }));
  assert.equal(blocked.body.reason, 'denied_by_rule');
  assert.equal(blocked.body.approval, undefined);

  for (const bad of [
    { tool: 'payments', scope: 'send', approval_expiry_seconds: 600 },
    { tool: 'payments', scope: 'send', effect: 'require_approval', approval_expiry_seconds: 59 },
    { tool: 'payments', scope: 'send', effect: 'require_approval', approval_expiry_seconds: 604801 },
  ]) {
    const r = await admin('POST', `/v1/admin/agents/${id}/rules`, bad);
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
  }
  assert.equal((await admin('GET', '/v1/admin/approvals?status=maybe')).status, 400);
  assert.equal((await decide(asked.body.approval.id, 'perhaps')).status, 400);
  assert.equal((await decide(asked.body.approval.id, 'deny', 'x'.repeat(1001))).status, 400);
  assert.equal((await decide('apr_doesnotexist00000000', 'deny')).status, 404);
  // Another organization's admin does not see it.
  const foreign = client(worker.baseUrl, worker.otherAdminKey);
  assert.equal((await foreign('GET', `/v1/admin/approvals/${apr}`)).status, 404);
  assert.equal((await foreign('POST', `/v1/admin/approvals/${apr}/decision`, { decision: 'approve' })).status, 404);
});

test('simulate says approval_required without creating an approval', async () => {
  const { id } = await payer();
  const before = (await admin('GET', `/v1/admin/approvals?agent_id=${id}`)).body.approvals.length;
  const sim = await admin('POST', '/v1/admin/simulate', { agent_id: id, request: pay(999) });
  assert.equal(sim.status, 200, sim.text);
  assert.equal(sim.body.reason, 'approval_required');
  assert.equal((await admin('GET', `/v1/admin/approvals?agent_id=${id}`)).body.approvals.length, before);
});

test('request_approval: false asks whether a call needs approval without asking anyone', async () => {
  const { id, key } = await payer();
  const probe = await validate(key, { ...pay(999), request_approval: false });
  assert.equal(probe.body.allowed, false);
  assert.equal(probe.body.reason, 'approval_required');
  assert.equal(probe.body.approval, undefined);
  assert.equal((await admin('GET', `/v1/admin/approvals?agent_id=${id}`)).body.approvals.length, 0);
  // An approval that governs the call is reported (and used) as usual.
  const asked = await validate(key, pay(999));
  const again = await validate(key, { ...pay(999), request_approval: false });
  assert.equal(again.body.approval.id, asked.body.approval.id);
});
