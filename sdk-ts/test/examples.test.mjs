// The examples, run as the getting-started guide runs them, against the real worker with the same
// demo agent that scripts/dev.sh creates.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { OakAuthAdmin } from 'oakauth';
import { startWorker } from '../../tests/support/worker.mjs';

const run = promisify(execFile);
const SDK = join(dirname(fileURLToPath(import.meta.url)), '..');
let worker;
let env;

before(async () => {
  worker = await startWorker();
  const admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  // As scripts/dev.sh sets up its demo agent.
  const created = await admin.createAgent({ name: 'demo-agent', rate_limit: { capacity: 60, refill_per_second: 1 } });
  const id = created.agent.id;
  await admin.createTool(id, { name: 'filesystem', description: 'Local files', scopes: ['read', 'write', 'delete'], risk_level: 'write' });
  await admin.createRule(id, { tool: 'filesystem', scope: 'read', require_reasoning: 'none' });
  await admin.createRule(id, { tool: 'filesystem', scope: 'write', require_reasoning: 'soft' });
  await admin.createRule(id, { tool: 'filesystem', scope: 'delete', require_reasoning: 'hard' });
  env = { ...process.env, OAKAUTH_API_KEY: created.api_key, OAKAUTH_BASE_URL: worker.baseUrl, OAKAUTH_ALLOW_INSECURE_LOOPBACK: '1' };
});

after(async () => {
  await worker?.stop();
});

describe('examples', () => {
  it('agent.mjs: guarded file actions run only when allowed', async () => {
    const { stdout } = await run(process.execPath, ['examples/agent.mjs'], { cwd: SDK, env });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 4, stdout);
    assert.equal(lines[0], 'write a note: allowed');
    assert.match(lines[1], /^list the folder: allowed \["note\.txt"\]$/);
    assert.match(lines[2], /^delete without reasoning: denied \(reasoning_required\), decision dec_/);
    assert.equal(lines[3], 'delete with reasoning: allowed');
  });

  it('mcp-client.mjs drives mcp-server.mjs over stdio, and the delete needs reasoning', async () => {
    const { stdout } = await run(process.execPath, ['examples/mcp-client.mjs'], { cwd: SDK, env });
    assert.deepEqual(stdout.trim().split('\n').map((l) => l.replace(/\(denied: .*\)$/, '(…)')), [
      'tools: read_file, write_file, delete_file',
      'write_file: wrote todo.txt',
      'read_file: buy milk',
      'delete_file: [isError] OakAuth denied filesystem:delete: reasoning required. Call the tool again with a `_reasoning` argument that says why you need it. (…)',
      'delete_file: deleted todo.txt',
    ]);
  });

  it('docs/receipts.md shows receipt-server.mjs as it is', async () => {
    const source = await readFile(join(SDK, 'examples', 'receipt-server.mjs'), 'utf8');
    const code = source.slice(source.indexOf('import '));
    const docs = await readFile(join(SDK, '..', 'docs', 'receipts.md'), 'utf8');
    assert.ok(docs.includes('```js\n' + code + '```'), 'the server in docs/receipts.md differs from examples/receipt-server.mjs');
  });

  it('receipt-agent.mjs: receipt-server.mjs runs a call only with its unused receipt', async () => {
    const { stdout } = await run(process.execPath, ['examples/receipt-agent.mjs'], { cwd: SDK, env });
    assert.deepEqual(stdout.trim().split('\n'), [
      'validate: allowed, receipt attached',
      'write with its receipt: ran {"wrote":"todo.txt"}',
      'the same receipt again: refused 403 receipt_replayed',
      'read with other arguments: refused 403 receipt_arguments_mismatch',
      'read without a receipt: refused 401 receipt_missing',
      'read with its receipt: ran {"text":"buy milk"}',
    ]);
  });
});
