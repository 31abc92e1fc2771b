// The admin API against the real worker: CRUD, organization scoping, keys, logs and stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client, makeAgent, settled, flushed } from '../support/api.mjs';

let worker, admin, other, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  other = client(worker.baseUrl, worker.otherAdminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (key, body) => raw('POST', '/v1/validate', body, { key });

test('me names the caller organization', async () => {
  const me = await admin('GET', '/v1/admin/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.organization.id, worker.orgId);
  assert.equal(me.body.organization.name, 'Test Org A');
  assert.ok(worker.adminKey.startsWith(me.body.key_prefix));
});

test('agent create shows the key once; get and list never show it', async () => {
  const created = await admin('POST', '/v1/admin/agents', { name: 'support-bot', rate_limit: { capacity: 10, refill_per_second: 2 } });
  assert.equal(created.status, 201);
  const { agent, api_key } = created.body;
  assert.match(api_key, /^oak_[0-9A-Za-z]{38}$/);
  assert.ok(api_key.startsWith(agent.key_prefix));
  assert.deepEqual(agent.rate_limit, { capacity: 10, refill_per_second: 2 });
  assert.equal(agent.enabled, true);
  const got = await admin('GET', `/v1/admin/agents/${agent.id}`);
  assert.equal(got.status, 200);
  assert.ok(!got.text.includes(api_key.slice(10)));
  const list = await admin('GET', '/v1/admin/agents');
  assert.ok(list.body.agents.some((a) => a.id === agent.id));
  assert.ok(!list.text.includes(api_key.slice(10)));
  const dup = await admin('POST', '/v1/admin/agents', { name: 'support-bot' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.error.code, 'conflict');
});

test('agents page with a cursor, without gaps or repeats', async () => {
  const names = [];
  for (let i = 0; i < 5; i++) {
    const r = await admin('POST', '/v1/admin/agents', { name: `pager-${i}` });
    names.push(r.body.agent.name);
  }
  const seenNames = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await admin('GET', `/v1/admin/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    assert.ok(page.body.agents.length <= 2);
    seenNames.push(...page.body.agents.map((a) => a.name));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor && pages < 50);
  for (const n of names) assert.equal(seenNames.filter((s) => s === n).length, 1);
  const bad = await admin('GET', '/v1/admin/agents?limit=0');
  assert.equal(bad.status, 400);
  const badCursor = await admin('GET', '/v1/admin/agents?cursor=abc');
  assert.equal(badCursor.status, 400);
});

test('unknown fields and server-managed fields are rejected', async () => {
  for (const body of [{ name: 'x', id: 'agt_x' }, { name: 'x', key_hash: 'h' }, { name: 'x', created_at: '2020-01-01T00:00:00Z' }, { name: 'x', org_id: worker.otherOrgId }, { name: 'x', colour: 'red' }]) {
    const r = await admin('POST', '/v1/admin/agents', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, 'invalid_request');
  }
  const { agent, tool } = await makeAgent(admin);
  const r1 = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { key_prefix: 'oak_x' });
  assert.equal(r1.status, 400);
  const r2 = await admin('PATCH', `/v1/admin/agents/${agent.id}/tools/${tool.id}`, { agent_id: 'agt_other' });
  assert.equal(r2.status, 400);
  const r3 = await admin('POST', `/v1/admin/agents/${agent.id}/rules`, { tool: 'filesystem', scope: 'read', id: 'rule_x' });
  assert.equal(r3.status, 400);
});

test('inputs are bounded with clear errors', async () => {
  const cases = [
    [{ name: '' }, /name/],
    [{ name: 'x'.repeat(101) }, /name/],
    [{ name: 'ok', rate_limit: { capacity: 0, refill_per_second: 1 } }, /capacity/],
    [{ name: 'ok', rate_limit: { capacity: 1, refill_per_second: 0 } }, /refill_per_second/],
    [{ name: 7 }, /invalid type/],
  ];
  for (const [body, msg] of cases) {
    const r = await admin('POST', '/v1/admin/agents', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.body.error.message, msg);
  }
  const { agent } = await makeAgent(admin);
  const tools = [
    { name: 'bad name', scopes: ['read'], risk_level: 'read' },
    { name: 'ok', scopes: [], risk_level: 'read' },
    { name: 'ok', scopes: ['read', 'read'], risk_level: 'read' },
    { name: 'ok', scopes: ['read'], risk_level: 'nuclear' },
    { name: 'ok', scopes: Array.from({ length: 65 }, (_, i) => `s${i}`), risk_level: 'read' },
  ];
  for (const body of tools) {
    const r = await admin('POST', `/v1/admin/agents/${agent.id}/tools`, body);
    assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
  }
});

test('tools and rules: CRUD, defaults from risk level, and referential checks', async () => {
  const a = await admin('POST', '/v1/admin/agents', { name: 'crud-agent' });
  const id = a.body.agent.id;
  const t = await admin('POST', `/v1/admin/agents/${id}/tools`, { name: 'db', description: 'the orders database', scopes: ['select', 'drop'], risk_level: 'destructive' });
  assert.equal(t.status, 201);
  assert.equal(t.body.description, 'the orders database');
  assert.equal((await admin('POST', `/v1/admin/agents/${id}/tools`, { name: 'db', scopes: ['x'], risk_level: 'read' })).status, 409);
  const rule = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'db', scope: 'drop' });
  assert.equal(rule.status, 201);
  assert.equal(rule.body.require_reasoning, 'hard', 'destructive tools default to hard reasoning');
  assert.equal(rule.body.tool, 'db');
  assert.equal(rule.body.tool_id, t.body.id);
  // Several rules may exist for one tool and scope (policies combine them; see docs/policies.md).
  const second = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'db', scope: 'drop' });
  assert.equal(second.status, 201);
  assert.notEqual(second.body.id, rule.body.id);
  assert.equal((await admin('DELETE', `/v1/admin/agents/${id}/rules/${second.body.id}`)).status, 204);
  const noTool = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'nope', scope: 'drop' });
  assert.equal(noTool.status, 409);
  assert.match(noTool.body.error.message, /not registered/);
  const noScope = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'db', scope: 'truncate' });
  assert.equal(noScope.status, 409);
  const upd = await admin('PATCH', `/v1/admin/agents/${id}/rules/${rule.body.id}`, { require_reasoning: 'soft' });
  assert.equal(upd.body.require_reasoning, 'soft');
  assert.equal((await admin('GET', `/v1/admin/agents/${id}/rules/${rule.body.id}`)).body.require_reasoning, 'soft');
  const renamed = await admin('PATCH', `/v1/admin/agents/${id}/tools/${t.body.id}`, { name: 'orders-db', risk_level: 'write' });
  assert.equal(renamed.body.name, 'orders-db');
  assert.equal((await admin('GET', `/v1/admin/agents/${id}/rules/${rule.body.id}`)).body.tool, 'orders-db');
  assert.equal((await admin('GET', `/v1/admin/agents/${id}/tools/${t.body.id}`)).body.risk_level, 'write');
  assert.equal((await admin('DELETE', `/v1/admin/agents/${id}/tools/${t.body.id}`)).status, 204);
  assert.equal((await admin('GET', `/v1/admin/agents/${id}/rules/${rule.body.id}`)).status, 404, 'deleting a tool deletes its rules');
  assert.equal((await admin('GET', `/v1/admin/agents/${id}/tools`)).body.tools.length, 0);
});

test("another organization's ids answer 404, exactly like missing ones", async () => {
  const { agent, key, tool } = await makeAgent(admin, { rules: { read: 'none' } });
  const rules = (await admin('GET', `/v1/admin/agents/${agent.id}/rules`)).body.rules;
  const dec = await validate(key, { tool: 'filesystem', scope: 'read' });
  const paths = [
    ['GET', `/v1/admin/agents/${agent.id}`],
    ['PATCH', `/v1/admin/agents/${agent.id}`, { name: 'stolen' }],
    ['DELETE', `/v1/admin/agents/${agent.id}`],
    ['POST', `/v1/admin/agents/${agent.id}/rotate-key`],
    ['GET', `/v1/admin/agents/${agent.id}/tools`],
    ['POST', `/v1/admin/agents/${agent.id}/tools`, { name: 'x', scopes: ['y'], risk_level: 'read' }],
    ['GET', `/v1/admin/agents/${agent.id}/tools/${tool.id}`],
    ['DELETE', `/v1/admin/agents/${agent.id}/tools/${tool.id}`],
    ['GET', `/v1/admin/agents/${agent.id}/rules`],
    ['GET', `/v1/admin/agents/${agent.id}/rules/${rules[0].id}`],
    ['DELETE', `/v1/admin/agents/${agent.id}/rules/${rules[0].id}`],
    ['GET', `/v1/admin/logs/${dec.body.decision_id}`],
  ];
  for (const [method, path, body] of paths) {
    const r = await other(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.body.error.code, 'not_found');
  }
  const theirList = await other('GET', '/v1/admin/agents');
  assert.ok(!theirList.body.agents.some((a) => a.id === agent.id));
  const theirLogs = await other('GET', `/v1/admin/logs?agent_id=${agent.id}`);
  assert.equal(theirLogs.body.logs.length, 0);
  const theirStats = await other('GET', '/v1/admin/stats');
  assert.ok(!theirStats.body.agents.some((a) => a.agent_id === agent.id));
  // And nothing changed.
  assert.equal((await admin('GET', `/v1/admin/agents/${agent.id}`)).body.name, agent.name);
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).body.allowed, true);
});

test('an agent key on admin routes gets 403; missing or wrong admin keys get 401', async () => {
  const { key } = await makeAgent(admin);
  const asAgent = await raw('GET', '/v1/admin/agents', undefined, { key });
  assert.equal(asAgent.status, 403);
  assert.equal(asAgent.body.error.code, 'forbidden');
  for (const k of [null, 'oakadm_' + 'x'.repeat(38), 'Basic abc', worker.adminKey.slice(0, -1)]) {
    const r = await raw('GET', '/v1/admin/agents', undefined, { key: k });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
});

test('rotating a key: the new key works, the old one during the overlap only', async () => {
  const { agent, key: oldKey } = await makeAgent(admin, { rules: { read: 'none' } });
  const rotated = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 3600 });
  assert.equal(rotated.status, 200);
  const newKey = rotated.body.api_key;
  assert.notEqual(newKey, oldKey);
  assert.ok(rotated.body.previous_key_expires_at);
  assert.ok(newKey.startsWith(rotated.body.agent.key_prefix));
  assert.equal((await validate(newKey, { tool: 'filesystem', scope: 'read' })).status, 200);
  assert.equal((await validate(oldKey, { tool: 'filesystem', scope: 'read' })).status, 200, 'old key valid during overlap');
  const now = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 0 });
  assert.equal(now.body.previous_key_expires_at, null);
  for (const k of [oldKey, newKey]) {
    assert.equal((await validate(k, { tool: 'filesystem', scope: 'read' })).status, 401, 'revoked at once with overlap 0');
  }
  assert.equal((await validate(now.body.api_key, { tool: 'filesystem', scope: 'read' })).status, 200);
  const noBody = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`);
  assert.equal(noBody.status, 200, 'the body is optional');
  const tooLong = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 10_000_000 });
  assert.equal(tooLong.status, 400);
});

test('logs filter by agent, tool, scope, allowed, reason and time, newest first, with cursors', async () => {
  const { agent, key } = await makeAgent(admin, { tool: 'mail', scopes: ['send', 'read'], rules: { read: 'none', send: 'hard' } });
  const t0 = new Date(Date.now() - 1000).toISOString();
  const made = [];
  for (let i = 0; i < 6; i++) {
    const r = await validate(key, { tool: 'mail', scope: i % 2 ? 'send' : 'read', reasoning: i === 5 ? 'customer asked for a copy' : undefined });
    made.push(r.body);
  }
  const all = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}`);
  assert.deepEqual(all.body.logs.map((l) => l.decision_id), made.map((m) => m.decision_id).reverse(), 'newest first');
  const denied = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&allowed=false`);
  assert.equal(denied.body.logs.length, 2);
  assert.ok(denied.body.logs.every((l) => l.reason === 'reasoning_required' && l.scope === 'send'));
  const byReason = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&reason=reasoning_required`);
  assert.equal(byReason.body.logs.length, 2);
  const byScope = await admin('GET', `/v1/admin/logs?tool=mail&scope=read&agent_id=${agent.id}`);
  assert.equal(byScope.body.logs.length, 3);
  const future = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&since=2999-01-01T00:00:00Z`);
  assert.equal(future.body.logs.length, 0);
  const window = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&since=${t0}&until=2999-01-01T00:00:00Z`);
  assert.equal(window.body.logs.length, 6);
  const pageIds = [];
  let cursor = null;
  do {
    const page = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    pageIds.push(...page.body.logs.map((l) => l.decision_id));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.deepEqual(pageIds, all.body.logs.map((l) => l.decision_id));
  for (const q of ['allowed=maybe', 'reason=because', 'since=yesterday', 'limit=500', 'tool=bad%20name', 'colour=red']) {
    const r = await admin('GET', `/v1/admin/logs?${q}`);
    assert.equal(r.status, 400, q);
  }
});

test('stats count today and a chosen range, by reason, tool and agent', async () => {
  const before = await settled(admin);
  const { agent, key } = await makeAgent(admin, { name: 'stats-agent', tool: 'stats-tool', scopes: ['a', 'b'], rules: { a: 'none' } });
  await validate(key, { tool: 'stats-tool', scope: 'a' });
  await validate(key, { tool: 'stats-tool', scope: 'a' });
  await validate(key, { tool: 'stats-tool', scope: 'b' });
  await validate(key, { tool: 'unknown', scope: 'a' });
  await flushed(admin, agent.id);
  const s = (await admin('GET', '/v1/admin/stats')).body;
  assert.equal(s.total - before.total, 4);
  assert.equal(s.allowed - before.allowed, 2);
  assert.equal(s.denied - before.denied, 2);
  assert.equal((s.denials_by_reason.scope_not_granted ?? 0) - (before.denials_by_reason.scope_not_granted ?? 0), 1);
  assert.equal((s.denials_by_reason.unknown_tool ?? 0) - (before.denials_by_reason.unknown_tool ?? 0), 1);
  const mine = s.agents.find((a) => a.agent_id === agent.id);
  assert.deepEqual(mine, { agent_id: agent.id, name: 'stats-agent', total: 4, allowed: 2, denied: 2 });
  assert.deepEqual(s.top_tools.find((t) => t.tool === 'stats-tool'), { tool: 'stats-tool', total: 3, denied: 1 });
  assert.equal(s.bucket_seconds, 3600);
  const sum = s.timeline.reduce((n, p) => n + p.allowed + p.denied, 0);
  assert.equal(sum, s.total);
  const week = await admin('GET', `/v1/admin/stats?since=${new Date(Date.now() - 7 * 86400e3).toISOString()}`);
  assert.equal(week.status, 200);
  assert.equal(week.body.bucket_seconds, 86400);
  assert.ok(week.body.total >= s.total);
  const empty = await admin('GET', '/v1/admin/stats?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z');
  assert.equal(empty.body.total, 0);
  assert.equal(empty.body.timeline.length, 24);
  assert.equal((await admin('GET', '/v1/admin/stats?since=2020-01-02&until=2020-01-01')).status, 400);
  assert.equal((await admin('GET', '/v1/admin/stats?since=2000-01-01')).status, 400, 'ranges are bounded');
});
