// Policies against the real worker in local workerd: rules with conditions on the call's
// arguments, deny rules, input schemas, shadow mode, and simulate/replay agreeing with validate.
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

const validate = (key, body, headers) => raw('POST', '/v1/validate', body, { key, headers });

/** An agent with one tool (`name`, `scopes`, optional `input_schema`); returns { id, key }. */
async function agentWithTool(name, scopes, extra = {}) {
  const created = await admin('POST', '/v1/admin/agents', { name: `policy-${Math.random().toString(36).slice(2, 10)}` });
  assert.equal(created.status, 201, created.text);
  const id = created.body.agent.id;
  const t = await admin('POST', `/v1/admin/agents/${id}/tools`, { name, scopes, risk_level: 'read', ...extra });
  assert.equal(t.status, 201, t.text);
  return { id, key: created.body.api_key };
}

async function rule(agentId, body) {
  const r = await admin('POST', `/v1/admin/agents/${agentId}/rules`, body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

const when = (pointer, op, value, extra = {}) => ({ pointer, op, value, on_missing: 'deny', ...extra });

test('a spend limit: payments under 500 are allowed, larger ones are denied with an explanation', async () => {
  const { id, key } = await agentWithTool('payments', ['charge']);
  const r = await rule(id, { tool: 'payments', scope: 'charge', conditions: [when('/amount', 'lt', 500)] });
  assert.equal(r.effect, 'allow');
  assert.equal(r.mode, 'enforce');
  assert.deepEqual(r.conditions, [{ source: 'arguments', pointer: '/amount', op: 'lt', value: 500, on_missing: 'deny' }]);

  const small = await validate(key, { tool: 'payments', scope: 'charge', arguments: { amount: 499.99, currency: 'EUR' } });
  assert.equal(small.body.allowed, true, small.text);
  assert.equal(small.body.explanation, undefined);

  const big = await validate(key, { tool: 'payments', scope: 'charge', arguments: { amount: 10000, currency: 'EUR' } });
  assert.equal(big.body.allowed, false);
  assert.equal(big.body.reason, 'conditions_not_met');
  assert.equal(big.body.explanation.rule_id, r.id);
  assert.equal(big.body.explanation.condition.pointer, '/amount');
  assert.equal(big.body.explanation.condition.op, 'lt');
  assert.equal(big.body.explanation.condition.expected, 500);
  assert.equal(big.body.explanation.condition.observed, 10000);
  assert.match(big.body.message, /amount/);

  // A string where a number belongs is an evaluation error: the rule denies, and says why.
  const typed = await validate(key, { tool: 'payments', scope: 'charge', arguments: { amount: '1' } });
  assert.equal(typed.body.reason, 'denied_by_rule');
  assert.match(typed.body.explanation.condition.error, /expected a number/);
  const missing = await validate(key, { tool: 'payments', scope: 'charge', arguments: {} });
  assert.equal(missing.body.reason, 'denied_by_rule');
  assert.match(missing.body.explanation.condition.error, /missing/);

  // The audit log keeps the arguments and the explanation of each decision.
  const logged = await admin('GET', `/v1/admin/logs/${big.body.decision_id}`);
  assert.deepEqual(logged.body.arguments, { amount: 10000, currency: 'EUR' });
  assert.equal(logged.body.explanation.rule_id, r.id);
  // ... and the chain still verifies with the new fields covered by its hashes.
  const verified = await admin('GET', `/v1/admin/audit/verify?agent_id=${id}`);
  assert.equal(verified.body.ok, true, verified.text);
});

test('a path rule: reads under /work are allowed, escapes by .. or encoding are not', async () => {
  const { id, key } = await agentWithTool('filesystem', ['read']);
  await rule(id, { tool: 'filesystem', scope: 'read', conditions: [when('/path', 'path_under', '/work')] });
  const read = (path) => validate(key, { tool: 'filesystem', scope: 'read', arguments: { path } });
  assert.equal((await read('/work/notes/a.txt')).body.allowed, true);
  for (const escape of ['/work/../etc/passwd', '/work/%2e%2e/etc/passwd', '/workshop/x', '/etc/passwd']) {
    const r = await read(escape);
    assert.equal(r.body.allowed, false, escape);
    assert.equal(r.body.reason, 'conditions_not_met', escape);
  }
  assert.equal((await read('work/relative')).body.reason, 'denied_by_rule', 'a relative path cannot be judged: deny');
});

test('a host rule and a deny rule: outside domains are refused, and an enforced deny wins over an allow', async () => {
  const { id, key } = await agentWithTool('email', ['send']);
  await rule(id, { tool: 'email', scope: 'send' });
  const deny = await rule(id, {
    tool: 'email', scope: 'send', effect: 'deny', description: 'only our own domain',
    conditions: [{ not: when('/to', 'host_in', ['example.com', '*.example.com']) }],
  });
  assert.equal(deny.require_reasoning, 'none');
  const send = (to) => validate(key, { tool: 'email', scope: 'send', arguments: { to } });
  assert.equal((await send('ana@example.com')).body.allowed, true);
  assert.equal((await send('ana@eu.example.com')).body.allowed, true);
  for (const to of ['ana@evil.com', 'ana@example.com.evil.com', 'ana@evil-example.com', 'ana@\u0435xample.com']) {
    const r = await send(to);
    assert.equal(r.body.allowed, false, to);
    assert.equal(r.body.reason, 'denied_by_rule', to);
    assert.equal(r.body.explanation.rule_id, deny.id, to);
  }
});

test('a rule saved with a wrong pointer, operator or value type is refused with a useful 400', async () => {
  const schema = {
    type: 'object',
    properties: { amount: { type: 'number' }, note: { type: 'string' } },
    required: ['amount'],
    additionalProperties: false,
  };
  const { id, key } = await agentWithTool('payments', ['charge'], { input_schema: schema });
  const refused = async (conditions, pattern) => {
    const r = await admin('POST', `/v1/admin/agents/${id}/rules`, { tool: 'payments', scope: 'charge', conditions });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, pattern);
  };
  await refused([when('/amout', 'lt', 5)], /conditions\[0\].*no argument "\/amout".*amount, note/);
  await refused([when('/note', 'lt', 5)], /conditions\[0\].*\/note is string.*`lt` needs number/);
  await refused([when('/amount', 'lt', '5')], /conditions\[0\].*`lt` takes a number/);
  await refused([{ all_of: [when('/amount', 'between', 5)] }], /conditions\[0\].all_of\[0\].*unknown operator "between"/);
  await refused([{ pointer: '/amount', op: 'lt', value: 5 }], /on_missing/);
  await refused([when('/note', 'matches', '(a{1000}){1000}')], /conditions\[0\].*pattern/);

  // With the schema, arguments that break it are denied before any rule is read.
  await rule(id, { tool: 'payments', scope: 'charge', conditions: [when('/amount', 'lte', 100)] });
  const bad = await validate(key, { tool: 'payments', scope: 'charge', arguments: { amount: 5, extra: true } });
  assert.equal(bad.body.reason, 'invalid_arguments');
  assert.match(bad.body.explanation.message, /input_schema/);
  const good = await validate(key, { tool: 'payments', scope: 'charge', arguments: { amount: 5 } });
  assert.equal(good.body.allowed, true, good.text);
});

test('shadow rules never decide, are logged, can be filtered for, and turning one on is an admin event', async () => {
  const { id, key } = await agentWithTool('db', ['query']);
  await rule(id, { tool: 'db', scope: 'query' });
  const shadow = await rule(id, {
    tool: 'db', scope: 'query', effect: 'deny', mode: 'shadow',
    conditions: [when('/sql', 'matches', '(?i)\\b(drop|delete|truncate)\\b')],
  });
  const drop = await validate(key, { tool: 'db', scope: 'query', arguments: { sql: 'DROP TABLE users' } });
  assert.equal(drop.body.allowed, true, 'a shadow rule does not decide');
  const select = await validate(key, { tool: 'db', scope: 'query', arguments: { sql: 'select 1' } });
  assert.equal(select.body.allowed, true);

  const logged = await admin('GET', `/v1/admin/logs/${drop.body.decision_id}`);
  assert.deepEqual(logged.body.shadow, [{ rule_id: shadow.id, would: 'deny' }]);
  const would = await admin('GET', `/v1/admin/logs?agent_id=${id}&shadow=deny`);
  assert.deepEqual(would.body.logs.map((l) => l.decision_id), [drop.body.decision_id]);
  assert.equal((await admin('GET', '/v1/admin/logs?shadow=maybe')).status, 400);

  const on = await admin('PATCH', `/v1/admin/agents/${id}/rules/${shadow.id}`, { mode: 'enforce' });
  assert.equal(on.status, 200, on.text);
  assert.equal(on.body.mode, 'enforce');
  const events = await admin('GET', `/v1/admin/events?agent_id=${id}`);
  const change = events.body.events.find((e) => e.action === 'rule.mode_change');
  assert.ok(change, JSON.stringify(events.body.events.map((e) => e.action)));
  assert.deepEqual([change.detail.from, change.detail.to], ['shadow', 'enforce']);
  const now = await validate(key, { tool: 'db', scope: 'query', arguments: { sql: 'DROP TABLE users' } });
  assert.equal(now.body.reason, 'denied_by_rule');
});

test('simulate and replay use the production evaluator: they agree with validate and write nothing', async () => {
  const { id, key } = await agentWithTool('payments', ['charge']);
  const saved = await rule(id, { tool: 'payments', scope: 'charge', conditions: [when('/amount', 'lt', 500)] });
  const calls = [{ amount: 10 }, { amount: 499 }, { amount: 500 }, { amount: 9000 }, {}, { amount: 'x' }];
  const real = [];
  for (const args of calls) {
    const v = await validate(key, { tool: 'payments', scope: 'charge', arguments: args });
    const s = await admin('POST', '/v1/admin/simulate', { agent_id: id, request: { tool: 'payments', scope: 'charge', arguments: args } });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.allowed, v.body.allowed, JSON.stringify(args));
    assert.equal(s.body.reason, v.body.reason, JSON.stringify(args));
    assert.deepEqual(s.body.explanation ?? undefined, v.body.explanation, JSON.stringify(args));
    assert.equal(s.body.trace.length, 1);
    assert.equal(s.body.trace[0].rule_id, saved.id);
    real.push(v.body);
  }
  const logs = await admin('GET', `/v1/admin/logs?agent_id=${id}&limit=200`);
  assert.equal(logs.body.logs.length, calls.length, 'simulate writes no audit row');

  // A draft that raises the limit to 1000: replay names exactly the calls whose decision changes.
  const draft = [{ tool: 'payments', scope: 'charge', conditions: [when('/amount', 'lt', 1000)] }];
  const sim = await admin('POST', '/v1/admin/simulate', { agent_id: id, request: { tool: 'payments', scope: 'charge', arguments: { amount: 700 } }, rules: draft });
  assert.equal(sim.body.allowed, true);
  assert.equal(sim.body.trace[0].rule_id, 'draft_0');
  const replay = await admin('POST', '/v1/admin/simulate/replay', { agent_id: id, rules: draft, limit: 50 });
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.body.replayed, calls.length);
  const changed = replay.body.changed.map((c) => c.decision_id);
  const expected = real.filter((_, i) => calls[i].amount === 500).map((d) => d.decision_id);
  assert.deepEqual(changed, expected);
  assert.equal(replay.body.changed[0].before, 'conditions_not_met');
  assert.equal(replay.body.changed[0].after, 'allowed');

  const bad = await admin('POST', '/v1/admin/simulate/replay', { agent_id: id, rules: [{ tool: 'nope', scope: 'x' }] });
  assert.equal(bad.status, 409);
  assert.match(bad.body.error.message, /rules\[0\].*not registered/);
  const unknown = await admin('POST', '/v1/admin/simulate', { agent_id: 'agt_00000000000000000000', request: { tool: 'a', scope: 'b' } });
  assert.equal(unknown.status, 404);
});

test('request facts: a client address rule allows only from the listed network', async () => {
  const { id, key } = await agentWithTool('admin-panel', ['open']);
  await rule(id, { tool: 'admin-panel', scope: 'open', conditions: [when('/client_ip', 'cidr', ['10.0.0.0/8'], { source: 'request' })] });
  const from = (ip) => validate(key, { tool: 'admin-panel', scope: 'open' }, { 'CF-Connecting-IP': ip });
  assert.equal((await from('10.1.2.3')).body.allowed, true);
  assert.equal((await from('192.168.1.1')).body.reason, 'conditions_not_met');
});

test('arguments are bounded, and long strings are cut in the log with their SHA-256', async () => {
  const { id, key } = await agentWithTool('notes', ['write']);
  await rule(id, { tool: 'notes', scope: 'write' });
  const huge = await validate(key, { tool: 'notes', scope: 'write', arguments: { text: 'x'.repeat(40_000) } });
  assert.equal(huge.status, 400);
  let deep = { v: 1 };
  for (let i = 0; i < 20; i++) deep = { d: deep };
  assert.equal((await validate(key, { tool: 'notes', scope: 'write', arguments: deep })).status, 400);
  const notObject = await validate(key, { tool: 'notes', scope: 'write', arguments: [1, 2] });
  assert.equal(notObject.status, 400);

  const long = 'a'.repeat(1000);
  const ok = await validate(key, { tool: 'notes', scope: 'write', arguments: { text: long, token: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc' } });
  assert.equal(ok.body.allowed, true);
  const row = await admin('GET', `/v1/admin/logs/${ok.body.decision_id}`);
  assert.match(row.body.arguments.text, /^a{256}… \[sha256:41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3\]$/);
  assert.doesNotMatch(JSON.stringify(row.body.arguments), /sk_live_4eC39/);
});
