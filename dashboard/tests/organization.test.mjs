// End-to-end: the organization page, against the real worker. The owner (the seeded organization's owner
// admin key) reads the settings, renames the organization and requires a second factor (after the page warns
// what that does), and the API and the header agree; a name the API refuses shows the API's reason and
// changes nothing; a viewer (an admin key with the viewer role) reads the same settings with no control that
// changes them; the page fits a phone screen; the owner turns the requirement off again. The steps build on
// each other, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, clearArtifacts, launchBrowser, startDashboard, startWorker, stepper } from './support/harness.mjs';

let worker;
let dashboard;
let browser;
let admin;
let ownerPage;
let viewerPage;
let viewerKey = '';
/** The page a failing step screenshots. */
let current;

const step = stepper(it, () => current);
const heading = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const button = (page, name) => page.getByRole('button', { name, exact: true });

/** The organization's settings as the API answers them. */
async function settings() {
  const res = await admin('GET', '/v1/admin/organization');
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function signIn(page, key, role) {
  await page.goto(dashboard.url);
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Overview').waitFor();
  // The role is known (the controls depend on it) once the header shows it.
  await page.getByText(`key, ${role}`, { exact: true }).waitFor();
  await nav(page, 'Organization').click();
  await heading(page, 'Organization').waitFor();
  await page.getByTestId('organization-settings').waitFor();
}

describe('organization page', { timeout: 5 * 60_000 }, () => {
  before(async () => {
    await clearArtifacts();
    worker = await startWorker();
    admin = apiClient(worker.baseUrl, worker.adminKey);
    const made = await admin('POST', '/v1/admin/keys', { name: 'reader', role: 'viewer' });
    assert.equal(made.status, 201, made.text);
    viewerKey = made.body.secret;

    dashboard = await startDashboard(worker.baseUrl);
    browser = await launchBrowser();
    // Two contexts: two browsers' worth of sessionStorage, the owner's and the viewer's.
    const open = async (who) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
      context.setDefaultTimeout(30_000);
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error(`${who} page error: ${err.message}`));
      return page;
    };
    ownerPage = await open('owner');
    viewerPage = await open('viewer');
    current = ownerPage;
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop();
  });

  step('the owner reads the settings and gets the form', async () => {
    current = ownerPage;
    const page = ownerPage;
    const org = await settings();
    assert.equal(org.require_mfa, false);
    await signIn(page, worker.adminKey, 'owner');
    assert.equal(await page.getByTestId('organization-name').textContent(), org.name);
    assert.equal(await page.getByTestId('organization-id').textContent(), worker.orgId);
    assert.equal(await page.getByTestId('organization-mfa').textContent(), 'Not required');
    await page.getByText('a second factor is not checked').waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), org.name);
    assert.equal(await page.getByLabel('Require a second factor at sign-in').isChecked(), false);
    assert.equal(await page.getByLabel('Require a second factor at sign-in').isDisabled(), false, 'an admin key may require it');
    assert.equal(await page.getByTestId('mfa-warning').count(), 0);
  });

  step('a name the API refuses shows its reason and changes nothing', async () => {
    const page = ownerPage;
    const before = await settings();
    await page.getByLabel('Name', { exact: true }).fill('Bell\u0007Co');
    await button(page, 'Save settings').click();
    const alert = page.locator('main').getByRole('alert');
    await alert.getByText('without control characters').waitFor();
    assert.deepEqual(await settings(), before);
    // An empty name never reaches the API.
    await page.getByLabel('Name', { exact: true }).fill('   ');
    await button(page, 'Save settings').click();
    await alert.getByText('The name cannot be empty.').waitFor();
    assert.deepEqual(await settings(), before);
  });

  step('the owner renames the organization and requires a second factor, after a warning', async () => {
    const page = ownerPage;
    await page.getByLabel('Name', { exact: true }).fill('  Renamed Co  ');
    await page.getByLabel('Require a second factor at sign-in').check();
    const warning = page.getByTestId('mfa-warning');
    await warning.waitFor();
    assert.match(await warning.textContent(), /a sign-in without a second factor is\s+refused/);
    assert.match(await warning.textContent(), /refused from their next request/);
    await button(page, 'Save settings').click();
    await page.getByRole('status').getByText('Saved: members must now sign in with a second factor.').waitFor();

    const org = await settings();
    assert.equal(org.name, 'Renamed Co');
    assert.equal(org.require_mfa, true);
    assert.equal(org.id, worker.orgId);

    await page.getByTestId('organization-name').getByText('Renamed Co', { exact: true }).waitFor();
    assert.equal(await page.getByTestId('organization-mfa').textContent(), 'Required');
    await page.getByText('refuses a sign-in without one').waitFor();
    assert.equal(await page.getByTestId('mfa-warning').count(), 0, 'the warning is for turning it on');
    // The header shows the new name (it reads the organization again after a rename).
    await page.locator('header .org').getByText('Renamed Co', { exact: true }).waitFor();
    // A reload reads the same from the API.
    await page.reload();
    await page.getByTestId('organization-name').getByText('Renamed Co', { exact: true }).waitFor();
    assert.equal(await page.getByLabel('Require a second factor at sign-in').isChecked(), true);
  });

  step('a viewer reads the settings with no control that changes them', async () => {
    current = viewerPage;
    const page = viewerPage;
    await signIn(page, viewerKey, 'viewer');
    assert.equal(await page.getByTestId('organization-name').textContent(), 'Renamed Co');
    assert.equal(await page.getByTestId('organization-id').textContent(), worker.orgId);
    assert.equal(await page.getByTestId('organization-mfa').textContent(), 'Required');
    await page.getByText('Only owners change these settings.').waitFor();
    assert.equal(await page.locator('main').locator('form, input, select, textarea').count(), 0);
    assert.equal(await button(page, 'Save settings').count(), 0);
    assert.equal(await page.locator('header .org').textContent(), 'Renamed Co');
  });

  step('the page fits a phone screen', async () => {
    current = ownerPage;
    const page = ownerPage;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('organization-settings').waitFor();
    const seen = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(seen.scroll <= seen.width, `no sideways scrolling: ${JSON.stringify(seen)}`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  step('the owner turns the requirement off again', async () => {
    current = ownerPage;
    const page = ownerPage;
    await page.getByLabel('Require a second factor at sign-in').uncheck();
    await button(page, 'Save settings').click();
    await page.getByRole('status').getByText('Saved: a second factor is no longer required.').waitFor();
    const org = await settings();
    assert.equal(org.name, 'Renamed Co');
    assert.equal(org.require_mfa, false);
    assert.equal(await page.getByTestId('organization-mfa').textContent(), 'Not required');
  });
});
