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
import { startWorker, freePort, ROOT, TEST_KEY_HASH_SECRET, LOCAL_CORS_ORIGINS } from '../tests/support/worker.mjs';

const BUNDLE = join(ROOT, 'bench', 'target', 'bundle');
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

function wranglerToml() {
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const get = (re, what) => {
    const m = text.match(re);
    if (!m) throw new Error(`wrangler.toml: no ${what}`);
    return m[1];
  };
  // Every Durable Object binding of wrangler.toml, SQLite-backed as its migrations declare them.
  const durableObjects = {};
  for (const m of text.matchAll(/\{\s*name\s*=\s*"([^"]+)"\s*,\s*class_name\s*=\s*"([^"]+)"\s*\}/g)) {
    durableObjects[m[1]] = { className: m[2], useSQLite: true };
  }
  if (!Object.keys(durableObjects).length) throw new Error('wrangler.toml: no Durable Object bindings');
  return {
    compatibilityDate: get(/^compatibility_date\s*=\s*"([^"]+)"/m, 'compatibility_date'),
    databaseId: get(/^database_id\s*=\s*"([^"]+)"/m, 'database_id'),
    durableObjects,
  };
}

/**
 * Starts the worker in workerd with fresh, seeded local state. Returns { baseUrl, port,
 * persistDir, adminKey, otherAdminKey, orgId, otherOrgId, serverPids(), stop() }.
 */
export async function startBenchWorker() {
  bundle();
  const persistDir = mkdtempSync(join(tmpdir(), 'oakauth-bench-'));
  const seeded = await startWorker({ persistDir });
  await seeded.stop(); // leaves persistDir, migrated and seeded
  const cfg = wranglerToml();
  const port = await freePort();
  const mf = new Miniflare({
    name: 'oakauth',
    host: '127.0.0.1',
    port,
    modules: true,
    scriptPath: join(BUNDLE, 'entry.js'),
    modulesRoot: BUNDLE,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: cfg.compatibilityDate,
    d1Databases: { DB: cfg.databaseId },
    durableObjects: cfg.durableObjects,
    d1Persist: join(persistDir, 'v3', 'd1'),
    durableObjectsPersist: join(persistDir, 'v3', 'do'),
    bindings: { KEY_HASH_SECRET: TEST_KEY_HASH_SECRET, CORS_ORIGINS: LOCAL_CORS_ORIGINS },
  });
  await mf.ready;
  const baseUrl = `http://127.0.0.1:${port}`;
  const health = await fetch(`${baseUrl}/health`);
  if (!health.ok) throw new Error(`worker under Miniflare answered /health with ${health.status}`);
  return {
    baseUrl,
    port,
    persistDir,
    adminKey: seeded.adminKey,
    otherAdminKey: seeded.otherAdminKey,
    orgId: seeded.orgId,
    otherOrgId: seeded.otherOrgId,
    /** The workerd processes Miniflare started (children of this process). */
    serverPids() {
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
    },
    async stop() {
      await mf.dispose();
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
