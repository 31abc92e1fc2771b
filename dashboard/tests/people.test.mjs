// End-to-end (issue 19, "Done when"): people in the dashboard. A newcomer signs in through the local
// OpenID provider's own login page (tests/support/oidc.mjs, panva's oidc-provider) and gets a personal
// organization, invites a second person as a viewer, who opens the link in another browser context,
// signs in, accepts and sees the agents without any control that changes them (and the API refuses
// a write made with their session), and the Activity page names who did what. The steps build on
// each other, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../tests/support/worker.mjs';
import { startOidcProvider } from '../../tests/support/oidc.mjs';
import { DASHBOARD_PORT, clearArtifacts, launchBrowser, startDashboard, startWorker, stepper, takeSecretOnce } from './support/harness.mjs';

let op;
let worker;
let dashboard;
let browser;
const alice = { context: undefined, page: undefined };
const bob = { context: undefined, page: undefined };
let current;
let invitationLink = '';
const cspViolations = [];

const step = stepper(it, () => current);
const heading = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

async function newPerson(who) {
  who.context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await who.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dashboard.url });
  who.context.setDefaultTimeout(30_000);
  who.page = await who.context.newPage();
  who.page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  who.page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  current = who.page;
}

/** The identity provider's own login page: e-mail address, display name, "Sign in". */
async function providerLogin(page, email, name) {
  await page.getByLabel('Email').waitFor();
  assert.equal(new URL(page.url()).origin, op.issuer, 'the login page is the provider’s');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('people in the dashboard', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    await clearArtifacts();
    // The provider must know the worker's callback before either starts: pick the worker's port first.
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    op = await startOidcProvider({ redirectUris: [`${api}/v1/auth/callback`] });
    worker = await startWorker({
      port,
      vars: {
        OIDC_ISSUER: op.issuer,
        OIDC_CLIENT_ID: op.clientId,
        OIDC_CLIENT_SECRET: op.clientSecret,
        SIGNUP: 'open',
        PUBLIC_URL: api,
        DASHBOARD_URL: `http://127.0.0.1:${DASHBOARD_PORT}`,
      },
    });
    dashboard = await startDashboard(worker.baseUrl);
    browser = await launchBrowser();
    await newPerson(alice);
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
    await op?.close();
  });

  step('says why a sign-in failed, in words', async () => {
    const page = alice.page;
    await page.goto(`${dashboard.url}#sign_in_error=signup_closed`);
    await page.getByRole('alert').getByText('This OakAuth lets in invited people only.').waitFor();
    assert.ok(!page.url().includes('sign_in_error'), 'the error is taken out of the address');
    // The admin key stays an option.
    await page.getByRole('button', { name: 'Use an admin key instead' }).click();
    await page.getByLabel('Admin key').waitFor();
  });

  step('a newcomer signs in through the identity provider and gets a personal organization', async () => {
    const page = alice.page;
    await page.goto(dashboard.url);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await providerLogin(page, 'alice@example.com', 'Alice');
    await heading(page, 'Overview').waitFor();
    assert.equal(new URL(page.url()).origin, new URL(dashboard.url).origin, 'back on the dashboard');
    await page.getByTestId('person-name').getByText('Alice', { exact: true }).waitFor();
    await page.getByText("Alice's organization", { exact: true }).waitFor();
    // The session is an HttpOnly cookie of the API: nothing of it in the page's storage or address.
    const seen = await page.evaluate(() => ({ cookie: document.cookie, session: Object.values(sessionStorage).join(' '), href: location.href }));
    assert.ok(!/oak_session|oaks_/.test(`${seen.cookie} ${seen.session} ${seen.href}`), JSON.stringify(seen));
    // An owner sees every page, and a reload keeps the session.
    for (const name of ['Agents', 'Webhooks', 'Members', 'Invitations', 'API keys']) await nav(page, name).waitFor();
    await page.reload();
    await page.getByTestId('person-name').getByText('Alice', { exact: true }).waitFor();
  });

  step('the owner creates an agent', async () => {
    const page = alice.page;
    await nav(page, 'Agents').click();
    await page.getByRole('button', { name: 'Create your first agent' }).click();
    await page.getByLabel('Name').fill('billing-bot');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await takeSecretOnce(page, { testId: 'new-api-key', noun: 'key', pattern: /^oak_[A-Za-z0-9]+$/ });
    await page.getByTestId('agents-table').getByRole('link', { name: 'billing-bot' }).waitFor();
  });

  step('invites bob@example.com as a viewer and copies the link, shown once', async () => {
    const page = alice.page;
    await nav(page, 'Invitations').click();
    await heading(page, 'Invitations').waitFor();
    await page.getByLabel('E-mail address').fill('bob@example.com');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    invitationLink = await takeSecretOnce(page, {
      testId: 'invitation-link',
      noun: 'link',
      pattern: new RegExp(`^${dashboard.url.replace(/\/$/, '').replace(/[.]/g, '\\.')}/#/invitations/oaki_[A-Za-z0-9]+$`),
    });
    const row = page.getByTestId('invitations-table').getByRole('row').filter({ hasText: 'bob@example.com' });
    await row.getByText('pending').waitFor();
    await row.getByText('viewer').waitFor();
  });

  step('bob opens the link in another browser, signs in and accepts', async () => {
    await newPerson(bob);
    const page = bob.page;
    await page.goto(invitationLink);
    const card = page.getByTestId('invitation-page');
    await card.getByText("Alice's organization").waitFor();
    await card.getByText('bob@example.com', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign in to accept' }).click();
    await providerLogin(page, 'bob@example.com', 'Bob');
    // Back on the invitation's page, signed in as Bob.
    await page.getByTestId('invitation-page').waitFor();
    const accept = page.getByRole('button', { name: 'Accept', exact: true });
    const open = page.getByRole('button', { name: "Open Alice's organization" });
    await accept.or(open).waitFor();
    // A first sign-in with an invitation may already have joined; then the page says so and opens it.
    await ((await accept.isVisible()) ? accept : open).click();
    await heading(page, 'Overview').waitFor();
    await page.getByTestId('person-name').getByText('Bob', { exact: true }).waitFor();
    await page.getByText("Alice's organization", { exact: true }).waitFor();
  });

  step('bob, a viewer, sees the agents but no control that changes anything', async () => {
    const page = bob.page;
    for (const name of ['Webhooks', 'Invitations', 'API keys']) assert.equal(await nav(page, name).count(), 0, `no ${name} for a viewer`);
    await nav(page, 'Agents').click();
    await heading(page, 'Agents').waitFor();
    await page.getByTestId('agents-table').getByRole('link', { name: 'billing-bot' }).click();
    await heading(page, 'billing-bot').waitFor();
    await page.getByText('Only admins and owners change agents.').waitFor();
    for (const name of ['New agent', 'Disable agent', 'Rotate key', 'Delete agent…', 'Save settings', 'Add tool', 'Add rule']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no "${name}" button for a viewer`);
    }
    await nav(page, 'Members').click();
    const members = page.getByTestId('members-table');
    await members.getByText('alice@example.com').waitFor();
    await members.getByText('bob@example.com').waitFor();
    assert.equal(await members.getByRole('combobox').count(), 0, 'no role changes for a viewer');
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0);
  });

  step('a write with bob’s session is refused by the API: 403 forbidden', async () => {
    const answer = await bob.page.evaluate(async (api) => {
      const info = await (await fetch(`${api}/v1/auth/session`, { credentials: 'include' })).json();
      const org = info.organizations[0].id;
      const r = await fetch(`${api}/v1/admin/agents`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': info.csrf_token, 'OakAuth-Organization': org },
        body: JSON.stringify({ name: 'sneaky-bot' }),
      });
      return { status: r.status, body: await r.json() };
    }, worker.baseUrl);
    assert.equal(answer.status, 403, JSON.stringify(answer));
    assert.equal(answer.body.error.code, 'forbidden');
  });

  step('Activity, as Alice, names who invited and who joined', async () => {
    current = alice.page;
    const page = alice.page;
    await nav(page, 'Activity').click();
    await heading(page, 'Activity').waitFor();
    const list = page.getByTestId('event-list');
    const invited = list.locator('li[data-action="invitation.create"]');
    await invited.getByTestId('event-actor').getByText('Alice (alice@example.com)').waitFor();
    await invited.getByText('bob@example.com').first().waitFor();
    const joined = list.locator('li[data-action="member.join"]');
    await joined.getByTestId('event-actor').getByText('Bob (bob@example.com)').waitFor();
    const created = list.locator('li[data-action="agent.create"]');
    await created.getByTestId('event-actor').getByText('Alice (alice@example.com)').waitFor();
  });

  step('signing out ends the session at the API', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
    const status = await page.evaluate(async (api) => (await fetch(`${api}/v1/auth/session`, { credentials: 'include' })).status, worker.baseUrl);
    assert.equal(status, 401);
    assert.deepEqual(cspViolations, []);
  });
});
