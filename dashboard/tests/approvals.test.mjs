// End-to-end: approvals and webhooks (issue 15) in the built dashboard, in headless Chromium against the real
// worker. The steps share one browser page and build on each other, in order. Agents, tools and rules are made
// through the admin API; the agent's calls go to POST /v1/validate with its key, every answer checked against
// docs/openapi.yaml.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { apiClient, launchBrowser, startDashboard, startWorker, stepper, takeSecretOnce } from './support/harness.mjs';

let worker;
let dashboard;
let browser;
let context;
let page;
let admin;
let me;
const bot = { name: 'payments-bot', id: '', key: '', rule: '' };
const receiver = { server: undefined, url: '', requests: [] };
const webhook = { id: '', secret: '' };
const REASONING = 'Paying invoice 42 for ACME, as the user asked.';
const ARGS = { amount: 900, currency: 'EUR', to: 'ACME GmbH' };

const step = stepper(it, () => page);
const main = () => page.locator('main');
const navLink = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });
const card = (approvalId) => page.locator(`li[data-approval-id="${approvalId}"]`);
const badge = () => page.getByRole('navigation', { name: 'Main' }).getByTestId('pending-count');

/** `POST /v1/validate` with the agent's key; resolves to the decision. */
async function validate(body) {
  const res = await apiClient(worker.baseUrl, bot.key)('POST', '/v1/validate', body);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

/** A call of payments · send with these arguments, as the agent makes it. */
const pay = (args) => validate({ tool: 'payments', scope: 'send', reasoning: REASONING, arguments: args });

async function ok(promise, status = 200) {
  const res = await promise;
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  return res.body;
}

describe('approvals and webhooks in a browser', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    // The test worker sets WEBHOOK_ALLOW_HTTP_LOOPBACK, so an endpoint may name the local receiver below.
    worker = await startWorker();
    dashboard = await startDashboard(worker.baseUrl);
    admin = apiClient(worker.baseUrl, worker.adminKey);
    me = await ok(admin('GET', '/v1/admin/me'));
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dashboard.url });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));

    receiver.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        receiver.requests.push({ url: req.url, headers: req.headers, body });
        // `/gone` is a receiver that has been taken down for good.
        res.writeHead(req.url === '/gone' ? 410 : 200).end();
      });
    });
    await new Promise((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${receiver.server.address().port}/hook`;

    // An agent whose payments need a person's approval, made through the admin API.
    const created = await ok(admin('POST', '/v1/admin/agents', { name: bot.name }), 201);
    bot.id = created.agent.id;
    bot.key = created.api_key;
    await ok(admin('POST', `/v1/admin/agents/${bot.id}/tools`, { name: 'payments', scopes: ['send', 'refund'], risk_level: 'write' }), 201);
    const rule = await ok(
      admin('POST', `/v1/admin/agents/${bot.id}/rules`, {
        tool: 'payments',
        scope: 'send',
        effect: 'require_approval',
        require_reasoning: 'soft',
        approval_expiry_seconds: 900,
      }),
      201,
    );
    bot.rule = rule.id;
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
    await new Promise((resolve) => (receiver.server ? receiver.server.close(resolve) : resolve()));
  });

  step('a pending approval appears in the inbox, is approved, and the agent’s retry is allowed', async () => {
    await page.goto(dashboard.url);
    await page.getByLabel('Admin key').fill(worker.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Overview').waitFor();
    assert.equal(await badge().count(), 0, 'no badge while nothing is pending');

    const asked = await pay(ARGS);
    assert.equal(asked.allowed, false);
    assert.equal(asked.reason, 'approval_required');
    assert.equal(asked.approval.status, 'pending');
    assert.match(asked.approval.id, /^apr_/);
    const again = await pay(ARGS);
    assert.equal(again.approval.id, asked.approval.id, 'the same call while pending is the same approval');

    await navLink(/^Approvals/).click();
    await heading('Approvals').waitFor();
    assert.equal(await badge().textContent(), '1');
    await page.getByRole('link', { name: 'Pending (1)' }).waitFor();
    const pending = card(asked.approval.id);
    await pending.getByTestId('approval-agent').getByText(bot.name).waitFor();
    assert.equal(await pending.getByTestId('approval-tool').textContent(), 'payments');
    assert.equal(await pending.getByTestId('approval-scope').textContent(), 'send');
    assert.equal(await pending.getByTestId('approval-reasoning').textContent(), REASONING);
    assert.deepEqual(JSON.parse(await pending.getByTestId('approval-arguments').textContent()), ARGS);
    assert.match(await pending.getByTestId('approval-expiry').textContent(), /^Expires in 1[45]m/);
    await pending.getByText('Details').click();
    await pending.getByText(bot.rule, { exact: true }).waitFor();
    await pending.getByRole('link', { name: asked.decision_id }).waitFor();

    // Nothing is allowed before a person decides.
    assert.equal((await pay(ARGS)).reason, 'approval_required');

    await pending.getByLabel('Comment (optional)').fill('OK for this invoice');
    await pending.getByRole('button', { name: 'Approve' }).click();
    await page.getByTestId('decision-outcome').getByText(`Approved payments · send for ${bot.name}.`).waitFor();
    await pending.waitFor({ state: 'detached' });
    await main().getByText('Nothing waits for a decision.').waitFor();
    await badge().waitFor({ state: 'detached' });

    const stored = await ok(admin('GET', `/v1/admin/approvals/${asked.approval.id}`));
    assert.equal(stored.status, 'approved');
    assert.equal(stored.decided_by, me.key_prefix);
    assert.equal(stored.comment, 'OK for this invoice');

    // The agent's identical retry is allowed, once.
    const retry = await pay(ARGS);
    assert.equal(retry.allowed, true);
    assert.equal(retry.reason, 'allowed');
    assert.equal(retry.approval.id, asked.approval.id);
    assert.equal(retry.approval.status, 'consumed');
    assert.equal((await pay(ARGS)).reason, 'approval_consumed');

    await page.getByRole('link', { name: 'History' }).click();
    const used = card(asked.approval.id);
    await used.getByTestId('approval-status').getByText('Used').waitFor();
    const outcome = used.getByTestId('approval-outcome');
    await outcome.getByText(`${me.key_prefix}…`).waitFor();
    await outcome.getByRole('link', { name: retry.decision_id }).waitFor();
    assert.equal(await used.getByTestId('approval-comment').textContent(), 'OK for this invoice');
  });

  step('a denial with a comment shows in the history, and the agent gets the comment', async () => {
    const big = { ...ARGS, amount: 50_000 };
    const asked = await pay(big);
    assert.equal(asked.reason, 'approval_required');
    await page.getByRole('link', { name: /^Pending/ }).click();
    const pending = card(asked.approval.id);
    await pending.waitFor();
    await badge().getByText('1', { exact: true }).waitFor();
    await pending.getByLabel('Comment (optional)').fill('Too large: ask finance first.');
    await pending.getByRole('button', { name: 'Deny' }).click();
    await page.getByTestId('decision-outcome').getByText(`Denied payments · send for ${bot.name}.`).waitFor();
    await pending.waitFor({ state: 'detached' });

    const told = await pay(big);
    assert.equal(told.allowed, false);
    assert.equal(told.reason, 'approval_denied');
    assert.equal(told.approval.comment, 'Too large: ask finance first.');

    await page.getByRole('link', { name: 'History' }).click();
    await page.getByLabel('Status').selectOption('denied');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/status=denied/);
    const denied = card(asked.approval.id);
    await denied.getByTestId('approval-status').getByText('Denied').waitFor();
    await denied.getByTestId('approval-outcome').getByText(`${me.key_prefix}…`).waitFor();
    assert.equal(await denied.getByTestId('approval-comment').textContent(), 'Too large: ask finance first.');
    const shown = await page.getByTestId('approval-history').locator(':scope > li').evaluateAll((els) => els.map((e) => e.dataset.status));
    assert.deepEqual(shown, ['denied'], 'the filter keeps the denied one only');
  });

  step('a decision someone else made first is explained, and nothing changes', async () => {
    const asked = await pay({ ...ARGS, amount: 77 });
    await page.goto(`${dashboard.url}/#/approvals`);
    const pending = card(asked.approval.id);
    await pending.waitFor();
    // Another admin approves it first, through the API.
    await ok(admin('POST', `/v1/admin/approvals/${asked.approval.id}/decision`, { decision: 'approve' }));
    await pending.getByRole('button', { name: 'Deny' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Not changed' });
    await alert.getByText(`already approved by ${me.key_prefix}…`).waitFor();
    await alert.getByText('Someone else decided first.').waitFor();
    assert.equal((await ok(admin('GET', `/v1/admin/approvals/${asked.approval.id}`))).status, 'approved');
    await pending.waitFor({ state: 'detached' });

    // The approval's own page, as a notification would link to it.
    await page.goto(`${dashboard.url}/#/approvals/${asked.approval.id}`);
    await heading('Approval').waitFor();
    await card(asked.approval.id).getByTestId('approval-status').getByText('Approved').waitFor();
    assert.equal(await card(asked.approval.id).getByRole('button', { name: 'Approve' }).count(), 0);
  });

  step('the rule editor adds a require_approval rule with its expiry', async () => {
    await page.goto(`${dashboard.url}/#/agents/${bot.id}`);
    await heading(bot.name).waitFor();
    const existing = page.getByTestId('rules-table').locator(`tr[data-rule-id="${bot.rule}"]`);
    await existing.getByText('require_approval', { exact: true }).waitFor();
    await existing.getByTestId('rule-approval-expiry').getByText('expires after 15 minutes').waitFor();

    await page.getByLabel('Scope', { exact: true }).selectOption('refund');
    await page.getByLabel('Effect', { exact: true }).selectOption('require_approval');
    await page.getByLabel('Approval expiry (minutes)').fill('0');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('form[aria-labelledby="add-rule-title"]').getByRole('alert').getByText('1 to 10080').waitFor();
    await page.getByLabel('Approval expiry (minutes)').fill('60');
    await page.getByLabel('Reasoning', { exact: true }).selectOption('hard');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const row = page.getByTestId('rules-table').getByRole('row', { name: /payments refund/ });
    await row.getByTestId('rule-approval-expiry').getByText('expires after 1 hour').waitFor();
    const { rules } = await ok(admin('GET', `/v1/admin/agents/${bot.id}/rules`));
    const refund = rules.find((r) => r.scope === 'refund');
    assert.deepEqual(
      [refund.effect, refund.approval_expiry_seconds, refund.require_reasoning],
      ['require_approval', 3600, 'hard'],
    );
    const asked = await validate({ tool: 'payments', scope: 'refund', reasoning: 'Refund order 7, damaged', arguments: { order: 7 } });
    assert.equal(asked.reason, 'approval_required');
  });

  step('the webhooks page creates an endpoint and shows its secret once', async () => {
    await navLink('Webhooks').click();
    await heading('Webhooks').waitFor();
    await main().getByText('No webhook endpoints yet.').waitFor();
    await page.getByRole('button', { name: 'Add your first endpoint' }).click();

    // The API's reason for refusing a URL is shown next to the form.
    await page.getByLabel('Endpoint URL').fill('https://10.0.0.8/hook');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.locator('form[aria-labelledby="create-webhook-title"]').getByRole('alert').waitFor();
    assert.deepEqual((await ok(admin('GET', '/v1/admin/webhooks'))).webhooks, []);

    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('checkbox', { name: 'agent.changed' }).check();
    await page.getByLabel('Description (optional)').fill('on-call relay');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    webhook.secret = await takeSecretOnce(page, { testId: 'new-webhook-secret', noun: 'secret', pattern: /^whsec_[A-Za-z0-9+/=]+$/ });

    const [stored] = (await ok(admin('GET', '/v1/admin/webhooks'))).webhooks;
    webhook.id = stored.id;
    assert.equal(stored.url, receiver.url);
    assert.deepEqual(
      [...stored.event_types].sort(),
      ['agent.changed', 'approval.decided', 'approval.expired', 'approval.requested'],
    );
    assert.equal(stored.description, 'on-call relay');
    assert.ok(!JSON.stringify(stored).includes(webhook.secret), 'the API does not show the secret again');
    const row = page.getByTestId('webhooks-table').locator(`tr[data-webhook-id="${webhook.id}"]`);
    await row.getByText('Enabled').waitFor();
    await row.getByText('on-call relay').waitFor();
    await row.getByText('approval.requested').waitFor();
  });

  step('an endpoint is disabled and enabled, and its secret rotated with an overlap', async () => {
    await page.getByRole('link', { name: receiver.url }).click();
    await heading('Webhook endpoint').waitFor();
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await main().getByText('Disabled', { exact: true }).waitFor();
    assert.equal((await ok(admin('GET', `/v1/admin/webhooks/${webhook.id}`))).enabled, false);
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await main().getByText('Enabled', { exact: true }).waitFor();
    assert.equal((await ok(admin('GET', `/v1/admin/webhooks/${webhook.id}`))).enabled, true);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: "Rotate this endpoint's secret?" });
    await dialog.getByLabel('Old secret').selectOption('86400');
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const fresh = (await page.getByTestId('new-webhook-secret').textContent()).trim();
    assert.match(fresh, /^whsec_/);
    assert.notEqual(fresh, webhook.secret);
    await page.getByTestId('secret-overlap').getByText('The old secret keeps signing until').waitFor();
    const rotated = await ok(admin('GET', `/v1/admin/webhooks/${webhook.id}`));
    const until = Date.parse(rotated.secret_rotating_until);
    assert.ok(Math.abs(until - Date.now() - 86_400_000) < 120_000, `rotating until ${rotated.secret_rotating_until}`);
    await page.getByRole('button', { name: 'I have stored the secret' }).click();
    await page.getByTestId('secret-overlap').getByText('The previous secret also signs until').waitFor();
    webhook.secret = fresh;
  });

  step('the delivery log shows a delivered event, redelivers it, and explains a refused redelivery', async () => {
    const asked = await pay({ ...ARGS, amount: 12 });
    assert.equal(asked.reason, 'approval_required');
    // Delivered by the worker in the background: refresh the log until it is.
    const log = page.getByTestId('delivery-list');
    const delivered = log.locator('li[data-status="delivered"]').filter({ hasText: 'approval.requested' }).first();
    for (let i = 0; i < 30 && !(await delivered.count()); i++) {
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      await page.waitForTimeout(1000);
    }
    await delivered.waitFor();
    assert.equal(await delivered.getByTestId('delivery-attempts').textContent(), '1');
    assert.equal(await delivered.getByTestId('delivery-code').textContent(), '200');
    const messageId = await delivered.getAttribute('data-delivery-id');
    await delivered.getByText('Payload').click();
    const payload = JSON.parse(await delivered.getByTestId('delivery-payload').textContent());
    assert.equal(payload.type, 'approval.requested');
    const received = receiver.requests.filter((r) => r.headers['webhook-id'] === messageId);
    assert.equal(received.length, 1, 'the receiver got it once');
    assert.equal(JSON.parse(received[0].body).type, 'approval.requested');

    await delivered.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('Queued for delivery again.').waitFor();
    for (let i = 0; i < 30 && receiver.requests.filter((r) => r.headers['webhook-id'] === messageId).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(receiver.requests.filter((r) => r.headers['webhook-id'] === messageId).length, 2, 'redelivered with the same webhook-id');

    // A disabled endpoint refuses a redelivery: the row says so.
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await main().getByText('Disabled', { exact: true }).waitFor();
    const row = log.locator(`li[data-delivery-id="${messageId}"]`);
    await row.getByRole('button', { name: 'Redeliver' }).click();
    await row.getByRole('alert').waitFor();
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await main().getByText('Enabled', { exact: true }).waitFor();
  });

  step('an endpoint that answered 410 Gone shows why OakAuth disabled it, and enabling it clears that', async () => {
    const gone = await ok(
      admin('POST', '/v1/admin/webhooks', { url: receiver.url.replace('/hook', '/gone'), event_types: ['approval.requested'] }),
      201,
    );
    assert.equal((await pay({ ...ARGS, amount: 13 })).reason, 'approval_required');
    let stored = gone;
    for (let i = 0; i < 60 && stored.enabled; i++) {
      await new Promise((r) => setTimeout(r, 500));
      stored = await ok(admin('GET', `/v1/admin/webhooks/${gone.id}`));
    }
    assert.equal(stored.enabled, false, 'a 410 disables the endpoint');
    await page.goto(`${dashboard.url}/#/webhooks/${gone.id}`);
    await heading('Webhook endpoint').waitFor();
    const reason = page.getByTestId('disabled-reason');
    await reason.getByText('OakAuth disabled it').waitFor();
    assert.ok((await reason.textContent()).includes(stored.disabled_reason), await reason.textContent());
    await page.getByTestId('delivery-list').locator('li[data-status="failed"]').getByTestId('delivery-code').getByText('410').waitFor();
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await reason.waitFor({ state: 'detached' });
    const enabled = await ok(admin('GET', `/v1/admin/webhooks/${gone.id}`));
    assert.deepEqual([enabled.enabled, enabled.disabled_reason], [true, null]);
    await ok(admin('DELETE', `/v1/admin/webhooks/${gone.id}`), 204);
  });

  step('the approvals and webhooks pages fit a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [path, ready] of [
        ['approvals', () => page.getByTestId('approval-list').waitFor()],
        ['approvals?view=history', () => page.getByTestId('approval-history').waitFor()],
        ['webhooks', () => page.getByTestId('webhooks-table').waitFor()],
        [`webhooks/${webhook.id}`, () => page.getByTestId('delivery-list').waitFor()],
      ]) {
        await page.goto(`${dashboard.url}/#/${path}`);
        await ready();
        const { scroll, width, widest } = await page.evaluate(() => {
          const width = window.innerWidth;
          // The element that sticks out furthest, to name it when the page is too wide.
          let widest = '';
          let right = width;
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect().right;
            if (r > right) {
              right = r;
              widest = `${el.tagName.toLowerCase()}.${el.className} (${Math.round(r)}px): ${el.outerHTML.slice(0, 160)}`;
            }
          }
          return { scroll: document.documentElement.scrollWidth, width, widest };
        });
        assert.ok(scroll <= width, `${path}: page is ${scroll}px wide on a ${width}px screen; widest: ${widest}`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  step('the activity view lists the approval decisions and webhook changes', async () => {
    await page.goto(`${dashboard.url}/#/activity`);
    const list = page.getByTestId('event-list');
    await list.locator('li[data-action="approval.approve"]').first().waitFor();
    const deny = list.locator('li[data-action="approval.deny"]');
    await deny.getByText('Approval denied').waitFor();
    await deny.getByText(`${me.key_prefix}…`).waitFor();
    await list.locator('li[data-action="webhook.create"]').filter({ hasText: receiver.url }).getByText('Webhook added').waitFor();
    await list.locator('li[data-action="webhook.rotate_secret"]').waitFor();
    // A redelivery names the message; its link goes to the endpoint.
    const redelivered = list.locator('li[data-action="webhook.redeliver"]').first().getByRole('link');
    assert.equal(await redelivered.getAttribute('href'), `#/webhooks/${webhook.id}`);
    assert.ok(!(await page.content()).includes(webhook.secret), 'no secret on the page');
  });

  step('deletes the endpoint after a confirmation', async () => {
    await page.goto(`${dashboard.url}/#/webhooks/${webhook.id}`);
    await heading('Webhook endpoint').waitFor();
    await page.getByRole('button', { name: 'Delete endpoint…' }).click();
    await page.getByRole('dialog', { name: 'Delete this endpoint?' }).getByRole('button', { name: 'Delete endpoint' }).click();
    await heading('Webhooks').waitFor();
    await main().getByText('No webhook endpoints yet.').waitFor();
    assert.equal((await admin('GET', `/v1/admin/webhooks/${webhook.id}`)).status, 404);
  });
});
