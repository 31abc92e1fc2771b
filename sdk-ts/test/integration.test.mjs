// The SDK against the real worker in local workerd (started by tests/support/worker.mjs): the admin client sets
// an agent up, guard() asks, and the audit log shows every decision with its reasoning.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  OakAuth,
  OakAuthAdmin,
  OakAuthAuthenticationError,
  OakAuthConflictError,
  OakAuthDeniedError,
  OakAuthNotFoundError,
  OakAuthRateLimitError,
  OakAuthValidationError,
  configure,
  guard,
  isAllowed,
} from 'oakauth';
import { startWorker } from '../../tests/support/worker.mjs';

let worker;
let admin;
let agent; // { id, key }
const decisions = new Map(); // what this suite asked → decision id

before(async () => {
  worker = await startWorker();
  admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  const created = await admin.createAgent({ name: 'sdk-ts-agent', rate_limit: { capacity: 1000, refill_per_second: 100 } });
  agent = { id: created.agent.id, key: created.api_key };
  await admin.createTool(agent.id, { name: 'filesystem', description: 'Local files', scopes: ['read', 'write', 'delete', 'chmod'], risk_level: 'write' });
  await admin.createRule(agent.id, { tool: 'filesystem', scope: 'read', require_reasoning: 'none' });
  await admin.createRule(agent.id, { tool: 'filesystem', scope: 'write', require_reasoning: 'soft' });
  await admin.createRule(agent.id, { tool: 'filesystem', scope: 'delete', require_reasoning: 'hard' });
});

after(async () => {
  await worker?.stop();
});

const oak = (options = {}) => new OakAuth({ apiKey: agent.key, ...worker.endpoint, ...options });

/** The real fetch, counting the requests sent through it. */
function countingFetch() {
  const counted = (url, init) => {
    counted.urls.push(url);
    return fetch(url, init);
  };
  counted.urls = [];
  return counted;
}

/** guard() with an action that records whether it ran; returns { ran, result | error }. */
async function attempt(client, request) {
  let ran = false;
  try {
    const result = await client.guard(request, (decision) => {
      ran = true;
      return decision;
    });
    return { ran, result };
  } catch (error) {
    return { ran, error };
  }
}

describe('health', () => {
  it('healthcheck answers ok with a version', async () => {
    const health = await oak().healthcheck();
    assert.equal(health.status, 'ok');
    assert.match(health.version, /^\d+\.\d+\.\d+/);
  });
});

describe('guard against the real worker', () => {
  it('runs the action on an allowed call', async () => {
    const { ran, result } = await attempt(oak(), { tool: 'filesystem', scope: 'read', reasoning: 'list the files the user asked about', context: { path: '/srv' } });
    assert.equal(ran, true);
    assert.equal(result.reason, 'allowed');
    assert.equal(result.reasoning_provided, true);
    assert.equal(result.rate_limit.limit, 1000);
    decisions.set('read', result.decision_id);
  });

  it('does not run the action for a scope no rule grants', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'filesystem', scope: 'chmod', reasoning: 'make the script executable' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthDeniedError);
    assert.equal(error.reason, 'scope_not_granted');
    assert.equal(error.tool, 'filesystem');
    assert.equal(error.scope, 'chmod');
    assert.match(error.decisionId, /^dec_/);
    assert.ok(error.requestId);
    decisions.set('chmod', error.decisionId);
  });

  it('a deny is asked once, never retried', async () => {
    const counted = countingFetch();
    const { ran, error } = await attempt(oak({ fetch: counted }), { tool: 'filesystem', scope: 'chmod' });
    assert.equal(ran, false);
    assert.equal(error.reason, 'scope_not_granted');
    assert.equal(counted.urls.length, 1);
  });

  it('an error thrown by the action comes through unchanged', async () => {
    const boom = new RangeError('the action failed');
    await assert.rejects(oak().guard({ tool: 'filesystem', scope: 'read' }, () => { throw boom; }), (e) => e === boom);
  });

  it('a body over 64 KiB is refused with 413 and the action does not run', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'filesystem', scope: 'read', context: { blob: 'x'.repeat(70_000) } });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthValidationError, error?.name);
    assert.equal(error.status, 413);
    assert.equal(error.code, 'payload_too_large');
  });

  it('does not run the action for a tool the agent does not have', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'shell', scope: 'exec' });
    assert.equal(ran, false);
    assert.equal(error.reason, 'unknown_tool');
    decisions.set('shell', error.decisionId);
  });

  it('a hard rule denies a call without reasoning', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'filesystem', scope: 'delete' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthDeniedError);
    assert.equal(error.reason, 'reasoning_required');
    assert.equal(error.decision.reasoning_required, 'hard');
    assert.equal(error.decision.reasoning_provided, false);
    decisions.set('delete-none', error.decisionId);
  });

  it('a hard rule denies whitespace and invisible characters as reasoning', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'filesystem', scope: 'delete', reasoning: ' \t\u200b\u200d ' });
    assert.equal(ran, false);
    assert.equal(error.reason, 'reasoning_required');
    decisions.set('delete-blank', error.decisionId);
  });

  it('a hard rule allows a call with real reasoning', async () => {
    const { ran, result } = await attempt(oak(), { tool: 'filesystem', scope: 'delete', reasoning: 'the user asked to clear /tmp/cache' });
    assert.equal(ran, true);
    assert.equal(result.reason, 'allowed');
    assert.equal(result.reasoning_required, 'hard');
    decisions.set('delete-real', result.decision_id);
  });

  it('a soft rule allows a call without reasoning and says it was missing', async () => {
    const { ran, result } = await attempt(oak(), { tool: 'filesystem', scope: 'write' });
    assert.equal(ran, true);
    assert.equal(result.reason, 'reasoning_missing_soft');
    assert.equal(result.allowed, true);
    assert.equal(isAllowed(result), true);
    decisions.set('write', result.decision_id);
  });

  it('validate() returns a deny as a decision', async () => {
    const decision = await oak().validate({ tool: 'filesystem', scope: 'chmod' });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reason, 'scope_not_granted');
    assert.equal(isAllowed(decision), false);
  });

  it('a bad tool name is a validation error, not a decision', async () => {
    const { ran, error } = await attempt(oak(), { tool: 'file system', scope: 'read' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthValidationError, error?.name);
    assert.equal(error.status, 400);
  });

  it('an unknown agent key is refused with 401', async () => {
    const client = new OakAuth({ apiKey: 'oak_00000000000000000000000000000000AAAAAA', ...worker.endpoint });
    const { ran, error } = await attempt(client, { tool: 'filesystem', scope: 'read' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthAuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'unauthorized');
  });

  it('an admin key used to validate is refused with 403', async () => {
    const client = new OakAuth({ apiKey: worker.adminKey, ...worker.endpoint });
    const { ran, error } = await attempt(client, { tool: 'filesystem', scope: 'read' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthAuthenticationError);
    assert.equal(error.status, 403);
  });
});

describe('configure() and the standalone guard()', () => {
  it('guard() asks with the configured client and runs the action only on an allow', async () => {
    configure({ apiKey: agent.key, ...worker.endpoint });
    assert.equal(await guard({ tool: 'filesystem', scope: 'read', reasoning: 'standalone' }, () => 'ran'), 'ran');
    let ran = false;
    const err = await guard({ tool: 'filesystem', scope: 'delete' }, () => { ran = true; }).catch((e) => e);
    assert.ok(err instanceof OakAuthDeniedError);
    assert.equal(err.reason, 'reasoning_required');
    assert.equal(ran, false);
  });
});

describe('rate limits and disabled agents', () => {
  it('an empty bucket throws OakAuthRateLimitError with retryAfter, and the action does not run', async () => {
    const limited = await admin.createAgent({ name: 'sdk-ts-limited', rate_limit: { capacity: 2, refill_per_second: 0.05 } });
    await admin.createTool(limited.agent.id, { name: 'search', scopes: ['query'], risk_level: 'read' });
    await admin.createRule(limited.agent.id, { tool: 'search', scope: 'query' });
    const counted = countingFetch();
    const client = new OakAuth({ apiKey: limited.api_key, ...worker.endpoint, fetch: counted });
    for (let i = 0; i < 2; i++) assert.equal((await attempt(client, { tool: 'search', scope: 'query' })).ran, true);
    const { ran, error } = await attempt(client, { tool: 'search', scope: 'query', reasoning: 'one more' });
    assert.equal(ran, false);
    assert.ok(error instanceof OakAuthRateLimitError, error?.name);
    assert.ok(error.retryAfter >= 1, `retryAfter ${error.retryAfter}`);
    assert.equal(error.decision.reason, 'rate_limited');
    assert.equal(error.decision.rate_limit.remaining, 0);
    assert.equal(counted.urls.length, 3, 'a rate limit is not retried');

    const logged = await admin.getLog(error.decisionId);
    assert.equal(logged.reason, 'rate_limited');
    assert.equal(logged.allowed, false);
    assert.equal(logged.reasoning, 'one more');
  });

  it('a disabled agent is denied on its next request, with no rate limit state', async () => {
    const other = await admin.createAgent({ name: 'sdk-ts-disabled' });
    await admin.createTool(other.agent.id, { name: 'search', scopes: ['query'], risk_level: 'read' });
    await admin.createRule(other.agent.id, { tool: 'search', scope: 'query' });
    const client = new OakAuth({ apiKey: other.api_key, ...worker.endpoint });
    assert.equal((await attempt(client, { tool: 'search', scope: 'query' })).ran, true);
    const updated = await admin.updateAgent(other.agent.id, { enabled: false });
    assert.equal(updated.enabled, false);
    const { ran, error } = await attempt(client, { tool: 'search', scope: 'query' });
    assert.equal(ran, false);
    assert.equal(error.reason, 'agent_disabled');
    assert.equal(error.decision.rate_limit, null);
  });
});

describe('the audit log', () => {
  it('shows each decision of this suite with its reasoning, newest first', async () => {
    const page = await admin.listLogs({ agent_id: agent.id, limit: 200 });
    assert.equal(page.next_cursor, null);
    const byId = new Map(page.logs.map((e) => [e.decision_id, e]));
    for (const [what, id] of decisions) assert.ok(byId.has(id), `no log entry for ${what} (${id})`);

    const read = byId.get(decisions.get('read'));
    assert.equal(read.allowed, true);
    assert.equal(read.reason, 'allowed');
    assert.equal(read.tool, 'filesystem');
    assert.equal(read.scope, 'read');
    assert.equal(read.reasoning, 'list the files the user asked about');
    assert.deepEqual(read.context, { path: '/srv' });

    const deleteReal = byId.get(decisions.get('delete-real'));
    assert.equal(deleteReal.reasoning, 'the user asked to clear /tmp/cache');
    assert.equal(deleteReal.reasoning_provided, true);
    assert.equal(deleteReal.reasoning_required, 'hard');

    const deleteNone = byId.get(decisions.get('delete-none'));
    assert.equal(deleteNone.allowed, false);
    assert.equal(deleteNone.reason, 'reasoning_required');
    assert.equal(deleteNone.reasoning, null);

    assert.equal(byId.get(decisions.get('delete-blank')).reasoning_provided, false);
    assert.equal(byId.get(decisions.get('write')).reason, 'reasoning_missing_soft');
    assert.equal(byId.get(decisions.get('chmod')).reason, 'scope_not_granted');
    assert.equal(byId.get(decisions.get('shell')).reason, 'unknown_tool');

    const times = page.logs.map((e) => e.created_at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
  });

  it('getLog returns one decision', async () => {
    const entry = await admin.getLog(decisions.get('delete-real'));
    assert.equal(entry.decision_id, decisions.get('delete-real'));
    assert.equal(entry.agent_id, agent.id);
    assert.ok(entry.request_id);
  });

  it('filters by allowed and reason', async () => {
    const denied = await admin.listLogs({ agent_id: agent.id, allowed: false, limit: 200 });
    assert.ok(denied.logs.length >= 4);
    assert.ok(denied.logs.every((e) => e.allowed === false));
    const hard = await admin.listLogs({ agent_id: agent.id, reason: 'reasoning_required' });
    assert.ok(hard.logs.every((e) => e.reason === 'reasoning_required'));
    const ids = hard.logs.map((e) => e.decision_id);
    assert.ok(ids.includes(decisions.get('delete-none')) && ids.includes(decisions.get('delete-blank')));
    assert.ok(!ids.includes(decisions.get('delete-real')));
  });

  it('logs() walks every page and yields the same entries as one big page', async () => {
    const all = await admin.listLogs({ agent_id: agent.id, limit: 200 });
    const walked = [];
    for await (const entry of admin.logs({ agent_id: agent.id, limit: 2 })) walked.push(entry.decision_id);
    assert.ok(walked.length > 2, 'more than one page');
    assert.deepEqual(walked, all.logs.map((e) => e.decision_id));
  });

  it('secrets in the context are redacted before they are stored', async () => {
    const decision = await oak().validate({ tool: 'filesystem', scope: 'read', context: { path: '/etc', password: 'hunter2hunter2' } });
    const entry = await admin.getLog(decision.decision_id);
    assert.equal(entry.context.path, '/etc');
    assert.equal(entry.context.password, '[REDACTED]');
  });

  it('stats count the decisions', async () => {
    // Rows reach D1 in the background; an agent's log page first writes what its object holds.
    await admin.listLogs({ agent_id: agent.id, limit: 1 });
    const stats = await admin.stats();
    assert.ok(stats.total >= decisions.size);
    assert.equal(stats.total, stats.allowed + stats.denied);
    assert.ok((stats.denials_by_reason.reasoning_required ?? 0) >= 2);
    assert.ok(stats.top_tools.some((t) => t.tool === 'filesystem'));
  });
});

describe('administering agents, tools and rules', () => {
  it('me() names the organization of the key', async () => {
    const me = await admin.me();
    assert.match(me.organization.id, /^org_/);
    assert.ok(me.key_prefix.startsWith('oakadm_'));
  });

  it('lists agents page by page, oldest first', async () => {
    const first = await admin.listAgents({ limit: 1 });
    assert.equal(first.agents.length, 1);
    assert.equal(first.agents[0].id, agent.id);
    assert.equal(typeof first.next_cursor, 'string');
    const second = await admin.listAgents({ limit: 1, cursor: first.next_cursor });
    assert.notEqual(second.agents[0].id, agent.id);
  });

  it('an id is one path segment: it cannot reach another route', async () => {
    const counted = countingFetch();
    const client = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint, fetch: counted });
    await assert.rejects(client.getAgent(`${agent.id}/tools`), OakAuthNotFoundError);
    await assert.rejects(client.getAgent('..'), TypeError);
    assert.equal(counted.urls.length, 1, 'a dot segment is refused before anything is sent');
  });

  it('logs() fetches no further page once the loop stops', async () => {
    const counted = countingFetch();
    const client = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint, fetch: counted });
    for await (const entry of client.logs({ agent_id: agent.id, limit: 1 })) {
      assert.equal(entry.agent_id, agent.id);
      break;
    }
    assert.equal(counted.urls.length, 1);
  });

  it('a duplicate agent name is a conflict', async () => {
    await assert.rejects(admin.createAgent({ name: 'sdk-ts-agent' }), OakAuthConflictError);
  });

  it('tools and rules: get, update, delete, and the effect on decisions', async () => {
    const created = await admin.createAgent({ name: 'sdk-ts-crud' });
    const id = created.agent.id;
    const client = new OakAuth({ apiKey: created.api_key, ...worker.endpoint });
    const tool = await admin.createTool(id, { name: 'db', scopes: ['select', 'drop'], risk_level: 'destructive' });
    assert.deepEqual(await admin.getTool(id, tool.id), tool);
    assert.equal((await admin.listTools(id)).tools.length, 1);

    const rule = await admin.createRule(id, { tool: 'db', scope: 'drop' });
    assert.equal(rule.require_reasoning, 'hard', 'default from a destructive tool');
    assert.equal(rule.tool_id, tool.id);
    assert.deepEqual(await admin.getRule(id, rule.id), rule);
    assert.equal((await attempt(client, { tool: 'db', scope: 'drop' })).error.reason, 'reasoning_required');

    const softened = await admin.updateRule(id, rule.id, { require_reasoning: 'none' });
    assert.equal(softened.require_reasoning, 'none');
    assert.equal((await attempt(client, { tool: 'db', scope: 'drop' })).ran, true);
    assert.equal((await admin.listRules(id)).rules.length, 1);

    assert.equal(await admin.deleteRule(id, rule.id), undefined);
    assert.equal((await attempt(client, { tool: 'db', scope: 'drop' })).error.reason, 'scope_not_granted');
    await assert.rejects(admin.getRule(id, rule.id), OakAuthNotFoundError);

    const renamed = await admin.updateTool(id, tool.id, { description: 'the database', scopes: ['select'] });
    assert.equal(renamed.description, 'the database');
    assert.deepEqual(renamed.scopes, ['select']);
    await admin.deleteTool(id, tool.id);
    assert.equal((await attempt(client, { tool: 'db', scope: 'select' })).error.reason, 'unknown_tool');

    await admin.deleteAgent(id);
    await assert.rejects(admin.getAgent(id), OakAuthNotFoundError);
    const gone = await attempt(client, { tool: 'db', scope: 'select' });
    assert.equal(gone.ran, false);
    assert.ok(gone.error instanceof OakAuthAuthenticationError);
  });

  it('rotating a key without overlap revokes the old one at once', async () => {
    const created = await admin.createAgent({ name: 'sdk-ts-rotate' });
    await admin.createTool(created.agent.id, { name: 'search', scopes: ['query'], risk_level: 'read' });
    await admin.createRule(created.agent.id, { tool: 'search', scope: 'query' });
    const rotated = await admin.rotateAgentKey(created.agent.id, { overlap_seconds: 0 });
    assert.notEqual(rotated.api_key, created.api_key);
    const before = await attempt(new OakAuth({ apiKey: created.api_key, ...worker.endpoint }), { tool: 'search', scope: 'query' });
    assert.ok(before.error instanceof OakAuthAuthenticationError);
    assert.equal((await attempt(new OakAuth({ apiKey: rotated.api_key, ...worker.endpoint }), { tool: 'search', scope: 'query' })).ran, true);
  });

  it('rotating with an overlap keeps the old key working and says until when', async () => {
    const created = await admin.createAgent({ name: 'sdk-ts-overlap' });
    await admin.createTool(created.agent.id, { name: 'search', scopes: ['query'], risk_level: 'read' });
    await admin.createRule(created.agent.id, { tool: 'search', scope: 'query' });
    const rotated = await admin.rotateAgentKey(created.agent.id);
    assert.ok(Date.parse(rotated.previous_key_expires_at) > Date.now());
    assert.equal((await attempt(new OakAuth({ apiKey: created.api_key, ...worker.endpoint }), { tool: 'search', scope: 'query' })).ran, true);
  });

  it("another organization's admin key gets 404 for this organization's agent", async () => {
    const other = new OakAuthAdmin({ adminKey: worker.otherAdminKey, ...worker.endpoint });
    const err = await other.getAgent(agent.id).catch((e) => e);
    assert.ok(err instanceof OakAuthNotFoundError);
    assert.equal(err.code, 'not_found');
    assert.equal((await other.listLogs({ agent_id: agent.id })).logs.length, 0);
  });

  it('an agent key on the admin API is refused with 403', async () => {
    const wrong = new OakAuthAdmin({ adminKey: agent.key, ...worker.endpoint });
    const err = await wrong.me().catch((e) => e);
    assert.ok(err instanceof OakAuthAuthenticationError);
    assert.equal(err.status, 403);
  });
});

describe('admin events', () => {
  it('record every admin change, newest first, with who made it and what was set', async () => {
    const me = await admin.me();
    const created = await admin.createAgent({ name: 'sdk-ts-events' });
    const id = created.agent.id;
    const tool = await admin.createTool(id, { name: 'crm', scopes: ['read', 'write'], risk_level: 'write' });
    await admin.updateTool(id, tool.id, { description: 'customers' });
    const rule = await admin.createRule(id, { tool: 'crm', scope: 'write' });
    await admin.updateRule(id, rule.id, { require_reasoning: 'hard' });
    await admin.updateAgent(id, { enabled: false });
    await admin.updateAgent(id, { enabled: true });
    await admin.updateAgent(id, { rate_limit: { capacity: 9, refill_per_second: 1 } });
    await admin.rotateAgentKey(id, { overlap_seconds: 0 });
    await admin.deleteRule(id, rule.id);
    await admin.deleteTool(id, tool.id);
    await admin.deleteAgent(id);

    const expected = [
      ['agent.delete', id],
      ['tool.delete', tool.id],
      ['rule.delete', rule.id],
      ['agent.rotate_key', id],
      ['agent.update', id],
      ['agent.enable', id],
      ['agent.disable', id],
      ['rule.update', rule.id],
      ['rule.create', rule.id],
      ['tool.update', tool.id],
      ['tool.create', tool.id],
      ['agent.create', id],
    ];
    // The agent is deleted, and its events are still there, filtered by its id.
    const page = await admin.listEvents({ agent_id: id });
    assert.equal(page.next_cursor, null);
    assert.deepEqual(page.events.map((e) => [e.action, e.target_id]), expected);
    for (const e of page.events) {
      assert.equal(e.actor, me.key_prefix);
      assert.equal(e.agent_id, id);
      assert.match(e.id, /^evt_/);
      assert.match(e.request_id, /^req_/);
      assert.ok(!Number.isNaN(Date.parse(e.created_at)));
    }
    for (let i = 1; i < page.events.length; i++) assert.ok(page.events[i - 1].created_at >= page.events[i].created_at, 'newest first');
    const detail = (action) => page.events.find((e) => e.action === action).detail;
    assert.equal(detail('rule.update').require_reasoning, 'hard');
    assert.equal(detail('agent.update').rate_limit.capacity, 9);
    assert.equal(detail('agent.create').key_prefix, created.agent.key_prefix);
    assert.ok(!JSON.stringify(page.events).includes(created.api_key), 'no key in the events');

    // Small pages: the cursor leads on, and events() walks them to the same list.
    const first = await admin.listEvents({ agent_id: id, limit: 5 });
    assert.equal(first.events.length, 5);
    assert.equal(typeof first.next_cursor, 'string');
    const second = await admin.listEvents({ agent_id: id, limit: 5, cursor: first.next_cursor });
    assert.deepEqual(second.events[0], page.events[5]);
    const walked = [];
    for await (const e of admin.events({ agent_id: id, limit: 5 })) walked.push(e);
    assert.deepEqual(walked, page.events);

    // Unfiltered, the newest events are these; another organization sees none of them.
    const recent = await admin.listEvents({ limit: 12 });
    assert.deepEqual(recent.events.map((e) => e.id), page.events.map((e) => e.id));
    const other = new OakAuthAdmin({ adminKey: worker.otherAdminKey, ...worker.endpoint });
    assert.deepEqual((await other.listEvents({ agent_id: id })).events, []);
  });

  it('a malformed cursor is a validation error', async () => {
    const err = await admin.listEvents({ cursor: 'not-a-cursor' }).catch((e) => e);
    assert.ok(err instanceof OakAuthValidationError, err?.name);
    assert.equal(err.status, 400);
  });
});

// Last in the file: it tampers with the database, after which the organization's log no longer verifies.
describe('audit-chain verification', () => {
  it('is intact on an untouched log, and names the row someone rewrote in the database', async () => {
    const created = await admin.createAgent({ name: 'sdk-ts-chain' });
    const id = created.agent.id;
    await admin.createTool(id, { name: 'files', scopes: ['read', 'delete'], risk_level: 'destructive' });
    await admin.createRule(id, { tool: 'files', scope: 'read', require_reasoning: 'none' });
    await admin.createRule(id, { tool: 'files', scope: 'delete', require_reasoning: 'hard' });
    const client = new OakAuth({ apiKey: created.api_key, ...worker.endpoint });
    const asked = [];
    for (const [scope, reasoning] of [['read'], ['delete'], ['delete', 'the user asked to remove it'], ['read']]) {
      asked.push(await client.validate({ tool: 'files', scope, reasoning }));
    }
    const denied = asked[1];
    assert.equal(denied.reason, 'reasoning_required');

    const intact = await admin.verifyAudit({ agent_id: id });
    assert.deepEqual(intact, {
      ok: true,
      agents: [{ agent_id: id, ok: true, rows_checked: 4, head_seq: 4, broken: null, breaks: [], breaks_omitted: 0 }],
      next_cursor: null,
    });
    // Every agent of the organization, page by page: all intact so far, ours and the suite's main agent among them.
    const all = await admin.verifyAuditAll({ limit: 1 });
    assert.equal(all.ok, true, JSON.stringify(all));
    const ids = all.agents.map((a) => a.agent_id);
    assert.ok(ids.includes(id) && ids.includes(agent.id), ids.join());
    assert.ok(all.agents.find((a) => a.agent_id === agent.id).rows_checked > 0);
    await assert.rejects(admin.verifyAudit({ agent_id: 'agt_doesnotexist' }), OakAuthNotFoundError);
    const other = new OakAuthAdmin({ adminKey: worker.otherAdminKey, ...worker.endpoint });
    await assert.rejects(other.verifyAudit({ agent_id: id }), OakAuthNotFoundError);

    // Someone turns the deny into an allow directly in the database.
    await worker.forgeAllow(denied.decision_id);
    const forged = await admin.getLog(denied.decision_id);
    assert.equal(forged.allowed, true, 'the edit took');
    assert.equal(forged.reason, 'allowed');

    const report = await admin.verifyAudit({ agent_id: id });
    assert.equal(report.ok, false);
    assert.equal(report.agents.length, 1);
    const [chain] = report.agents;
    assert.equal(chain.ok, false);
    assert.equal(chain.rows_checked, 4, 'every row is read, past the break');
    assert.equal(chain.breaks.length, 1, 'one edited row is one break');
    assert.equal(chain.head_seq, 4);
    assert.equal(chain.broken.chain_seq, 2);
    assert.equal(chain.broken.decision_id, denied.decision_id);
    assert.match(chain.broken.problem, /modified/);

    // The organization-wide report is no longer ok, and only this agent's chain is broken.
    const after = await admin.verifyAudit();
    assert.equal(after.ok, false);
    assert.deepEqual(after.agents.filter((a) => !a.ok).map((a) => a.agent_id), [id]);
  });
});

describe('failing closed', () => {
  it('when the service cannot reach its database, guard() gets an unavailable deny, asks once and does not run the action', async () => {
    const created = await admin.createAgent({ name: 'sdk-ts-outage' });
    await admin.createTool(created.agent.id, { name: 'filesystem', scopes: ['read'], risk_level: 'read' });
    await admin.createRule(created.agent.id, { tool: 'filesystem', scope: 'read' });
    const counted = countingFetch();
    const client = new OakAuth({ apiKey: created.api_key, ...worker.endpoint, fetch: counted });
    // The key has never been used, so finding its agent needs the table that is now gone.
    await worker.d1('ALTER TABLE agent_keys RENAME TO agent_keys_away');
    let outcome;
    try {
      outcome = await attempt(client, { tool: 'filesystem', scope: 'read' });
    } finally {
      await worker.d1('ALTER TABLE agent_keys_away RENAME TO agent_keys');
    }
    assert.equal(outcome.ran, false);
    assert.ok(outcome.error instanceof OakAuthDeniedError, String(outcome.error));
    assert.equal(outcome.error.reason, 'unavailable');
    assert.match(outcome.error.decisionId, /^dec_/);
    assert.equal(counted.urls.length, 1, 'a deny is not retried');
    const recovered = await attempt(client, { tool: 'filesystem', scope: 'read' });
    assert.equal(recovered.ran, true, 'the same call runs once the database is back');
  });
});
