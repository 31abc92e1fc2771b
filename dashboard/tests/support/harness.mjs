// Everything the dashboard's browser tests run against: the real worker (started by the repository's
// tests/support/serve.mjs with fresh state), the dashboard built for that worker's URL and served at
// 127.0.0.1:8788 (the origin the worker's local CORS_ORIGINS allows), Debian's chromium driven by
// playwright-core, and the TypeScript SDK.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { startStaticServer } from '../../scripts/serve.mjs';

export const DASHBOARD = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(DASHBOARD, '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
export const DASHBOARD_PORT = Number(process.env.DASHBOARD_PORT ?? 8788);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts a seeded worker; resolves once it printed its address and keys. */
export async function startWorker({ timeoutMs = 600_000 } = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'tests', 'support', 'serve.mjs')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(String(d)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start in ${timeoutMs} ms:\n${stderr.join('')}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`unexpected output from tests/support/serve.mjs: ${line}\n${stderr.join('')}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tests/support/serve.mjs exited (${code}) before starting:\n${stderr.join('')}`));
    });
  });
  return {
    baseUrl: info.base_url,
    adminKey: info.admin_key,
    otherAdminKey: info.other_admin_key,
    /** The worker's local state directory (D1 and Durable Objects). */
    persistDir: info.persist_dir,
    async stop() {
      if (child.exitCode !== null) return;
      child.stdin.end(); // serve.mjs stops the worker and deletes its state when stdin closes
      const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Rewrites one denied decision's audit-log row into an allow directly in the worker's local D1, as someone
 * covering their tracks in the database would (dropping the trigger that refuses updates first).
 */
export async function forgeAllow(worker, decisionId) {
  if (!/^dec_[A-Za-z0-9]+$/.test(decisionId)) throw new Error(`not a decision id: ${decisionId}`);
  if (!worker.persistDir) throw new Error('tests/support/serve.mjs did not say where its state is (persist_dir)');
  const sql =
    'DROP TRIGGER IF EXISTS audit_log_no_update; ' +
    `UPDATE audit_log SET allowed = 1, reason = 'allowed' WHERE decision_id = '${decisionId}' AND allowed = 0; ` +
    `SELECT allowed, reason FROM audit_log WHERE decision_id = '${decisionId}'`;
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'wrangler'),
      ['d1', 'execute', 'DB', '--local', '--json', '--persist-to', worker.persistDir, '--command', sql],
      { cwd: ROOT, env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' }, maxBuffer: 64 << 20 },
    ));
  } catch (e) {
    throw new Error(`wrangler d1 execute failed: ${e.stdout ?? ''}${e.stderr ?? e.message}`.trim());
  }
  const row = JSON.parse(stdout).at(-1)?.results?.[0];
  if (row?.allowed !== 1 || row?.reason !== 'allowed') throw new Error(`the row was not rewritten: ${stdout}`);
}

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

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}
