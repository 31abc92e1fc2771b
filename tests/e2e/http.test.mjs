// The HTTP surface: errors, bounds, content types, routes, headers, CORS, panics, and the
// OpenAPI document against what the worker really serves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client, makeAgent, spec } from '../support/api.mjs';

let worker, admin, raw, agentKey;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
  agentKey = (await makeAgent(admin, { rules: { read: 'none' } })).key;
});
after(async () => { await worker?.stop(); });

const ERROR_CODES = new Set(spec.components.schemas.ErrorCode.enum);

function assertCleanError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code);
  assert.ok(ERROR_CODES.has(r.body.error.code));
  assert.doesNotMatch(r.text, /panicked|RuntimeError|SQLITE|sqlite|SELECT|at .*\.rs|wasm/i);
}

test('health answers without authentication', async () => {
  const r = await raw('GET', '/health');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
});

test('malformed JSON gets 400 invalid_json', async () => {
  for (const text of ['{', '{"tool": }', 'not json', '\u0000']) {
    const r = await raw('POST', '/v1/validate', undefined, { key: agentKey, raw: text, headers: { 'Content-Type': 'application/json' } });
    assertCleanError(r, 400, 'invalid_json');
  }
  const admin400 = await admin('POST', '/v1/admin/agents', undefined, { raw: '{"name":', headers: { 'Content-Type': 'application/json' } });
  assertCleanError(admin400, 400, 'invalid_json');
});

test('JSON of the wrong shape gets 400 invalid_request naming the problem', async () => {
  const cases = [
    [[1, 2], /JSON object/],
    [{ scope: 'read' }, /missing field `tool`/],
    [{ tool: 'filesystem', scope: 'read', extra: 1 }, /unknown field `extra`/],
    [{ tool: 5, scope: 'read' }, /invalid type/],
    [{ tool: 'a b', scope: 'read' }, /tool must be/],
    [{ tool: 'filesystem', scope: 'read', reasoning: 'x'.repeat(4001) }, /reasoning must be at most 4000/],
    [{ tool: 'filesystem', scope: 'read', context: 'a string' }, /invalid type/],
    [{ tool: 'filesystem', scope: 'read', context: { blob: 'x'.repeat(9000) } }, /context must be at most/],
  ];
  for (const [body, message] of cases) {
    const r = await raw('POST', '/v1/validate', body, { key: agentKey });
    assertCleanError(r, 400, 'invalid_request');
    assert.match(r.body.error.message, message);
  }
});

test('oversized bodies get 413 before they are parsed', async () => {
  const big = JSON.stringify({ tool: 'filesystem', scope: 'read', reasoning: 'x'.repeat(70 * 1024) });
  const r = await raw('POST', '/v1/validate', undefined, { key: agentKey, raw: big, headers: { 'Content-Type': 'application/json' } });
  assertCleanError(r, 413, 'payload_too_large');
  const huge = 'x'.repeat(70 * 1024);
  const a = await admin('POST', '/v1/admin/agents', undefined, { raw: huge, headers: { 'Content-Type': 'application/json' } });
  assertCleanError(a, 413, 'payload_too_large');
});

test('wrong content types get 415', async () => {
  const body = JSON.stringify({ tool: 'filesystem', scope: 'read' });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
    const r = await raw('POST', '/v1/validate', undefined, { key: agentKey, raw: body, headers: { 'Content-Type': ct } });
    assertCleanError(r, 415, 'unsupported_media_type');
  }
  const ok = await raw('POST', '/v1/validate', undefined, { key: agentKey, raw: body, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
  assert.equal(ok.status, 200);
});

test('unknown routes get 404 and known routes with other methods get 405 with Allow', async () => {
  for (const path of ['/', '/v2/validate', '/v1/admin', '/v1/admin/agents/x/y/z', '/v1/validate/', '/__test/nothing', '/../etc/passwd']) {
    const r = await admin('GET', path);
    assertCleanError(r, 404, 'not_found');
  }
  const cases = [['GET', '/v1/validate', 'POST'], ['DELETE', '/health', 'GET, HEAD'], ['PUT', '/v1/admin/agents', 'GET, POST'], ['POST', '/v1/admin/logs', 'GET']];
  for (const [method, path, allow] of cases) {
    const r = await admin(method, path);
    assertCleanError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), allow);
  }
});

test('ids that are not ours, or not anyone\'s, answer 404', async () => {
  for (const path of ['/v1/admin/agents/agt_doesnotexist00000000', '/v1/admin/agents/%27%20OR%201=1', '/v1/admin/logs/dec_nope']) {
    assertCleanError(await admin('GET', path), 404, 'not_found');
  }
});

test('every answer has an X-Request-Id, security headers and no-store', async () => {
  const answers = [
    await raw('GET', '/health'),
    await admin('GET', '/v1/admin/agents'),
    await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: agentKey }),
    await raw('GET', '/nowhere'),
    await raw('GET', '/v1/admin/agents'),
  ];
  const ids = new Set();
  for (const r of answers) {
    const id = r.headers.get('x-request-id');
    assert.match(id, /^req_[0-9A-Za-z]{20}$/);
    ids.add(id);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
  assert.equal(ids.size, answers.length);
});

test('the audit row carries the request id of the answer', async () => {
  const r = await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: agentKey });
  const entry = await admin('GET', `/v1/admin/logs/${r.body.decision_id}`);
  assert.equal(entry.body.request_id, r.headers.get('x-request-id'));
});

test('CORS answers only configured origins', async () => {
  const allowed = 'http://127.0.0.1:8788';
  const pre = await fetch(`${worker.baseUrl}/v1/admin/agents`, { method: 'OPTIONS', headers: { Origin: allowed, 'Access-Control-Request-Method': 'GET' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), allowed);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  const get = await fetch(`${worker.baseUrl}/v1/admin/me`, { headers: { Origin: allowed, Authorization: `Bearer ${worker.adminKey}` } });
  assert.equal(get.headers.get('access-control-allow-origin'), allowed);
  const evil = await fetch(`${worker.baseUrl}/v1/admin/me`, { headers: { Origin: 'https://evil.example', Authorization: `Bearer ${worker.adminKey}` } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
});

test('a panic answers a clean 500 and does not poison later requests', async () => {
  const r = await fetch(`${worker.baseUrl}/__test/panic`);
  const text = await r.text();
  assert.equal(r.status, 500);
  assert.deepEqual(JSON.parse(text), { error: { code: 'internal_error', message: 'internal error; nothing was allowed' } });
  assert.ok(r.headers.get('x-request-id'));
  const results = await Promise.all(Array.from({ length: 5 }, () => raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: agentKey })));
  for (const after of results) assert.equal(after.status, 200);
  assert.equal((await admin('GET', '/v1/admin/me')).status, 200);
});

test('every operation in openapi.yaml is served (not 404/405) and answers as documented', async () => {
  const made = await makeAgent(admin, { rules: { read: 'none' } });
  const { agent, tool } = made;
  const rules = (await admin('GET', `/v1/admin/agents/${agent.id}/rules`)).body.rules;
  const dec = (await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: agentKey })).body.decision_id;
  // Two approvals (one to cancel, one to decide), an endpoint and one of its deliveries.
  const asked = await admin('POST', `/v1/admin/agents/${agent.id}/rules`, { tool: 'filesystem', scope: 'delete', effect: 'require_approval' });
  assert.equal(asked.status, 201, asked.text);
  const approve = async (path) => (await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'delete', reasoning: 'cleanup the user asked for', arguments: { path } }, { key: made.key })).body.approval.id;
  const [apr, aprToCancel] = [await approve('/a'), await approve('/b')];
  const hook = (await admin('POST', '/v1/admin/webhooks', { url: 'https://hooks.example.com/openapi', event_types: ['agent.changed'] })).body;
  await admin('POST', '/v1/admin/agents', { name: `openapi-event-${Date.now()}` });
  const msg = (await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries`)).body.deliveries[0].id;
  // An invitation and an admin key to revoke (the seeded key is its organization's owner's).
  const invited = (await admin('POST', '/v1/admin/invitations', { email: 'openapi@example.com', role: 'viewer' })).body;
  const spareKey = (await admin('POST', '/v1/admin/keys', { name: 'openapi spare', role: 'viewer' })).body.key;
  const fill = (tpl, id) => tpl.replace('{agent_id}', agent.id).replace('{tool_id}', tool.id).replace('{rule_id}', rules[0].id)
    .replace('{decision_id}', dec).replace('{approval_id}', id === 'cancelApproval' ? aprToCancel : apr)
    .replace('{webhook_id}', hook.id).replace('{delivery_id}', msg)
    .replace('{invitation_id}', invited.invitation.id).replace('{token}', invited.token).replace('{key_id}', spareKey.id)
    .replace('{user_id}', 'usr_AAAAAAAAAAAAAAAAAAAAAA').replace('{session_id}', 'ses_AAAAAAAAAAAAAAAAAAAAAA');
  const bodies = {
    validate: { tool: 'filesystem', scope: 'read' },
    createAgent: { name: 'openapi-agent' },
    updateAgent: { name: 'renamed-by-openapi-test' },
    createTool: { name: 'openapi-tool', scopes: ['x'], risk_level: 'read' },
    updateTool: { description: 'updated' },
    createRule: { tool: 'filesystem', scope: 'write' },
    updateRule: { require_reasoning: 'soft' },
    rotateAgentKey: { overlap_seconds: 0 },
    simulate: { agent_id: agent.id, request: { tool: 'filesystem', scope: 'read' } },
    replay: { agent_id: agent.id, rules: [{ tool: 'filesystem', scope: 'read' }] },
    decideApproval: { decision: 'approve', comment: 'openapi test' },
    createWebhook: { url: 'https://hooks.example.com/other', event_types: ['key.rotated'] },
    updateWebhook: { description: 'updated' },
    rotateWebhookSecret: { overlap_seconds: 60 },
    createInvitation: { email: 'openapi-2@example.com', role: 'viewer' },
    createAdminKey: { name: 'openapi key', role: 'viewer' },
    updateOrganization: { name: 'Test Org A' },
    billingCheckout: { plan: 'pro' },
    billingPortal: {},
  };
  // Billing needs Stripe configured, which this worker is not: 404 billing_not_configured here;
  // tests/e2e/billing.test.mjs runs each of them against a configured worker.
  const withBilling = new Set(['billingCheckout', 'billingPortal', 'stripeWebhook']);
  // These need a person signed in through an identity provider (or a setup token), which this
  // worker has none of: here they must answer as documented without being served as a success;
  // tests/e2e/people.test.mjs and id-tokens.test.mjs run each of them signed in.
  const withPeople = new Set(['startLogin', 'loginCallback', 'getSession', 'logout', 'listSessions', 'revokeSession',
    'createBearerSession', 'acceptInvitation', 'setup', 'updateMember', 'removeMember', 'endMemberSessions']);
  const agentOps = new Set(['validate', 'getApproval', 'cancelApproval']);
  const ops = [];
  for (const [tpl, item] of Object.entries(spec.paths)) {
    for (const method of ['get', 'post', 'patch', 'delete']) {
      if (item[method]) ops.push({ tpl, method: method.toUpperCase(), id: item[method].operationId });
    }
  }
  // Deletes last, deepest first, so they do not remove what later calls need.
  // (The key rotation revokes the key the approval routes use, so it goes with them.)
  const deleteOrder = ['rotateAgentKey', 'deleteWebhook', 'deleteRule', 'deleteTool', 'deleteAgent'];
  ops.sort((a, b) => deleteOrder.indexOf(a.id) - deleteOrder.indexOf(b.id));
  for (const op of ops) {
    const key = agentOps.has(op.id) ? (op.id === 'validate' ? agentKey : made.key) : ['health', 'getJwks'].includes(op.id) ? null : worker.adminKey;
    // Stripe's webhook is refused as malformed without its signature header, before anything else.
    const headers = op.id === 'stripeWebhook' ? { 'Stripe-Signature': 't=1,v1=00' } : {};
    const r = await raw(op.method, fill(op.tpl, op.id), bodies[op.id], { key: withPeople.has(op.id) && op.tpl.startsWith('/v1/auth') ? null : key, headers });
    if (withBilling.has(op.id)) {
      assert.equal(r.status, 404, `${op.method} ${op.tpl} (${op.id}) answered ${r.status}: ${r.text}`);
      assert.equal(r.body.error.code, 'billing_not_configured', r.text);
      continue;
    }
    if (withPeople.has(op.id)) {
      assert.ok(r.status !== 405 && r.status >= 400, `${op.method} ${op.tpl} (${op.id}) answered ${r.status}: ${r.text}`);
      continue;
    }
    assert.ok(r.status < 300, `${op.method} ${op.tpl} (${op.id}) answered ${r.status}: ${r.text}`);
  }
});
