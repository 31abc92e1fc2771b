#!/usr/bin/env node
// npm test: type-checks the dashboard, then runs the browser tests against a real local worker (the
// tests build the dashboard themselves, for that worker's URL: the API URL is fixed at build time).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const checked = spawnSync(npm, ['run', '--silent', 'check'], { cwd, stdio: 'inherit' });
if (checked.status !== 0) {
  console.error('error: the dashboard does not type-check');
  process.exit(checked.status ?? 1);
}
// One file at a time: each starts its own worker and serves the dashboard on the one port CORS allows.
const files = ['tests/dashboard.test.mjs', 'tests/approvals.test.mjs', 'tests/people.test.mjs', 'tests/usage.test.mjs', 'tests/billing.test.mjs', 'tests/organization.test.mjs'];
const tests = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { cwd, stdio: 'inherit' });
process.exit(tests.status ?? 1);
