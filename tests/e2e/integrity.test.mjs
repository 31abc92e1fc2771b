// What an attacker's review found (security issue 12): bodies streamed without a length, chains
// hidden by deleting rows in D1, conflicting rows kept silently, a failed change notice, lost
// updates between concurrent admin edits, and rules orphaned by a concurrent scope removal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { startWorker, d1, ROOT } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (key, body) => raw('POST', '/v1/validate', body, { key });
const read = { tool: 'filesystem', scope: 'read' };

/** Far above every body limit (64 KiB): an answer before this much is sent was not read whole. */
const UPLOAD_BOUND = 24 << 20;

/**
 * Sends a chunked body (no Content-Length) that never ends on its own: chunks keep coming until
 * the server answers, or `maxBytes` are sent, or 30 s pass. A raw socket, so the answer is seen
 * even when the server closes the connection on the rest of the upload.
 * Resolves with { status, body, sent }.
 */
function endlessUpload(path, key, maxBytes = UPLOAD_BOUND) {
  return new Promise((resolve) => {
    const url = new URL(worker.baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    let sent = 0;
    let received = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const head = received.indexOf('\r\n\r\n');
      const status = Number(received.split(' ')[1]) || null;
      resolve({ status, body: head >= 0 ? received.slice(head + 4) : '', sent });
    };
    socket.on('data', (d) => {
      received += d;
      const head = received.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, head));
      if (head >= 0 && length && received.length - head - 4 >= Number(length[1])) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    setTimeout(finish, 30_000);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\n` +
      'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 << 10, 0x20);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pump = () => {
      while (!done && sent < maxBytes) {
        sent += chunk.length;
        if (!socket.write(frame)) return socket.once('drain', pump);
      }
      if (!done) socket.write('0\r\n\r\n');
    };
    pump();
  });
}

test('a chunked body with no Content-Length is refused at the limit, on validate and on admin routes, and the worker keeps serving', async () => {
  // A warm worker first, so the upload measures reading, not start-up.
  assert.equal((await raw('GET', '/health')).status, 200);
  // A made-up key of the right shape: its checksum is public, so anyone can make one.
  const [forged] = JSON.parse(execFileSync('cargo', ['run', '--quiet', '-p', 'oakauth-core', '--example', 'random_keys', '--', '1'], { cwd: ROOT }).toString());
  for (const [path, key] of [['/v1/validate', forged], ['/v1/admin/agents', worker.adminKey]]) {
    const answer = await endlessUpload(path, key);
    // The worker stops reading at the limit and answers, long before the upload would end; code
    // that read the body whole would answer only after all of it. (The answer is 413, as the
    // other routes' tests check with a Content-Length. Locally, wrangler's dev proxy sometimes
    // reports the body it could no longer deliver as "restarted mid-request" (503), or resets the
    // connection before its status line arrives: both also mean the worker stopped reading.)
    assert.ok(answer.sent < UPLOAD_BOUND, `${path}: refused while the upload was still going (${answer.sent} bytes sent), not after reading it all`);
    if (answer.status === 413) assert.match(answer.body, /"code":"payload_too_large"|^$/);
    else if (answer.status !== null) {
      assert.equal(answer.status, 503, `${path}: ${answer.status} ${answer.body}`);
      assert.match(answer.body, /restarted mid-request/, 'only the local dev proxy answers 503 here');
    }
  }
  assert.equal((await raw('GET', '/health')).status, 200);
  const { key } = await makeAgent(admin, { rules: { read: 'none' } });
  assert.equal((await validate(key, read)).body.allowed, true);
});

test("deleting an agent and its rows in D1 does not hide its chain from verification", async () => {
  const bystander = await makeAgent(admin, { rules: { read: 'none' } });
  assert.equal((await validate(bystander.key, read)).body.allowed, true);
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  for (let i = 0; i < 3; i++) assert.equal((await validate(key, read)).body.allowed, true);
  assert.equal((await admin('DELETE', `/v1/admin/agents/${agent.id}`)).status, 204);
  await d1(worker.persistDir, `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE agent_id = '${agent.id}';
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`);

  const pages = [];
  let cursor = '';
  do {
    const page = await admin('GET', `/v1/admin/audit/verify?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200, page.text);
    assert.ok(page.body.agents.length <= 1);
    pages.push(page.body);
    cursor = page.body.next_cursor;
  } while (cursor);
  const gone = pages.flatMap((p) => p.agents).find((a) => a.agent_id === agent.id);
  assert.ok(gone, 'the deleted agent is still verified: its chain is known outside D1');
  assert.equal(gone.ok, false);
  assert.equal(gone.head_seq, 3);
  assert.match(gone.broken.problem, /rows 1 to 3 are missing/);
  assert.ok(pages.some((p) => !p.ok));
  assert.ok(pages.length > 1, 'with limit=1 and several agents, the answer pages instead of silently stopping');
  assert.equal(pages.at(-1).next_cursor, null);

  const one = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  assert.equal(one.status, 200, 'a chain known only to the registry can still be verified by id');
  assert.equal(one.body.ok, false);
  // Page parameters are checked even where they do not apply (found by schemathesis).
  for (const q of ['cursor=%C2%B21', 'limit=0']) {
    const bad = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}&${q}`);
    assert.equal(bad.status, 400, q);
  }
});

test('a different row already in place of a decision is an integrity alarm that verify reports, with every break', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  const first = await validate(key, read);
  assert.equal(first.body.allowed, true);
  // A row planted at the chain position the next decision will take.
  await d1(worker.persistDir, `INSERT INTO audit_log (decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason,
      reasoning_required, reasoning_provided, latency_ms, created_at, chain_seq, prev_hash, row_hash)
    VALUES ('dec_planted0000000000000', '${worker.orgId}', 'req_planted', '${agent.id}', 'filesystem', 'read', 1, 'allowed',
      'none', 0, 0, 0, 2, 'x', 'y')`);
  const second = await validate(key, read);
  assert.equal(second.status, 200);
  const third = await validate(key, read);
  assert.equal(third.body.allowed, true);

  const verify = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  const chain = verify.body.agents[0];
  assert.equal(chain.ok, false);
  const alarm = chain.breaks.find((b) => /integrity alarm/.test(b.problem));
  assert.ok(alarm, JSON.stringify(chain.breaks));
  assert.equal(alarm.decision_id, second.body.decision_id);
  assert.match(alarm.problem, /dec_planted/);
  assert.ok(chain.breaks.length >= 2, 'the verifier reports every break, not only the first');
  assert.deepEqual(chain.broken, chain.breaks[0]);
});

test('a change whose notice to the agent object fails is still answered as committed, and propagates in the background', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  assert.equal((await validate(key, read)).body.allowed, true);
  // The next three notices (all the inline tries) fail.
  const rotated = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 0 }, { headers: { 'X-OakAuth-Test-Fault': 'invalidate=3' } });
  assert.equal(rotated.status, 200, `the new key is never hidden behind an error: ${rotated.text}`);
  assert.match(rotated.body.api_key, /^oak_/);
  const deadline = Date.now() + 10_000;
  let old;
  do {
    await new Promise((r) => setTimeout(r, 200));
    old = await validate(key, read);
  } while (old.status === 200 && Date.now() < deadline);
  assert.equal(old.status, 401, 'the old key stops working once the background retry gets through');
  assert.equal((await validate(rotated.body.api_key, read)).body.allowed, true);
});

test('concurrent edits of different fields never undo each other', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { read: 'none' } });
  for (let round = 0; round < 10; round++) {
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: true })).status, 200);
    const [disable, rename] = await Promise.all([
      admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: false }),
      admin('PATCH', `/v1/admin/agents/${agent.id}`, { name: `renamed-${round}-${agent.id}` }),
    ]);
    assert.equal(disable.status, 200);
    assert.equal(rename.status, 200);
    const now = await admin('GET', `/v1/admin/agents/${agent.id}`);
    assert.equal(now.body.enabled, false, `round ${round}: the emergency disable survived the rename`);
    assert.equal(now.body.name, `renamed-${round}-${agent.id}`);
  }
  assert.equal((await validate(key, read)).body.reason, 'agent_disabled');
});

test('a rule left for a scope its tool no longer has grants nothing', async () => {
  const { agent, key, tool } = await makeAgent(admin, { scopes: ['read'], rules: { read: 'none' } });
  // What a rule inserted while its scope was being removed leaves behind.
  await d1(worker.persistDir, `INSERT INTO rules (id, org_id, agent_id, tool_id, scope, require_reasoning, created_at, updated_at)
    VALUES ('rule_orphan${agent.id.slice(4, 13)}', '${worker.orgId}', '${agent.id}', '${tool.id}', 'delete', 'none', 0, 0)`);
  // Any admin change makes the agent's object reload its configuration.
  assert.equal((await admin('PATCH', `/v1/admin/agents/${agent.id}`, { name: `orphan-${agent.id}` })).status, 200);
  const answer = await validate(key, { tool: 'filesystem', scope: 'delete' });
  assert.equal(answer.body.allowed, false, 'an orphaned rule must not grant its scope');
  assert.equal((await validate(key, read)).body.allowed, true);
  // And a rule for a scope the tool does not have cannot be created.
  const refused = await admin('POST', `/v1/admin/agents/${agent.id}/rules`, { tool: 'filesystem', scope: 'write' });
  assert.equal(refused.status, 409);
});
