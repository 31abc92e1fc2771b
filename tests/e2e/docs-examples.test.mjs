// The "Try it" walkthroughs of docs/approvals.md and docs/webhooks.md, run as written (bash, curl,
// jq, node) against the real worker, with the output the pages promise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startWorker, ROOT } from '../support/worker.mjs';

const run = promisify(execFile);
let worker;

before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

/** The shell block of a page's "## Try it" section. */
function tryIt(page) {
  const text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  const section = text.slice(text.indexOf('## Try it'));
  const block = section.match(/```sh\n([\s\S]*?)```/);
  assert.ok(block, `${page} has a sh block under "## Try it"`);
  return block[1];
}

async function runBlock(page) {
  const { stdout } = await run('bash', ['-c', tryIt(page)], {
    cwd: ROOT,
    env: { ...process.env, OAKAUTH_URL: worker.baseUrl, OAKAUTH_ADMIN_KEY: worker.adminKey },
    timeout: 60_000,
  });
  return stdout.trim().split('\n');
}

test('docs/approvals.md: the round trip prints what its comments say', async () => {
  assert.deepEqual(await runBlock('approvals.md'), [
    'approval_required', '600', 'approved', 'true', 'consumed', 'approval_consumed', 'approval_required',
  ]);
});

test('docs/webhooks.md: the local receiver verifies both events, the log shows them delivered', async () => {
  const lines = await runBlock('webhooks.md');
  assert.deepEqual(lines.slice(0, 2).sort(), ['agent.changed', 'key.rotated']);
  assert.deepEqual(lines.slice(2).sort(), ['agent.changed delivered 1', 'key.rotated delivered 1']);
});
