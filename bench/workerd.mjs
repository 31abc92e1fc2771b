// The worker in local workerd for the benchmarks, without `wrangler dev`'s developer tooling.
//
// `wrangler dev` attaches an inspector to workerd and enables its Network domain, so every
// subrequest the worker makes (each D1 query, each Durable Object call) also sends four DevTools
// events, response body included, to wrangler's Node.js process, which writes them to its debug
// log. Production has none of that, and it costs more than the subrequest itself on this machine,
// so it would hide what the worker's own design costs. Here the same bundle that `wrangler deploy`
// uploads runs in workerd through Miniflare (the library wrangler dev itself uses), with local D1
// and SQLite-backed Durable Objects persisted in the same layout, and no inspector.
//
// The state directory is created, migrated and seeded (two organizations with admin keys) by the
// test harness's startWorker, which is then stopped before Miniflare opens the same files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { startWorker, freePort, ROOT, TEST_KEY_HASH_SECRET, TEST_RECEIPT_KEYS, LOCAL_CORS_ORIGINS } from '../tests/support/worker.mjs';

const BUNDLE = join(ROOT, 'bench', 'target', 'bundle');

/**
 * Reads and drops the runtime's stdout and stderr. The worker prints one JSON log line per request
 * (docs/observability.md); Workers Logs collects those in production, and here nobody reads them:
 * left unread, the pipe fills after a few hundred requests and the runtime blocks on its next line.
 */
function drain(stdout, stderr) {
  stdout.resume();
  stderr.resume();
}
let bundled = false;

/** Bundles the built worker as `wrangler deploy` would upload it (once per process). */
function bundle() {
  if (bundled) return;
  execFileSync(join(ROOT, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', BUNDLE], {
    cwd: ROOT,
    env: { ...process.env, OAKAUTH_SKIP_BUILD: '1', WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  bundled = true;
}

/**
 * The bindings a wrangler.toml declares, as Miniflare options, read by wrangler itself (the same
 * mapping `wrangler dev` uses): D1, Durable Objects (SQLite-backed as the migrations declare),
 * Queues (producers and consumers, so a queue added to wrangler.toml runs here too), Analytics
 * Engine datasets, and [vars]. Every Durable Object class must be SQLite-backed, like production's.
 */
function wranglerToml(file = join(ROOT, 'wrangler.toml')) {
  const { workerOptions: o } = unstable_getMiniflareWorkerOptions(file);
  if (!o.compatibilityDate) throw new Error(`${file}: no compatibility_date`);
  if (!Object.keys(o.durableObjects ?? {}).length) throw new Error(`${file}: no Durable Object bindings`);
  for (const [name, d] of Object.entries(o.durableObjects)) {
    if (d.useSQLite !== true) throw new Error(`${file}: Durable Object ${name} is not SQLite-backed (new_sqlite_classes)`);
  }
  const pick = {};
  for (const k of ['compatibilityDate', 'compatibilityFlags', 'bindings', 'd1Databases', 'durableObjects', 'queueProducers', 'queueConsumers', 'analyticsEngineDatasets']) {
    if (o[k] !== undefined) pick[k] = o[k];
  }
  return pick;
}

/** The workerd processes a Miniflare started (children of this process). */
function workerdPids() {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'workerd' && ppid === process.pid) pids.push(Number(name));
    } catch { /* gone */ }
  }
  return pids;
}

export const PRIMITIVES_DIR = join(ROOT, 'bench', 'primitives');

/**
 * Starts the primitives worker (bench/primitives: `/none`, `/rt`, `/rt_write`, `/rt_write_many`)
 * in workerd through Miniflare, like the real worker below: no inspector, SQLite-backed Durable
 * Objects persisted in a fresh directory. Its build (bench/primitives/build, by worker-build) must
 * exist. Returns { baseUrl, port, persistDir, serverPids(), stop() }; serverPids() lists the
 * workerd processes started since `before` (the pids that existed when this call began).
 */
export async function startPrimitivesWorker() {
  const build = join(PRIMITIVES_DIR, 'build');
  const before = new Set(workerdPids());
  const cfg = wranglerToml(join(PRIMITIVES_DIR, 'wrangler.toml'));
  const persistDir = mkdtempSync(join(tmpdir(), 'oakauth-bench-primitives-'));
  const port = await freePort();
  const mf = new Miniflare({
    name: 'primitives',
    host: '127.0.0.1',
    handleRuntimeStdio: drain,
    port,
    modules: true,
    scriptPath: join(build, 'index.js'),
    modulesRoot: build,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    ...cfg,
    durableObjectsPersist: join(persistDir, 'v3', 'do'),
  });
  await mf.ready;
  const baseUrl = `http://127.0.0.1:${port}`;
  for (const path of ['/none', '/rt', '/rt_write']) {
    const r = await fetch(`${baseUrl}${path}`);
    if (r.status !== 200) throw new Error(`primitives worker answered ${path} with ${r.status}`);
  }
  const many = await fetch(`${baseUrl}/rt_write_many`, { headers: { Authorization: 'Bearer a0' } });
  if (many.status !== 200) throw new Error(`primitives worker answered /rt_write_many with ${many.status}`);
  const pids = workerdPids().filter((p) => !before.has(p));
  return {
    baseUrl,
    port,
    persistDir,
    serverPids: () => pids,
    async stop() {
      await mf.dispose();
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the worker in workerd with fresh, seeded local state. Returns { baseUrl, port,
 * persistDir, adminKey, otherAdminKey, orgId, otherOrgId, quotaAdminKey (an organization with a
 * monthly validation quota), serverPids(), stop() }.
 */
export async function startBenchWorker() {
  bundle();
  const before = new Set(workerdPids());
  const persistDir = mkdtempSync(join(tmpdir(), 'oakauth-bench-'));
  const seeded = await startWorker({ persistDir });
  // An organization with a monthly validation quota (far above what a run uses), for `allowed_quota`.
  const quota = await seeded.createOrganization('Bench quota org', { plan: 'enterprise', limits: { validations_per_month: 1_000_000_000 } });
  await seeded.stop(); // leaves persistDir, migrated and seeded
  const cfg = wranglerToml();
  const port = await freePort();
  const mf = new Miniflare({
    name: 'oakauth',
    host: '127.0.0.1',
    handleRuntimeStdio: drain,
    port,
    modules: true,
    scriptPath: join(BUNDLE, 'entry.js'),
    modulesRoot: BUNDLE,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    ...cfg,
    d1Persist: join(persistDir, 'v3', 'd1'),
    durableObjectsPersist: join(persistDir, 'v3', 'do'),
    bindings: { ...cfg.bindings, KEY_HASH_SECRET: TEST_KEY_HASH_SECRET, RECEIPT_KEYS: TEST_RECEIPT_KEYS, CORS_ORIGINS: LOCAL_CORS_ORIGINS },
  });
  await mf.ready;
  const baseUrl = `http://127.0.0.1:${port}`;
  const health = await fetch(`${baseUrl}/health`);
  if (!health.ok) throw new Error(`worker under Miniflare answered /health with ${health.status}`);
  const pids = workerdPids().filter((p) => !before.has(p));
  return {
    baseUrl,
    port,
    persistDir,
    adminKey: seeded.adminKey,
    otherAdminKey: seeded.otherAdminKey,
    orgId: seeded.orgId,
    otherOrgId: seeded.otherOrgId,
    quotaAdminKey: quota.adminKey,
    /** The workerd processes this Miniflare started (children of this process). */
    serverPids: () => pids,
    /** The worker's D1 binding, from outside the worker (statements answer with D1's `meta`). */
    d1: () => mf.getD1Database('DB'),
    async stop() {
      await mf.dispose();
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
