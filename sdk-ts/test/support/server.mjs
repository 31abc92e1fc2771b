// Starts the real OakAuth worker in local workerd through the repository's tests/support/serve.mjs
// (fresh local D1 and Durable Object state, two seeded organizations) and stops it afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SERVE = join(REPO, 'tests', 'support', 'serve.mjs');
const START_TIMEOUT_MS = 180_000;

/** Resolves to { baseUrl, adminKey, otherAdminKey, stop } once the worker answers. */
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
    adminKey: info.admin_key,
    otherAdminKey: info.other_admin_key,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
