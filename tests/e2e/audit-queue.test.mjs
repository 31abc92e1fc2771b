// The audit Queue against the real worker in local workerd with its local Queue (src/audit_rows.rs):
// rows of many agents reach D1 in one D1 write; a batch D1 refuses is delivered again and written
// without duplicates; each agent's chain reaches D1 in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';

let worker, admin, raw;

before(async () => {
  // `log`: wrangler prints the worker's console.log output, where the consumer's batch lines are.
  worker = await startWorker({ logLevel: 'log' });
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => {
  await worker?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const validate = (key) => raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key });

/** The consumer's `audit_batch` lines printed so far. */
function batchLines() {
  return worker.logs
    .join('')
    .split('\n')
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{') && l.includes('"audit_batch"'))
    .map((l) => JSON.parse(l));
}

async function rowsInD1(agentIds) {
  const list = agentIds.map((id) => `'${id}'`).join(',');
  const answer = await worker.d1(`SELECT decision_id, agent_id, chain_seq FROM audit_log WHERE agent_id IN (${list}) ORDER BY seq`);
  return answer[0].results;
}

test("a batch D1 refuses is delivered again, and then many agents' rows reach D1 in one write, once each, in chain order", async () => {
  const agents = await Promise.all(Array.from({ length: 12 }, () => makeAgent(admin, { rules: { read: 'none' } })));
  const ids = agents.map((a) => a.agent.id);
  await worker.d1("CREATE TRIGGER audit_log_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'D1 refuses writes (test)'); END;");
  const answered = [];
  try {
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(agents.map((a) => validate(a.key)));
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.body.allowed, true, 'a refusing D1 denies nothing');
        answered.push(a.body.decision_id);
      }
    }
    // The consumer has tried and been refused.
    for (let i = 0; i < 40 && !batchLines().some((b) => b.outcome === 'retried'); i++) await sleep(100);
    assert.ok(batchLines().some((b) => b.outcome === 'retried'), `no refused batch was logged: ${JSON.stringify(batchLines())}`);
    assert.equal((await rowsInD1(ids)).length, 0);
  } finally {
    await worker.d1('DROP TRIGGER IF EXISTS audit_log_down');
  }

  let rows = [];
  for (let i = 0; i < 80 && rows.length < answered.length; i++) {
    await sleep(250);
    rows = await rowsInD1(ids);
  }
  assert.equal(rows.length, answered.length, 'every answered decision has its row');
  assert.deepEqual(new Set(rows.map((r) => r.decision_id)), new Set(answered), 'each once');
  for (const id of ids) {
    const seqs = rows.filter((r) => r.agent_id === id).map((r) => r.chain_seq);
    assert.deepEqual(seqs, [1, 2, 3], `agent ${id}: its rows reached D1 in chain order`);
  }
  const written = batchLines().filter((b) => b.outcome.startsWith('written'));
  const merged = written.filter((b) => b.agents > 1);
  assert.ok(merged.length > 0, `no D1 write carried rows of several agents: ${JSON.stringify(written)}`);
  assert.ok(merged.every((b) => b.d1_batches === 1 && b.rows >= b.agents));
  const verify = await admin('GET', `/v1/admin/audit/verify?agent_id=${ids[0]}`);
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
});

test('under concurrent load from many agents, D1 writes carry several agents each', async () => {
  const agents = await Promise.all(Array.from({ length: 20 }, () => makeAgent(admin, { rules: { read: 'none' } })));
  const ids = agents.map((a) => a.agent.id);
  const before = batchLines().length;
  const answered = [];
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all(agents.map((a) => validate(a.key)));
    answered.push(...answers.map((a) => a.body.decision_id));
  }
  let rows = [];
  for (let i = 0; i < 40 && rows.length < answered.length; i++) {
    await sleep(100);
    rows = await rowsInD1(ids);
  }
  assert.equal(rows.length, answered.length);
  const lines = batchLines().slice(before).filter((b) => b.outcome.startsWith('written'));
  const rowsWritten = lines.reduce((n, b) => n + b.rows, 0);
  const writes = lines.reduce((n, b) => n + b.d1_batches, 0);
  assert.ok(rowsWritten >= answered.length, `${rowsWritten} rows logged for ${answered.length} decisions`);
  assert.ok(writes < answered.length, `${writes} D1 writes for ${answered.length} rows: rows are merged`);
});
