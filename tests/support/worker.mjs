// Starts the real OakAuth worker in local workerd (wrangler dev) with its own local D1 and
// Durable Object state, applies the migrations, and seeds two organizations with admin keys.
// The one launcher of a test worker: the end-to-end tests of the worker, the TypeScript SDK's and
// the dashboard's tests import startWorker; the Rust SDK's tests and the schemathesis run start it
// through serve.mjs, its command-line face.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
// Test-only hash secret; the dev server's own secret lives in .dev.vars.
export const TEST_KEY_HASH_SECRET = 'test-only-key-hash-secret-0123456789';
// Test-only receipt signing key (kid `test-1`; format in docs/receipts.md, "Keys").
export const TEST_RECEIPT_KEYS = 'test-1:1O8gdASXYvOlPwAhsxaGP_-ttRZvCSmixqeHOECsbsw';
// The local dashboard's origins, allowed by CORS in tests and local development only (the same
// value scripts/dev-vars.sh writes into .dev.vars); wrangler.toml's production default allows none.
export const LOCAL_CORS_ORIGINS = 'http://127.0.0.1:8788,http://localhost:8788';

const baseEnv = () => ({
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CI: 'true',
  OAKAUTH_SKIP_BUILD: '1',
  NO_COLOR: '1',
});

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Builds the worker unless build/ is newer than every source (scripts/build-worker.sh decides). */
async function ensureBuilt() {
  await run('bash', [join(ROOT, 'scripts', 'build-worker.sh')], { cwd: ROOT, env: { ...process.env, OAKAUTH_SKIP_BUILD: '1' }, maxBuffer: 64 << 20 });
}

async function wrangler(args, persistDir) {
  return run(WRANGLER, [...args, '--persist-to', persistDir], { cwd: ROOT, env: baseEnv(), maxBuffer: 64 << 20 });
}

/**
 * Runs SQL against the local D1 database of a state directory. Retried: when the running worker
 * holds the database's write lock for a moment, and when wrangler's local runtime fails to start
 * under load (it then reports only the internal assertion `false == true`, before running any SQL).
 */
export async function d1(persistDir, sql) {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--json', '--command', sql], persistDir);
      return JSON.parse(stdout);
    } catch (e) {
      const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
      if (attempt < 5 && /SQLITE_BUSY|database is locked|"false == true"/.test(output)) {
        await new Promise((r) => setTimeout(r, 200 * attempt));
        continue;
      }
      throw new Error(`d1 failed: ${output}`);
    }
  }
}

/** Runs oakauth-keygen: an organization on `plan` (the shared test organizations are Enterprise, without limits). */
async function keygen(orgName, { plan = 'enterprise', limits = {} } = {}) {
  const args = ['--org-name', orgName, '--plan', plan];
  for (const [name, n] of Object.entries(limits)) args.push('--limit', `${name}=${n}`);
  const { stdout } = await run('cargo', ['run', '--quiet', '-p', 'oakauth', '--bin', 'oakauth-keygen', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, KEY_HASH_SECRET: TEST_KEY_HASH_SECRET },
  });
  return JSON.parse(stdout);
}

async function waitForHealth(baseUrl, child, logs, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early (${child.exitCode}):\n${logs.join('')}`);
    try {
      const r = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`worker did not answer /health within ${timeoutMs} ms:\n${logs.join('')}`);
}

/**
 * Starts a worker. Options: `persistDir` (reuse a state directory; default a fresh temp dir that
 * `stop()` deletes), `port`, `vars` (extra `--var` values, over the test secret, the test routes and
 * CORS for the local dashboard), `seed` (default true), `logLevel` (wrangler's `--log-level`, default `warn`;
 * `log` also collects the worker's `console.log` output, its structured request lines, into `logs`).
 * Returns { baseUrl, endpoint, port, persistDir, adminKey, otherAdminKey, orgId, otherOrgId, logs, d1,
 * createOrganization, forgeAllow, stop, restart }.
 */
export async function startWorker(options = {}) {
  await ensureBuilt();
  const ownDir = !options.persistDir;
  const persistDir = options.persistDir ?? (await mkdtemp(join(tmpdir(), 'oakauth-test-')));
  let port = options.port ?? (await freePort());
  let baseUrl = `http://127.0.0.1:${port}`;
  const vars = {
    KEY_HASH_SECRET: TEST_KEY_HASH_SECRET,
    RECEIPT_KEYS: TEST_RECEIPT_KEYS,
    OAKAUTH_TEST_ROUTES: '1',
    CORS_ORIGINS: LOCAL_CORS_ORIGINS,
    // Webhook receivers in tests listen on http://127.0.0.1.
    WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
    ...(options.vars ?? {}),
  };

  const seeded = {};
  if (options.seed !== false) {
    await wrangler(['d1', 'migrations', 'apply', 'DB', '--local'], persistDir);
    const [a, b] = await Promise.all([keygen('Test Org A'), keygen('Test Org B')]);
    await d1(persistDir, a.sql + ' ' + b.sql);
    Object.assign(seeded, { adminKey: a.admin_key, orgId: a.organization_id, otherAdminKey: b.admin_key, otherOrgId: b.organization_id });
  }

  const logs = [];
  let child;
  const launch = async () => {
    const inspector = await freePort();
    const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
      '--persist-to', persistDir, '--show-interactive-dev-session=false', '--log-level', options.logLevel ?? 'warn'];
    for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
    child = spawn(WRANGLER, args, { cwd: ROOT, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.on('data', (d) => logs.push(d.toString()));
    child.stderr.on('data', (d) => logs.push(d.toString()));
    try {
      await waitForHealth(baseUrl, child, logs);
    } catch (e) {
      // A server that never came up must not outlive the test run.
      await kill('SIGKILL');
      throw e;
    }
  };
  const kill = async (signal = 'SIGTERM') => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    try { process.kill(-child.pid, signal); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  };
  // Starting can fail for reasons outside the test: a free port taken by another process before
  // wrangler binds it (other suites start servers too; then another port, unless the caller asked
  // for this one), or wrangler's file watcher restarting the build while the runtime starts (it
  // then reports only "The Workers runtime failed to start"). Both are retried, twice at most.
  const launchRetrying = async ({ newPortAllowed }) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        return;
      } catch (e) {
        const message = String(e?.message);
        const portTaken = /Address already in use/.test(message);
        const runtimeFailed = /The Workers runtime failed to start/.test(message);
        if (attempt >= 3 || !(runtimeFailed || (portTaken && newPortAllowed))) throw e;
        if (portTaken) {
          port = await freePort();
          baseUrl = `http://127.0.0.1:${port}`;
        }
        logs.length = 0;
      }
    }
  };
  await launchRetrying({ newPortAllowed: !options.port });

  return {
    baseUrl,
    /** The SDK client options that reach this worker: its base URL, plain http to loopback allowed. */
    endpoint: { baseUrl, allowInsecureLoopback: true },
    port,
    persistDir,
    logs,
    ...seeded,
    /** Runs SQL against this worker's local D1 behind the service's back; resolves to wrangler's JSON answer. */
    d1: (sql) => d1(persistDir, sql),
    /**
     * Creates another organization with an owner's admin key, on `plan` (`free`, `pro`, `enterprise`;
     * `limits` are an Enterprise organization's own, e.g. `{validations_per_month: 50}`).
     * Resolves to { orgId, adminKey }.
     */
    async createOrganization(name, { plan = 'free', limits = {} } = {}) {
      const made = await keygen(name, { plan, limits });
      await d1(persistDir, made.sql);
      return { orgId: made.organization_id, adminKey: made.admin_key };
    },
    /**
     * Rewrites one denied decision's audit row into an allow, as someone covering their tracks in the
     * database would (dropping the trigger that refuses updates first).
     */
    async forgeAllow(decisionId) {
      if (!/^dec_[A-Za-z0-9]+$/.test(decisionId)) throw new Error(`not a decision id: ${decisionId}`);
      const answer = await d1(
        persistDir,
        'DROP TRIGGER IF EXISTS audit_log_no_update; ' +
          `UPDATE audit_log SET allowed = 1, reason = 'allowed' WHERE decision_id = '${decisionId}' AND allowed = 0; ` +
          `SELECT allowed, reason FROM audit_log WHERE decision_id = '${decisionId}'`,
      );
      // One answer per statement; the last is the row as it now reads.
      const row = answer.at(-1)?.results?.[0];
      if (row?.allowed !== 1 || row?.reason !== 'allowed') throw new Error(`the row was not rewritten: ${JSON.stringify(answer)}`);
    },
    /**
     * Stops the server (SIGKILL with `{hard: true}`) and starts it again on the same state;
     * `whileStopped` runs in between (to damage the state as a fault would).
     */
    async restart({ hard = false, whileStopped } = {}) {
      await kill(hard ? 'SIGKILL' : 'SIGTERM');
      await whileStopped?.();
      await launchRetrying({ newPortAllowed: false });
    },
    async stop() {
      await kill();
      if (ownDir) await rm(persistDir, { recursive: true, force: true });
    },
  };
}
