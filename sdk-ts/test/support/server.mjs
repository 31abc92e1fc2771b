// Starts the real OakAuth worker in local workerd through the repository's tests/support/serve.mjs
// (fresh local D1 and Durable Object state, two seeded organizations) and stops it afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { d1 as repoD1 } from '../../../tests/support/worker.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SERVE = join(REPO, 'tests', 'support', 'serve.mjs');
const START_TIMEOUT_MS = 180_000;

/** Resolves to { baseUrl, endpoint, adminKey, otherAdminKey, persistDir, d1, forgeAllow, stop } once the worker answers. */
export async function startWorker() {
  const child = spawn(process.execPath, [SERVE], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d.toString()));
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit');
  let timer;
  const info = await Promise.race([
    once(lines, 'line').then(([line]) => JSON.parse(line)),
    exited.then(([code]) => {
      throw new Error(`tests/support/serve.mjs exited (${code}) before it was ready:\n${stderr.join('')}`);
    }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the worker did not start within ${START_TIMEOUT_MS} ms:\n${stderr.join('')}`)), START_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    baseUrl: info.base_url,
    /** The client options that reach this worker: its base URL, plain http to loopback allowed. */
    endpoint: { baseUrl: info.base_url, allowInsecureLoopback: true },
    adminKey: info.admin_key,
    otherAdminKey: info.other_admin_key,
    /** The worker's local state (D1 and Durable Objects). */
    persistDir: info.persist_dir,
    /** Runs SQL directly against the worker's local D1 database, behind the service's back; resolves to wrangler's JSON answer. */
    d1: (sql) => d1(info.persist_dir, sql),
    /**
     * Rewrites one denied decision's audit row into an allow, as someone covering their tracks in the
     * database would (dropping the trigger that refuses updates first).
     */
    async forgeAllow(decisionId) {
      if (!/^dec_[A-Za-z0-9]+$/.test(decisionId)) throw new Error(`not a decision id: ${decisionId}`);
      const answer = await d1(
        info.persist_dir,
        'DROP TRIGGER IF EXISTS audit_log_no_update; ' +
          `UPDATE audit_log SET allowed = 1, reason = 'allowed' WHERE decision_id = '${decisionId}' AND allowed = 0; ` +
          `SELECT allowed, reason FROM audit_log WHERE decision_id = '${decisionId}'`,
      );
      // One answer per statement; the last is the row as it now reads.
      const row = answer.at(-1)?.results?.[0];
      if (row?.allowed !== 1 || row?.reason !== 'allowed') throw new Error(`the row was not rewritten: ${JSON.stringify(answer)}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function d1(persistDir, sql) {
  if (!persistDir) throw new Error('tests/support/serve.mjs did not say where its state is (persist_dir)');
  return repoD1(persistDir, sql);
}
