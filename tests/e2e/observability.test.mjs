// Observability against the real worker in local workerd (docs/observability.md): the one structured
// log line per request (parsed from what the worker printed, and checked for every secret the test
// sent), decision latency percentiles in /v1/admin/stats, the optional Analytics Engine binding
// absent, and the `service.degraded` webhook, received by a local server that verifies it with the
// Standard Webhooks reference library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, TEST_KEY_HASH_SECRET } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';
import { receiver, closeReceivers, verified, until } from '../support/hooks.mjs';

let worker, admin, other, raw;

before(async () => {
  // `log`: wrangler prints the worker's console.log output, where the request lines are.
  worker = await startWorker({ logLevel: 'log' });
  admin = client(worker.baseUrl, worker.adminKey);
  other = client(worker.baseUrl, worker.otherAdminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => {
  if (process.env.OAK_DEBUG) console.log(worker.logs.join('').split('\n').filter((l) => /ERROR|error/.test(l)).join('\n'));
  closeReceivers();
  await worker?.stop();
});

const validate = (key, body, headers) => raw('POST', '/v1/validate', body, { key, headers });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The worker's structured request lines printed so far, each parsed (a line that is not JSON fails). */
function requestLines() {
  return worker.logs
    .join('')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('"event":"request"'))
    .map((l) => {
      assert.ok(l.startsWith('{') && l.endsWith('}'), `a request line is one JSON object alone on its line: ${l}`);
      return JSON.parse(l);
    });
}

const FIELDS = new Set(['event', 'request_id', 'method', 'route', 'status', 'latency_ms', 'org_id', 'agent_id', 'decision_id', 'allowed', 'reason', 'error']);

test('every request prints one JSON line with its route, status, latency and ids, and no secret', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  const secrets = [key, worker.adminKey, worker.otherAdminKey, TEST_KEY_HASH_SECRET];
  const reasoning = 'reading the quarterly report, private reasoning 7f3a';
  const argumentValue = 'argument-value-never-logged-91c2';
  const contextValue = 'context-value-never-logged-4d0e';
  const sent = [];
  const call = async (what, promise, expect) => {
    const r = await promise;
    sent.push({ what, r, ...expect });
    return r;
  };
  const allowed = await call('validate allowed', validate(key, { tool: 'filesystem', scope: 'read', reasoning, arguments: { path: argumentValue }, context: { note: contextValue, apiKey: key } }),
    { method: 'POST', route: '/v1/validate' });
  assert.equal(allowed.body.allowed, true);
  const denied = await call('validate denied', validate(key, { tool: 'filesystem', scope: 'delete', reasoning: `my key is ${key}` }), { method: 'POST', route: '/v1/validate' });
  assert.equal(denied.body.reason, 'scope_not_granted');
  await call('validate bad key', validate(`${key.slice(0, -1)}x`, { tool: 'filesystem', scope: 'read' }), { method: 'POST', route: '/v1/validate' });
  await call('admin list with a query', admin('GET', `/v1/admin/logs?agent_id=${agent.id}&limit=5`), { method: 'GET', route: '/v1/admin/logs' });
  await call('admin tool by name', admin('GET', `/v1/admin/agents/${agent.id}/tools/${encodeURIComponent(key)}`), { method: 'GET', route: '/v1/admin/agents/{agent_id}/tools/{tool_id}' });
  await call('unknown path holding a key', raw('GET', `/v1/${key}?token=${key}`), { method: 'GET', route: '(unmatched)' });
  await call('health', raw('GET', '/health'), { method: 'GET', route: '/health' });

  const byId = await until(() => {
    const lines = requestLines();
    const ids = new Map();
    for (const l of lines) ids.set(l.request_id, [...(ids.get(l.request_id) ?? []), l]);
    return sent.every((s) => ids.has(s.r.headers.get('x-request-id'))) && ids;
  }, 10_000, 'the request lines');
  for (const s of sent) {
    const lines = byId.get(s.r.headers.get('x-request-id'));
    assert.equal(lines.length, 1, `${s.what}: exactly one line`);
    const [line] = lines;
    for (const k of Object.keys(line)) assert.ok(FIELDS.has(k), `${s.what}: unexpected field ${k}`);
    assert.equal(line.event, 'request');
    assert.equal(line.method, s.method, s.what);
    assert.equal(line.route, s.route, s.what);
    assert.equal(line.status, s.r.status, s.what);
    assert.ok(Number.isInteger(line.latency_ms) && line.latency_ms >= 0, `${s.what}: latency ${line.latency_ms}`);
    if (s.r.status >= 400) assert.equal(line.error, s.r.body.error.code, `${s.what}: the error's code`);
  }
  const lineOf = (r) => byId.get(r.headers.get('x-request-id'))[0];
  for (const r of [allowed, denied]) {
    const line = lineOf(r);
    assert.equal(line.agent_id, agent.id);
    assert.equal(line.org_id, worker.orgId);
    assert.equal(line.decision_id, r.body.decision_id);
    assert.equal(line.allowed, r.body.allowed);
    assert.equal(line.reason, r.body.reason);
  }

  const text = requestLines().map((l) => JSON.stringify(l)).join('\n');
  for (const s of [...secrets, reasoning, argumentValue, contextValue]) {
    assert.ok(!text.includes(s), `the request lines carry ${s.slice(0, 12)}…`);
  }
  assert.ok(!/authorization|bearer/i.test(text), 'no Authorization header in the lines');
  // And none in anything else the worker printed (the leak test's check, over the console.log output
  // too). Left out: wrangler's own lines about each request it proxied, which show the raw path this
  // test put a key into (the worker's line shows `(unmatched)`).
  const output = worker.logs.join('').split('\n').filter((l) => !l.startsWith('[wrangler:')).join('\n');
  for (const s of secrets) assert.ok(!output.includes(s), 'a key appears in the worker output');
  // No Analytics Engine binding here: the decisions were answered and nothing complained.
  assert.doesNotMatch(output, /analytics data point not written/);
});

/** Nearest rank: the p-th percentile of n sorted values is the one at rank ceil(p n / 100). */
const nearestRank = (sorted, p) => sorted[Math.ceil((p * sorted.length) / 100) - 1];

test('stats give nearest-rank latency percentiles per UTC day, equal to the stored latencies', async () => {
  const { key } = await makeAgent(admin, { rules: { read: 'none' } });
  for (let i = 0; i < 12; i++) await validate(key, { tool: 'filesystem', scope: i % 3 ? 'read' : 'write' });
  const since = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
  const untilAt = new Date(Date.now() + 60_000);
  const query = `since=${since.toISOString()}&until=${untilAt.toISOString()}`;
  // Read the rows the stats read (the list may lag the answers by a bounded interval: wait for all).
  const stored = await until(async () => {
    const rows = (await worker.d1(`SELECT latency_ms FROM audit_log WHERE org_id = '${worker.orgId}' AND created_at >= ${since.getTime()} AND created_at < ${untilAt.getTime()}`))[0].results;
    const stats = await admin('GET', `/v1/admin/stats?${query}`);
    return stats.body.total === rows.length && rows.length >= 12 && { rows, stats };
  }, 10_000, 'the rows in D1');
  const latencies = stored.rows.map((r) => r.latency_ms).sort((a, b) => a - b);
  assert.deepEqual(stored.stats.body.latency, [{
    day: since.toISOString().slice(0, 10),
    decisions: latencies.length,
    p50_ms: nearestRank(latencies, 50),
    p95_ms: nearestRank(latencies, 95),
    p99_ms: nearestRank(latencies, 99),
  }]);
});

test('percentiles split by UTC day and rank exactly (rows of chosen latencies, another organization)', async () => {
  // Rows written straight into D1 for the other organization, so the latencies are known: day one
  // has 1..100 ms, day two 5, 7 and 300 ms, one row sits past midnight by a millisecond.
  const dayOne = Date.UTC(2025, 0, 10);
  const dayTwo = Date.UTC(2025, 0, 11);
  const rows = [
    ...Array.from({ length: 100 }, (_, i) => [dayOne + 1000 * i, 100 - i]),
    [dayTwo, 300], [dayTwo + 5, 7], [dayTwo + 86_399_999, 5],
  ];
  const values = rows.map(([at, ms], i) =>
    `('dec_obs${String(i).padStart(17, '0')}', '${worker.otherOrgId}', 'req_obs${i}', 'agt_obsfixture', 'fs', 'read', 1, 'allowed', 'none', 0, ${ms}, ${at})`);
  await worker.d1(`INSERT INTO audit_log (decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason,
    reasoning_required, reasoning_provided, latency_ms, created_at) VALUES ${values.join(', ')}`);
  const stats = await other('GET', '/v1/admin/stats?since=2025-01-09T12:00:00Z&until=2025-01-13T00:00:00Z');
  assert.equal(stats.status, 200);
  assert.equal(stats.body.total, 103);
  assert.deepEqual(stats.body.latency, [
    { day: '2025-01-10', decisions: 100, p50_ms: 50, p95_ms: 95, p99_ms: 99 },
    { day: '2025-01-11', decisions: 3, p50_ms: 7, p95_ms: 300, p99_ms: 300 },
  ]);
  // The range cuts days: only the decisions inside it count.
  const part = await other('GET', '/v1/admin/stats?since=2025-01-10T00:00:50Z&until=2025-01-11T00:00:00.004Z');
  assert.deepEqual(part.body.latency, [
    { day: '2025-01-10', decisions: 50, p50_ms: 25, p95_ms: 48, p99_ms: 50 },
    { day: '2025-01-11', decisions: 1, p50_ms: 300, p95_ms: 300, p99_ms: 300 },
  ]);
  // The first organization sees none of it.
  const mine = await admin('GET', '/v1/admin/stats?since=2025-01-09T12:00:00Z&until=2025-01-13T00:00:00Z');
  assert.deepEqual(mine.body.latency, []);
});

test('unavailable decisions past the threshold of a minute send one service.degraded, verified with the reference library', async () => {
  const hook = await receiver();
  const created = await admin('POST', '/v1/admin/webhooks', { url: hook.url, event_types: ['service.degraded'] });
  assert.equal(created.status, 201, created.text);
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).body.allowed, true);

  // Twelve failures must land in one UTC minute (the default threshold is 10 per minute).
  if (Date.now() % 60_000 > 45_000) await sleep(60_000 - (Date.now() % 60_000) + 100);
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  // The test fault `agent_object` makes the worker's call to the agent's object fail, as an
  // unreachable object would: the worker answers `unavailable` without the object naming the
  // organization, which the worker then finds from the agent.
  const failing = { 'X-OakAuth-Test-Fault': 'agent_object=12' };
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push(await validate(key, { tool: 'filesystem', scope: 'read' }, i === 0 ? failing : undefined));
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.equal(a.body.reason, 'unavailable');
  }
  await until(() => hook.got.length >= 1, 20_000, 'the service.degraded delivery');
  // More of the same minute send nothing more (if the minute has not turned meanwhile).
  if (Date.now() - minute < 55_000) {
    await validate(key, { tool: 'filesystem', scope: 'read' }, { 'X-OakAuth-Test-Fault': 'agent_object=3' });
    await validate(key, { tool: 'filesystem', scope: 'read' });
    await validate(key, { tool: 'filesystem', scope: 'read' });
  }
  await sleep(3000);
  assert.equal(hook.got.length, 1, 'one event for the minute, not one per decision');
  const payload = verified(created.body.secret, hook.got[0]);
  assert.equal(payload.type, 'service.degraded');
  assert.deepEqual(payload.data, { minute: new Date(minute).toISOString(), unavailable: 10, threshold: 10 });

  // The unavailable answers' lines: the reason, the agent; no organization (the object never answered).
  const lines = requestLines().filter((l) => answers.some((a) => a.headers.get('x-request-id') === l.request_id));
  assert.equal(lines.length, 12);
  for (const l of lines) {
    assert.equal(l.reason, 'unavailable');
    assert.equal(l.agent_id, agent.id);
    assert.equal(l.org_id, undefined);
  }
  // The other organization got nothing: its webhook list is its own, and no event was counted for it.
  const deliveries = await admin('GET', `/v1/admin/webhooks/${created.body.id}/deliveries`);
  assert.deepEqual(deliveries.body.deliveries.map((d) => d.event_type), ['service.degraded']);
});
