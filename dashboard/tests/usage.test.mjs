// End-to-end (issue 20): the usage page. A Free organization (1 agent, 1,000 validations a month) whose one
// agent made 800 real validate calls: the page shows each quota's use with its progress bar, the month's
// days and the agent, and the 80% banner; the validations banner is above every page, loaded once per
// navigation; creating a second agent answers 402 plan_limit, shown with a link to the usage page; past
// 1,000 the banner says validations are denied with quota_exceeded. The steps build on each other, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clearArtifacts, launchBrowser, loadSdk, startDashboard, startWorker, stepper } from './support/harness.mjs';

let worker;
let dashboard;
let browser;
let page;
let admin;
let org;
const agent = { name: 'quota-bot', id: '', key: '' };
/** Every `GET /v1/admin/usage` the page sent, in order. */
const usageRequests = [];

const step = stepper(it, () => page);
const main = () => page.locator('main');
const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });
const quota = (name) => page.getByTestId(`quota-${name}`);
const banner = (name) => page.getByTestId(`banner-${name}`);

/** `n` validate calls with the agent's key, 8 at a time; resolves to the HTTP statuses and reasons seen. */
async function validateMany(n) {
  const seen = [];
  let next = 0;
  const one = async () => {
    while (next < n) {
      next++;
      const r = await fetch(`${worker.baseUrl}/v1/validate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tool: 'crm', scope: 'read', reasoning: 'Look up the customer who wrote in.' }),
      });
      const text = await r.text();
      let reason;
      try {
        reason = JSON.parse(text).reason;
      } catch {
        // Kept in what the assertions compare, so a failure shows what the worker answered.
        reason = `(not JSON: ${text.slice(0, 200)})`;
      }
      seen.push(`${r.status} ${reason}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
  return seen;
}

/** Waits until the usage counts `used` validations: they are counted from the audit log, which lags by up to a second. */
async function usageAt(used) {
  let u;
  for (let i = 0; i < 100; i++) {
    u = await admin.usage();
    if (u.quotas.validations.used === used) return u;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`usage did not reach ${used} validations within 10 s: ${JSON.stringify(u.quotas)}`);
}

describe('usage page', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    await clearArtifacts();
    const [started, loaded] = await Promise.allSettled([startWorker(), loadSdk()]);
    worker = started.value;
    const sdk = loaded.value;
    for (const r of [started, loaded]) if (r.status === 'rejected') throw r.reason;
    org = await worker.createOrganization('Usage Co', { plan: 'free' });
    admin = new sdk.OakAuthAdmin({ adminKey: org.adminKey, ...worker.endpoint });
    const created = await admin.createAgent({ name: agent.name, rate_limit: { capacity: 2000, refill_per_second: 1000 } });
    agent.id = created.agent.id;
    agent.key = created.api_key;
    await admin.createTool(agent.id, { name: 'crm', scopes: ['read'], risk_level: 'read' });
    await admin.createRule(agent.id, { tool: 'crm', scope: 'read', effect: 'allow' });

    dashboard = await startDashboard(worker.baseUrl);
    browser = await launchBrowser();
    // Numbers and dates as the assertions write them.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    page.on('request', (req) => {
      if (req.method() === 'GET' && new URL(req.url()).pathname === '/v1/admin/usage') usageRequests.push(Date.now());
    });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
  });

  step('800 validations of a Free organization are counted', async () => {
    const seen = await validateMany(800);
    assert.deepEqual([...new Set(seen)], ['200 allowed']);
    const u = await usageAt(800);
    assert.equal(u.plan, 'free');
    assert.deepEqual(u.quotas.validations, { used: 800, limit: 1000 });
    assert.deepEqual(u.by_agent, [{ agent_id: agent.id, name: agent.name, validations: 800 }]);
  });

  step('the usage page shows each quota, the days of the month and the agent', async () => {
    const u = await admin.usage();
    await page.goto(dashboard.url);
    await page.getByLabel('Admin key').fill(org.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Overview').waitFor();
    await nav('Usage').click();
    await heading('Usage').waitFor();

    assert.equal(await page.getByTestId('plan-name').textContent(), 'Free');
    await page.getByTestId('billing-status').getByText('No subscription').waitFor();
    assert.equal(await quota('validations').textContent(), '800 / 1,000');
    assert.equal(await quota('agents').textContent(), '1 / 1');
    assert.equal(await quota('members').textContent(), `${u.quotas.members.used} / 3`);
    assert.equal(await quota('webhook_endpoints').textContent(), '0 / 1');

    // Each bar is a progressbar named by its label, with its numbers for assistive technology.
    const bar = page.getByRole('progressbar', { name: 'Validations this month' });
    assert.equal(await bar.getAttribute('aria-valuenow'), '800');
    assert.equal(await bar.getAttribute('aria-valuemax'), '1000');
    assert.equal(await bar.getAttribute('aria-valuetext'), '800 of 1,000 (80%)');
    assert.equal(await page.getByRole('progressbar', { name: 'Agents' }).getAttribute('aria-valuenow'), '1');

    // The period: the current UTC month, and when it resets.
    const now = new Date();
    const month = now.toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const reset = nextMonth.toLocaleString('en-US', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
    await page.getByTestId('period').getByText(`${month} (UTC): validations reset on ${reset} UTC`).waitFor();

    // Every day of the month, zero where there was no use; the days with use as the API counted them.
    const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
    await page.getByText('Show as a table').click();
    const rows = await page.getByTestId('daily-table').locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    assert.equal(rows.length, daysInMonth);
    const used = Object.fromEntries(u.by_day.map((d) => [d.date, String(d.validations)]));
    for (const [date, n] of rows) assert.equal(n, used[date] ?? '0', date);
    assert.equal(rows.reduce((sum, [, n]) => sum + Number(n.replace(/,/g, '')), 0), 800);
    assert.match(await page.getByTestId('daily-chart').getAttribute('aria-label'), /800 in total/);

    const agentRows = await page.getByTestId('usage-by-agent').locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    assert.deepEqual(agentRows, [[agent.name, '800', '100%']]);
  });

  step('at 80% of the validations a warning banner says so, and the agent limit is reached', async () => {
    const validations = banner('validations');
    await validations.waitFor();
    assert.equal(await validations.getAttribute('data-level'), 'warn');
    assert.equal(await validations.getAttribute('role'), 'status');
    const text = await validations.textContent();
    assert.match(text, /^You have used 80% of your Free plan's 1,000 validations this month \(800 so far\)\./);
    assert.match(text, /validate calls are denied with quota_exceeded until /);
    // This worker has no Stripe configuration: no billing controls, and the banner says who can change the plan.
    assert.match(text, /Billing is not set up on this OakAuth/);
    assert.equal(await page.getByRole('button', { name: 'Upgrade to Pro' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Manage billing' }).count(), 0);
    assert.match(await banner('agents').textContent(), /^You have reached your Free plan's limit of 1 agent: adding another is refused \(plan_limit\)\./);
    // Members and webhook endpoints are below 80%: no banner.
    assert.equal(await banner('webhook_endpoints').count(), 0);
  });

  step('the validations banner is above every page, loaded once per page shown', async () => {
    await nav('Agents').click();
    await heading('Agents').waitFor();
    await banner('validations').getByText("You have used 80% of your Free plan's 1,000 validations").waitFor();
    // Only the validations quota is shown outside the usage page.
    assert.equal(await banner('agents').count(), 0);
    const before = usageRequests.length;
    await nav('Logs').click();
    await heading('Logs').waitFor();
    await banner('validations').waitFor();
    await page.waitForTimeout(3000);
    assert.equal(usageRequests.length, before + 1, 'one usage request for one navigation, none while the page stays');
  });

  step('a second agent is refused with the plan limit, linked to the usage page', async () => {
    await nav('Agents').click();
    await heading('Agents').waitFor();
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('second-bot');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const alert = main().getByRole('alert').filter({ hasText: 'Plan limit reached: ' });
    await alert.waitFor();
    assert.match(await alert.textContent(), /^Plan limit reached: the Free plan allows 1 agent/);
    assert.equal((await admin.listAgents()).agents.length, 1);
    await alert.getByRole('link', { name: 'See your plan and usage' }).click();
    await heading('Usage').waitFor();
  });

  step('at 1,000 validations the banner says they are denied with quota_exceeded until the reset', async () => {
    const seen = await validateMany(201);
    assert.equal(seen.filter((s) => s === '200 allowed').length, 200);
    assert.deepEqual(
      seen.filter((s) => s !== '200 allowed'),
      ['429 quota_exceeded'],
    );
    await usageAt(1000);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('[data-testid="quota-validations"]', { hasText: '1,000 / 1,000' }).waitFor();
    const validations = banner('validations');
    assert.equal(await validations.getAttribute('data-level'), 'full');
    assert.equal(await validations.getAttribute('role'), 'alert');
    assert.match(
      await validations.textContent(),
      /^You have used all of your Free plan's 1,000 validations this month: validate calls are denied with quota_exceeded until .+ UTC\./,
    );
    await nav('Overview').click();
    await heading('Overview').waitFor();
    await banner('validations').getByText('validate calls are denied with quota_exceeded').waitFor();
  });

  step('coming back from Stripe Checkout shows what happened', async () => {
    await page.goto(`${dashboard.url}#/usage?checkout=cancelled`);
    await heading('Usage').waitFor();
    await page.getByTestId('checkout-notice').getByText('Checkout was cancelled: nothing was charged').waitFor();
    await page.goto(`${dashboard.url}#/usage?checkout=success`);
    await page.getByTestId('checkout-notice').getByText('Thank you: your subscription has started.').waitFor();
  });
});
