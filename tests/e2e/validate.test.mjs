// POST /v1/validate against the real worker in local workerd with local D1 and Durable Objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, d1 } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (key, body) => raw('POST', '/v1/validate', body, { key });

test('a rule with no reasoning policy allows, and the answer is a complete decision', async () => {
  const { key } = await makeAgent(admin, { rules: { read: 'none' } });
  const r = await validate(key, { tool: 'filesystem', scope: 'read' });
  assert.equal(r.status, 200);
  assert.equal(r.body.allowed, true);
  assert.equal(r.body.reason, 'allowed');
  assert.match(r.body.decision_id, /^dec_/);
  assert.equal(r.body.reasoning_required, 'none');
  assert.equal(r.body.reasoning_provided, false);
  assert.deepEqual(Object.keys(r.body.rate_limit).sort(), ['limit', 'remaining', 'reset']);
});

test('every deny reason is reachable and denies', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { write: 'hard' } });
  const unknownTool = await validate(key, { tool: 'payments', scope: 'charge' });
  assert.equal(unknownTool.body.reason, 'unknown_tool');
  assert.equal(unknownTool.body.allowed, false);
  const noRule = await validate(key, { tool: 'filesystem', scope: 'read' });
  assert.equal(noRule.body.reason, 'scope_not_granted');
  assert.equal(noRule.body.allowed, false);
  const notAScope = await validate(key, { tool: 'filesystem', scope: 'format-disk' });
  assert.equal(notAScope.body.reason, 'scope_not_granted');
  const hard = await validate(key, { tool: 'filesystem', scope: 'write' });
  assert.equal(hard.body.reason, 'reasoning_required');
  assert.equal(hard.body.allowed, false);
  assert.match(hard.body.message, /reasoning required for filesystem:write/);

  const disable = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: false });
  assert.equal(disable.status, 200);
  assert.equal(disable.body.enabled, false);
  const disabled = await validate(key, { tool: 'filesystem', scope: 'write', reasoning: 'a good reason' });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body.reason, 'agent_disabled');
  assert.equal(disabled.body.allowed, false);
  assert.equal(disabled.body.rate_limit, null);

  await admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: true });
  const again = await validate(key, { tool: 'filesystem', scope: 'write', reasoning: 'a good reason' });
  assert.equal(again.body.reason, 'allowed', 're-enabling takes effect on the next request');
});

test('hard reasoning rejects empty, whitespace-only and invisible-only text and accepts real text', async () => {
  const { key } = await makeAgent(admin, { rules: { delete: 'hard' } });
  for (const reasoning of ['', '   \t\n', '\u200b\u200c\u2060\ufeff', '...', null]) {
    const r = await validate(key, { tool: 'filesystem', scope: 'delete', reasoning });
    assert.equal(r.body.reason, 'reasoning_required', JSON.stringify(reasoning));
    assert.equal(r.body.reasoning_provided, false);
  }
  const ok = await validate(key, { tool: 'filesystem', scope: 'delete', reasoning: 'User asked to remove /tmp/cache' });
  assert.equal(ok.body.allowed, true);
  assert.equal(ok.body.reason, 'allowed');
  assert.equal(ok.body.reasoning_provided, true);
  assert.equal(ok.body.reasoning_required, 'hard');
});

test('soft reasoning allows but flags missing reasoning in the answer and the log', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { write: 'soft' } });
  const missing = await validate(key, { tool: 'filesystem', scope: 'write', reasoning: '  ' });
  assert.equal(missing.body.allowed, true);
  assert.equal(missing.body.reason, 'reasoning_missing_soft');
  const given = await validate(key, { tool: 'filesystem', scope: 'write', reasoning: 'saving the draft' });
  assert.equal(given.body.reason, 'allowed');
  const logs = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}`);
  assert.equal(logs.status, 200);
  const byId = Object.fromEntries(logs.body.logs.map((l) => [l.decision_id, l]));
  assert.equal(byId[missing.body.decision_id].reason, 'reasoning_missing_soft');
  assert.equal(byId[missing.body.decision_id].reasoning_provided, false);
  assert.equal(byId[given.body.decision_id].reasoning, 'saving the draft');
  assert.equal(byId[given.body.decision_id].reasoning_required, 'soft');
});

test('secrets in context and reasoning are redacted before they are stored', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  const secretKey = key; // an OakAuth key is a secret too
  const r = await validate(key, {
    tool: 'filesystem',
    scope: 'read',
    reasoning: `reading with token ${'ghp_' + 'a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV'}`,
    context: {
      path: '/etc/app.conf',
      password: 'hunter2',
      nested: { api_key: 'sk-live-123', note: `Authorization: Bearer ${secretKey}` },
    },
  });
  assert.equal(r.status, 200);
  const entry = await admin('GET', `/v1/admin/logs/${r.body.decision_id}`);
  assert.equal(entry.status, 200);
  assert.equal(entry.body.context.path, '/etc/app.conf');
  assert.equal(entry.body.context.password, '[REDACTED]');
  assert.equal(entry.body.context.nested.api_key, '[REDACTED]');
  assert.equal(entry.body.context.nested.note, 'Authorization: Bearer [REDACTED]');
  assert.ok(!entry.text.includes('hunter2'));
  assert.ok(!entry.text.includes(secretKey));
  assert.ok(!entry.text.includes('ghp_a1B2'));
  assert.equal(entry.body.agent_id, agent.id);
});

test('N validations produce exactly N audit rows, one per decision id', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none', write: 'hard' }, rateLimit: { capacity: 1000, refill_per_second: 1 } });
  const n = 25;
  const bodies = Array.from({ length: n }, (_, i) => ({ tool: 'filesystem', scope: i % 3 === 0 ? 'write' : 'read' }));
  const answers = await Promise.all(bodies.map((b) => validate(key, b)));
  const ids = answers.map((a) => a.body.decision_id);
  assert.equal(new Set(ids).size, n);
  const rows = await d1(worker.persistDir, `SELECT decision_id FROM audit_log WHERE agent_id = '${agent.id}'`);
  const stored = rows[0].results.map((r) => r.decision_id).sort();
  assert.deepEqual(stored, [...ids].sort());
});

test('a bucket of capacity C hit by C+20 concurrent requests allows exactly C, the rest get 429', async () => {
  const C = 30;
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' }, rateLimit: { capacity: C, refill_per_second: 0.001 } });
  const answers = await Promise.all(Array.from({ length: C + 20 }, () => validate(key, { tool: 'filesystem', scope: 'read' })));
  const ok = answers.filter((a) => a.status === 200);
  const limited = answers.filter((a) => a.status === 429);
  assert.equal(ok.length, C);
  assert.equal(limited.length, 20);
  for (const l of limited) {
    assert.equal(l.body.reason, 'rate_limited');
    assert.equal(l.body.allowed, false);
    assert.ok(Number(l.headers.get('retry-after')) >= 1);
  }
  const rows = await d1(worker.persistDir, `SELECT reason, COUNT(*) AS n FROM audit_log WHERE agent_id = '${agent.id}' GROUP BY reason`);
  const counts = Object.fromEntries(rows[0].results.map((r) => [r.reason, r.n]));
  assert.deepEqual(counts, { allowed: C, rate_limited: 20 });
});

test('the token bucket survives a restart of the local server', async () => {
  const { key } = await makeAgent(admin, { rules: { read: 'none' }, rateLimit: { capacity: 3, refill_per_second: 0.001 } });
  for (let i = 0; i < 3; i++) assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).status, 200);
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).status, 429);
  await worker.restart();
  const after = await validate(key, { tool: 'filesystem', scope: 'read' });
  assert.equal(after.status, 429, 'a restart must not refill the bucket');
  assert.equal(after.body.rate_limit.remaining, 0);
});

test('lowering an agent rate limit applies on the next request', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' }, rateLimit: { capacity: 100, refill_per_second: 1 } });
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).body.rate_limit.limit, 100);
  await admin('PATCH', `/v1/admin/agents/${agent.id}`, { rate_limit: { capacity: 2, refill_per_second: 0.001 } });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await validate(key, { tool: 'filesystem', scope: 'read' })).status);
  assert.deepEqual(statuses, [200, 200, 429, 429]);
});

test('bad keys are rejected with 401 before any decision, admin keys get 403', async () => {
  const { key } = await makeAgent(admin, { rules: { read: 'none' } });
  const body = { tool: 'filesystem', scope: 'read' };
  const typo = key.slice(0, 10) + (key[10] === 'a' ? 'b' : 'a') + key.slice(11);
  for (const bad of [null, 'nonsense', typo, 'oak_' + 'A'.repeat(38)]) {
    const r = await validate(bad, body);
    assert.equal(r.status, 401, String(bad));
    assert.equal(r.body.error.code, 'unauthorized');
  }
  const asAdmin = await validate(worker.adminKey, body);
  assert.equal(asAdmin.status, 403);
  assert.equal(asAdmin.body.error.code, 'forbidden');
});

test('a deleted agent key stops working on the next request', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).status, 200);
  assert.equal((await admin('DELETE', `/v1/admin/agents/${agent.id}`)).status, 204);
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).status, 401);
});

test('removing a rule or a scope denies from the next request on', async () => {
  const { agent, key, tool } = await makeAgent(admin, { rules: { read: 'none', write: 'none' } });
  const rules = await admin('GET', `/v1/admin/agents/${agent.id}/rules`);
  const readRule = rules.body.rules.find((r) => r.scope === 'read');
  assert.equal((await admin('DELETE', `/v1/admin/agents/${agent.id}/rules/${readRule.id}`)).status, 204);
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).body.reason, 'scope_not_granted');
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'write' })).body.reason, 'allowed');
  const patched = await admin('PATCH', `/v1/admin/agents/${agent.id}/tools/${tool.id}`, { scopes: ['read'] });
  assert.deepEqual(patched.body.scopes, ['read']);
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'write' })).body.reason, 'scope_not_granted');
  const left = await admin('GET', `/v1/admin/agents/${agent.id}/rules`);
  assert.equal(left.body.rules.length, 0, 'rules of removed scopes are deleted');
});
