// Everything the dashboard's browser tests run against: the real worker (started by the repository's
// tests/support/worker.mjs with fresh state), the dashboard built for that worker's URL and served at
// 127.0.0.1:8788 (the origin the worker's local CORS_ORIGINS allows), Debian's chromium driven by
// playwright-core, and the TypeScript SDK.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { startStaticServer } from '../../scripts/serve.mjs';

export const DASHBOARD = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(DASHBOARD, '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
export const DASHBOARD_PORT = Number(process.env.DASHBOARD_PORT ?? 8788);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The repository's one test-worker launcher (fresh state, two seeded organizations). */
export { startWorker } from '../../../tests/support/worker.mjs';
/**
 * The end-to-end tests' HTTP client, `client(baseUrl, key)(method, path, body?)`, which checks every
 * answer against docs/openapi.yaml: the tests' own calls to the API, which so check the contract too.
 */
export { client as apiClient } from '../../../tests/support/api.mjs';

/**
 * Builds the dashboard for the API at `apiUrl` (as `VITE_OAKAUTH_API_URL=… npm run build` does) into a
 * temporary folder and serves it; resolves to { url, close() }, close() removing the build too.
 */
export async function startDashboard(apiUrl) {
  const outDir = await mkdtemp(join(tmpdir(), 'oakauth-dashboard-'));
  const saved = process.env.VITE_OAKAUTH_API_URL;
  process.env.VITE_OAKAUTH_API_URL = apiUrl;
  try {
    await build({ root: DASHBOARD, configFile: join(DASHBOARD, 'vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  } finally {
    if (saved === undefined) delete process.env.VITE_OAKAUTH_API_URL;
    else process.env.VITE_OAKAUTH_API_URL = saved;
  }
  const server = await startStaticServer({ root: outDir, host: '127.0.0.1', port: DASHBOARD_PORT });
  return {
    url: server.url,
    async close() {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run dashboard/scripts/install-browser.sh (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * The TypeScript SDK, bundled from sdk-ts/src for Node the same way the dashboard bundles it for the browser,
 * so the tests need no separate SDK build.
 */
export async function loadSdk() {
  const entry = join(ROOT, 'sdk-ts', 'src', 'index.ts');
  const outDir = await mkdtemp(join(tmpdir(), 'oakauth-sdk-'));
  try {
    await build({
      configFile: false,
      logLevel: 'error',
      // The SDK's own dependencies (canonicalize, fast-sha256) go into the bundle: it is imported from a
      // temporary folder, where Node could not find them.
      ssr: { noExternal: true },
      build: {
        ssr: entry,
        outDir,
        emptyOutDir: true,
        target: 'node20',
        rollupOptions: { output: { format: 'es', entryFileNames: 'oakauth.mjs' } },
      },
    });
    return await import(pathToFileURL(join(outDir, 'oakauth.mjs')).href);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Empties test-artifacts/dashboard/ so that it only holds this run's failures. */
export async function clearArtifacts() {
  await rm(ARTIFACTS, { recursive: true, force: true });
}

/**
 * `step(name, fn)`: a test of the shared browser page (`getPage()`) that leaves a screenshot in
 * test-artifacts/dashboard/ when it fails (and one of each step with DASHBOARD_SCREENSHOTS set).
 */
export function stepper(it, getPage) {
  return (name, fn) =>
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        const file = await screenshot(getPage(), name);
        err.message += `\n(screenshot: ${file})`;
        throw err;
      }
      if (process.env.DASHBOARD_SCREENSHOTS) await screenshot(getPage(), `ok-${name}`);
    });
}

/**
 * A secret the page shows once (an agent key, a webhook secret, in the element `testId`): checks its form and
 * the warning, copies it with its button (the clipboard must then hold it), dismisses it, and checks that it is
 * gone from the page. Resolves to the secret.
 */
export async function takeSecretOnce(page, { testId, noun, pattern }) {
  const shown = page.getByTestId(testId);
  const secret = (await shown.textContent()).trim();
  assert.match(secret, pattern);
  await page.getByText('It is shown only once').waitFor();
  await page.getByRole('button', { name: `Copy ${noun}` }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await page.getByRole('button', { name: `I have stored the ${noun}` }).click();
  await shown.waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(secret), `the ${noun} is gone from the page`);
  return secret;
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}
