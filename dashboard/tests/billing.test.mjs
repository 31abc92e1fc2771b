// End-to-end (issue 20): billing from the usage page, against the real worker configured with Stripe. A local
// HTTP recorder on 127.0.0.1 stands in for Stripe's API (the only fake, at the network boundary, as in
// tests/e2e/billing.test.mjs): it records the Checkout and Portal session requests the worker sends and answers
// with session URLs as Stripe does. The worker takes only https session URLs, so those are Stripe's own hosts:
// the browser's navigation to them is intercepted (playwright's route) and answered with a small stand-in page,
// and every other request that would leave 127.0.0.1 is refused, so nothing leaves the machine. The webhook
// event is signed with the official `stripe` package (stripe.webhooks.generateTestHeaderString; from the
// repository's root node_modules, like the rest of tests/support). An owner of a Free organization upgrades
// through Checkout; a viewer sees no billing control; once Stripe reports the Pro subscription the owner
// manages it in the Portal. The steps build on each other, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { startStripeRecorder } from '../../tests/support/stripe.mjs';
import { DASHBOARD_PORT, apiClient, clearArtifacts, launchBrowser, startDashboard, startWorker, stepper } from './support/harness.mjs';

// Only the webhook test helper of the library is used; no request ever reaches Stripe.
const stripe = new Stripe('sk_test_not_used_by_the_helper');
const SECRET_KEY = 'sk_test_oakauth_dashboard_0123456789abcdef';
const WEBHOOK_SECRET = 'whsec_oakauth_dashboard_billing_0123456789';
const PRICE_PRO = 'price_test_pro_dashboard';
const CHECKOUT_URL = 'https://checkout.stripe.com/c/pay/cs_test_dashboard_1';
const PORTAL_URL = 'https://billing.stripe.com/p/session/test_dashboard_1';
// The dashboard is served on the one port the test worker's CORS allows; Stripe sends the browser back there.
const DASHBOARD_URL = `http://127.0.0.1:${DASHBOARD_PORT}`;

let recorder;
let worker;
let dashboard;
let browser;
let org;
let ownerPage;
let viewerPage;
let viewerKey = '';
/** The page a failing step screenshots. */
let current;
/** Every request the worker sent the Stripe API recorder. */
let recorded = [];
/** Every page load of Stripe's hosted pages the browsers asked for (answered by the stand-in). */
const stripePages = [];
/** Every other request that would have left 127.0.0.1 (refused). */
const refused = [];

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Keeps a browser context on 127.0.0.1: Stripe's hosted pages are answered by a stand-in whose one link goes
 * where the worker asked Stripe to send the browser back (success_url, return_url); anything else is refused.
 */
async function stayLocal(context) {
  const formOf = (path) => new URLSearchParams(recorded.findLast((r) => r.method === 'POST' && r.path === path)?.body ?? '');
  const standIn = (title, back, label) =>
    `<!doctype html><title>${title}</title><h1>${title}</h1><a href="${escapeHtml(back ?? '')}">${label}</a>`;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).hostname === '127.0.0.1') return route.continue();
    if (url === CHECKOUT_URL || url === PORTAL_URL) {
      stripePages.push(url);
      const body =
        url === CHECKOUT_URL
          ? standIn('Checkout stand-in', formOf('/v1/checkout/sessions').get('success_url'), 'Pay and return')
          : standIn('Portal stand-in', formOf('/v1/billing_portal/sessions').get('return_url'), 'Return to OakAuth');
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body });
    }
    refused.push(url);
    return route.abort('blockedbyclient');
  });
}

/** Posts a Stripe event to the worker's webhook, signed by the stripe library with the worker's secret. */
async function deliver(type, object) {
  const event = {
    id: `evt_test_dashboard_${Date.now()}`,
    object: 'event',
    api_version: '2025-01-27.acacia',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object },
  };
  const payload = JSON.stringify(event);
  const res = await fetch(`${worker.baseUrl}/v1/billing/stripe/webhook`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Stripe-Signature': stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
    },
    body: payload,
  });
  return { status: res.status, text: await res.text() };
}

const step = stepper(it, () => current);
const heading = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });
const button = (page, name) => page.getByRole('button', { name, exact: true });

async function signIn(page, key, role) {
  await page.goto(dashboard.url);
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Overview').waitFor();
  // The role is known (the billing controls depend on it) once the header shows it.
  await page.getByText(`key, ${role}`, { exact: true }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage', exact: true }).click();
  await heading(page, 'Usage').waitFor();
}

describe('billing on the usage page', { timeout: 5 * 60_000 }, () => {
  before(async () => {
    await clearArtifacts();
    recorder = await startStripeRecorder({ checkoutUrl: CHECKOUT_URL, portalUrl: PORTAL_URL });
    recorded = recorder.recorded;
    worker = await startWorker({
      vars: {
        STRIPE_SECRET_KEY: SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: recorder.url,
        STRIPE_PRICE_PRO: PRICE_PRO,
        DASHBOARD_URL,
      },
    });
    org = await worker.createOrganization('Billing Co', { plan: 'free' });
    const made = await apiClient(worker.baseUrl, org.adminKey)('POST', '/v1/admin/keys', { name: 'reader', role: 'viewer' });
    assert.equal(made.status, 201, made.text);
    viewerKey = made.body.secret;

    dashboard = await startDashboard(worker.baseUrl);
    assert.equal(dashboard.url, DASHBOARD_URL);
    browser = await launchBrowser();
    // Two contexts: two browsers' worth of sessionStorage, the owner's and the viewer's.
    const open = async (who) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
      context.setDefaultTimeout(30_000);
      await stayLocal(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error(`${who} page error: ${err.message}`));
      return page;
    };
    ownerPage = await open('owner');
    viewerPage = await open('viewer');
    current = ownerPage;
  });

  after(async () => {
    if (process.env.OAK_DEBUG) console.log(worker?.logs.join(''));
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
    recorder?.close();
  });

  step('the owner of a Free organization sees "Upgrade to Pro"', async () => {
    current = ownerPage;
    const page = ownerPage;
    await signIn(page, org.adminKey, 'owner');
    assert.equal(await page.getByTestId('plan-name').textContent(), 'Free');
    assert.equal(await page.getByTestId('billing-status').textContent(), 'No subscription');
    await button(page, 'Upgrade to Pro').waitFor();
    assert.equal(await button(page, 'Manage billing').count(), 0, 'nothing to manage without a subscription');
    await page.getByText("Payment happens on Stripe's pages").waitFor();
    assert.equal(recorded.length, 0, 'showing the page asks Stripe nothing');
  });

  step('a viewer sees the plan and no billing control', async () => {
    current = viewerPage;
    const page = viewerPage;
    await signIn(page, viewerKey, 'viewer');
    assert.equal(await page.getByTestId('plan-name').textContent(), 'Free');
    assert.equal(await page.getByTestId('billing-status').textContent(), 'No subscription');
    assert.equal(await button(page, 'Upgrade to Pro').count(), 0);
    assert.equal(await button(page, 'Manage billing').count(), 0);
    assert.equal(await page.getByText("Payment happens on Stripe's pages").count(), 0);
  });

  step('"Upgrade to Pro" has the worker open a Checkout session and takes the browser to its URL', async () => {
    current = ownerPage;
    const page = ownerPage;
    await button(page, 'Upgrade to Pro').click();
    await page.waitForURL(CHECKOUT_URL);
    await heading(page, 'Checkout stand-in').waitFor();
    assert.deepEqual(stripePages, [CHECKOUT_URL]);

    assert.equal(recorded.length, 1, 'one request to Stripe');
    const [sent] = recorded;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1/checkout/sessions');
    assert.equal(sent.headers.authorization, `Bearer ${SECRET_KEY}`);
    assert.deepEqual([...new URLSearchParams(sent.body)], [
      ['mode', 'subscription'],
      ['line_items[0][price]', PRICE_PRO],
      ['line_items[0][quantity]', '1'],
      ['client_reference_id', org.orgId],
      ['metadata[org_id]', org.orgId],
      ['subscription_data[metadata][org_id]', org.orgId],
      ['success_url', `${DASHBOARD_URL}/#/usage?checkout=success`],
      ['cancel_url', `${DASHBOARD_URL}/#/usage?checkout=cancelled`],
    ]);
  });

  step("Stripe's way back after paying is the usage page, signed in, with its notice", async () => {
    const page = ownerPage;
    await page.getByRole('link', { name: 'Pay and return' }).click();
    await page.waitForURL(`${DASHBOARD_URL}/#/usage?checkout=success`);
    await heading(page, 'Usage').waitFor();
    await page.getByTestId('checkout-notice').getByText('Thank you: your subscription has started.').waitFor();
    // Until Stripe's event arrives the plan has not changed.
    assert.equal(await page.getByTestId('plan-name').textContent(), 'Free');
    await button(page, 'Upgrade to Pro').waitFor();
  });

  step('after a signed customer.subscription.created for Pro the page shows Pro and "Manage billing"', async () => {
    const page = ownerPage;
    const delivered = await deliver('customer.subscription.created', {
      id: 'sub_test_dashboard_1',
      object: 'subscription',
      customer: 'cus_test_dashboard_1',
      status: 'active',
      metadata: { org_id: org.orgId },
      items: { object: 'list', data: [{ id: 'si_1', object: 'subscription_item', price: { id: PRICE_PRO, object: 'price' } }] },
    });
    assert.equal(delivered.status, 200, delivered.text);
    assert.deepEqual(JSON.parse(delivered.text), { received: true });

    await button(page, 'Refresh').click();
    await page.locator('[data-testid="plan-name"]', { hasText: 'Pro' }).waitFor();
    assert.equal(await page.getByTestId('billing-status').textContent(), 'Subscription active');
    await button(page, 'Manage billing').waitFor();
    assert.equal(await button(page, 'Upgrade to Pro').count(), 0, 'no second subscription');
    // Pro's limits.
    assert.equal(await page.getByTestId('quota-validations').textContent(), '0 / 100,000');
    assert.equal(await page.getByTestId('quota-agents').textContent(), '0 / 10');
  });

  step('"Manage billing" opens the Portal session Stripe answered, for the subscription\'s customer', async () => {
    const page = ownerPage;
    recorded.length = 0;
    await button(page, 'Manage billing').click();
    await page.waitForURL(PORTAL_URL);
    await heading(page, 'Portal stand-in').waitFor();
    assert.deepEqual(stripePages, [CHECKOUT_URL, PORTAL_URL]);

    assert.equal(recorded.length, 1, 'one request to Stripe');
    const [sent] = recorded;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1/billing_portal/sessions');
    assert.equal(sent.headers.authorization, `Bearer ${SECRET_KEY}`);
    assert.deepEqual([...new URLSearchParams(sent.body)], [
      ['customer', 'cus_test_dashboard_1'],
      ['return_url', `${DASHBOARD_URL}/#/usage`],
    ]);

    await page.getByRole('link', { name: 'Return to OakAuth' }).click();
    await page.waitForURL(`${DASHBOARD_URL}/#/usage`);
    await page.locator('[data-testid="plan-name"]', { hasText: 'Pro' }).waitFor();
  });

  step('the viewer sees the Pro plan and still no billing control', async () => {
    current = viewerPage;
    const page = viewerPage;
    await button(page, 'Refresh').click();
    await page.locator('[data-testid="plan-name"]', { hasText: 'Pro' }).waitFor();
    assert.equal(await page.getByTestId('billing-status').textContent(), 'Subscription active');
    assert.equal(await button(page, 'Manage billing').count(), 0);
    assert.equal(await button(page, 'Upgrade to Pro').count(), 0);
    assert.deepEqual(refused, [], 'no browser request left 127.0.0.1 but those to the Stripe pages');
  });
});
