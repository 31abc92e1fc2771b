#!/usr/bin/env node
// npm test: builds the dashboard, then runs the browser tests against a real local worker.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const built = spawnSync(npm, ['run', '--silent', 'build'], { cwd, stdio: 'inherit' });
if (built.status !== 0) {
  console.error('error: the dashboard did not build');
  process.exit(built.status ?? 1);
}
const tests = spawnSync(process.execPath, ['--test', '--test-concurrency=1', 'tests/dashboard.test.mjs'], { cwd, stdio: 'inherit' });
process.exit(tests.status ?? 1);
