// Attacks and faults: tampering with the audit log, admin accountability, leaks, crashes, and
// brute force (last, because it throttles this client).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startWorker, d1, ROOT } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';

let worker, admin, raw;
const issuedKeys = [];

before(async () => {
  // `log`: the worker's console.log output (its request lines) is collected too, for the leak test.
  worker = await startWorker({ logLevel: 'log' });
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (key, body) => raw('POST', '/v1/validate', body, { key });
const agentWith = async (opts) => {
  const a = await makeAgent(admin, opts);
  issuedKeys.push(a.key);
  return a;
};

test('append-only triggers exist after migrations and refuse UPDATE and DELETE', async () => {
  const rows = await d1(worker.persistDir, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
  const names = rows[0].results.map((r) => r.name);
  for (const t of ['admin_events_no_delete', 'admin_events_no_update', 'audit_log_no_delete', 'audit_log_no_update']) {
    assert.ok(names.includes(t), `${t} missing`);
  }
  const { key } = await agentWith({ rules: { read: 'none' } });
  await validate(key, { tool: 'filesystem', scope: 'read' });
  await assert.rejects(d1(worker.persistDir, "UPDATE audit_log SET allowed = 1"), /append-only/);
  await assert.rejects(d1(worker.persistDir, "DELETE FROM audit_log"), /append-only/);
  await assert.rejects(d1(worker.persistDir, "UPDATE admin_events SET actor = 'someone else'"), /append-only/);
  await assert.rejects(d1(worker.persistDir, "DELETE FROM admin_events"), /append-only/);
});

test('admin actions are recorded: who did what to which agent, tool or rule, and never the key', async () => {
  const { agent, key, tool } = await agentWith({ rules: { read: 'none' } });
  await admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: false });
  await admin('PATCH', `/v1/admin/agents/${agent.id}`, { enabled: true, name: 'renamed-agent' });
  const rotated = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 0 });
  const rules = (await admin('GET', `/v1/admin/agents/${agent.id}/rules`)).body.rules;
  await admin('PATCH', `/v1/admin/agents/${agent.id}/tools/${tool.id}`, { description: 'changed by an admin' });
  await admin('PATCH', `/v1/admin/agents/${agent.id}/rules/${rules[0].id}`, { require_reasoning: 'hard' });
  await admin('DELETE', `/v1/admin/agents/${agent.id}/rules/${rules[0].id}`);
  await admin('DELETE', `/v1/admin/agents/${agent.id}/tools/${tool.id}`);
  await admin('DELETE', `/v1/admin/agents/${agent.id}`);
  const events = await admin('GET', `/v1/admin/events?agent_id=${agent.id}`);
  assert.equal(events.status, 200);
  const actions = events.body.events.map((e) => e.action).reverse();
  assert.deepEqual(actions, ['agent.create', 'tool.create', 'rule.create', 'agent.disable', 'agent.enable', 'agent.rotate_key',
    'tool.update', 'rule.update', 'rule.delete', 'tool.delete', 'agent.delete']);
  const toolUpdate = events.body.events.find((e) => e.action === 'tool.update');
  assert.equal(toolUpdate.target_id, tool.id);
  assert.deepEqual(toolUpdate.detail, { description: 'changed by an admin' });
  const me = (await admin('GET', '/v1/admin/me')).body;
  for (const e of events.body.events) {
    assert.equal(e.actor, me.key_prefix);
    assert.match(e.request_id, /^req_/);
  }
  assert.ok(!events.text.includes(key.slice(10)));
  assert.ok(!events.text.includes(rotated.body.api_key.slice(10)));
  const other = client(worker.baseUrl, worker.otherAdminKey);
  assert.equal((await other('GET', `/v1/admin/events?agent_id=${agent.id}`)).body.events.length, 0);
});

test('the audit chain verifies, and the verifier names a row edited or deleted directly in the database', async () => {
  const { agent, key } = await agentWith({ rules: { read: 'none', write: 'hard' } });
  const ids = [];
  for (let i = 0; i < 6; i++) {
    // Odd steps ask for write without reasoning: denied by the hard rule.
    ids.push((await validate(key, { tool: 'filesystem', scope: i % 2 ? 'write' : 'read', reasoning: i % 2 ? undefined : `step ${i}` })).body.decision_id);
  }
  const clean = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  assert.equal(clean.status, 200);
  assert.equal(clean.body.ok, true);
  assert.equal(clean.body.agents[0].rows_checked, 6);
  assert.equal(clean.body.agents[0].head_seq, 6);
  const all = await admin('GET', '/v1/admin/audit/verify');
  assert.equal(all.body.ok, true);

  // An attacker with database access drops the trigger and rewrites a denial into an allow.
  await d1(worker.persistDir, `DROP TRIGGER audit_log_no_update; UPDATE audit_log SET allowed = 1, reason = 'allowed' WHERE decision_id = '${ids[3]}'`);
  const edited = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  assert.equal(edited.body.ok, false);
  assert.equal(edited.body.agents[0].broken.decision_id, ids[3]);
  assert.equal(edited.body.agents[0].broken.chain_seq, 4);
  assert.match(edited.body.agents[0].broken.problem, /modified/);
  assert.equal((await admin('GET', '/v1/admin/audit/verify')).body.ok, false);

  // Deleting the newest row is caught by the chain head the agent's object keeps.
  const second = await agentWith({ rules: { read: 'none' } });
  const last = [];
  for (let i = 0; i < 3; i++) last.push((await validate(second.key, { tool: 'filesystem', scope: 'read' })).body.decision_id);
  await d1(worker.persistDir, `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE decision_id = '${last[2]}'`);
  const deleted = await admin('GET', `/v1/admin/audit/verify?agent_id=${second.agent.id}`);
  assert.equal(deleted.body.ok, false);
  assert.equal(deleted.body.agents[0].broken.chain_seq, 3);
  assert.match(deleted.body.agents[0].broken.problem, /missing/);

  await d1(worker.persistDir, `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`);
  const otherOrg = client(worker.baseUrl, worker.otherAdminKey);
  assert.equal((await otherOrg('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`)).status, 404);
});

test('killing the server mid-load: every 2xx has its row, none is duplicated, the bucket is not refilled, the chain holds', async () => {
  const C = 400;
  const { agent, key } = await agentWith({ rules: { read: 'none' }, rateLimit: { capacity: C, refill_per_second: 0.001 } });
  const ok = [];
  let stop = false;
  const loop = async () => {
    while (!stop) {
      try {
        const r = await fetch(`${worker.baseUrl}/v1/validate`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ tool: 'filesystem', scope: 'read' }),
          signal: AbortSignal.timeout(5000),
        });
        const body = await r.json();
        if (r.status === 200) ok.push(body.decision_id);
      } catch {
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  while (ok.length < 40) await new Promise((r) => setTimeout(r, 10));
  await worker.restart({ hard: true }); // SIGKILL, then start again on the same state
  stop = true;
  await Promise.all(loops);
  assert.ok(ok.length >= 40);

  const verify = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
  const rows = (await d1(worker.persistDir, `SELECT decision_id, request_id FROM audit_log WHERE agent_id = '${agent.id}'`))[0].results;
  const stored = new Set(rows.map((r) => r.decision_id));
  for (const id of ok) assert.ok(stored.has(id), `2xx decision ${id} has no audit row`);
  assert.equal(stored.size, rows.length, 'no decision id is stored twice');
  assert.equal(new Set(rows.map((r) => r.request_id)).size, rows.length, 'no request is stored twice');
  const next = await validate(key, { tool: 'filesystem', scope: 'read' });
  assert.equal(next.status, 200);
  assert.ok(next.body.rate_limit.remaining <= C - rows.length - 1, `bucket refilled: ${next.body.rate_limit.remaining} left after ${rows.length} decisions`);
});

const assertUnavailable = (answer) => {
  assert.equal(answer.status, 200, 'a fault is a deny, never a 5xx');
  assert.equal(answer.body.allowed, false);
  assert.equal(answer.body.reason, 'unavailable');
  assert.equal(answer.headers.get('retry-after'), '1');
  assert.match(answer.body.decision_id, /^dec_[0-9A-Za-z]{20}$/);
  assert.match(answer.body.message, /^denied: .*nothing was allowed/);
};

test('while D1 refuses audit rows under load, decisions stand, each is readable at once, and every row arrives in chain order once D1 is back', async () => {
  // A minute by default (the scenario); OAKAUTH_OUTAGE_MS shortens it for a quick local run.
  const OUTAGE_MS = Number(process.env.OAKAUTH_OUTAGE_MS ?? 60_000);
  const { agent, key } = await agentWith({ rules: { read: 'none' }, rateLimit: { capacity: 100000, refill_per_second: 1000 } });
  const first = await validate(key, { tool: 'filesystem', scope: 'read' });
  assert.equal(first.body.allowed, true);
  await d1(worker.persistDir, "CREATE TRIGGER audit_log_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'D1 refuses writes (test)'); END;");
  const answered = [];
  let failures = 0;
  const until = Date.now() + OUTAGE_MS;
  const loop = async () => {
    while (Date.now() < until) {
      const r = await validate(key, { tool: 'filesystem', scope: 'read', reasoning: 'listing the cache' });
      if (r.status === 200) answered.push(r.body);
      else failures++;
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  let probed;
  try {
    const loops = Array.from({ length: 4 }, loop);
    // A decision answered during the outage is readable at once, from the agent's object.
    while (answered.length < 20) await new Promise((r) => setTimeout(r, 20));
    const recent = answered.at(-1);
    probed = await admin('GET', `/v1/admin/logs/${recent.decision_id}`);
    assert.equal(probed.status, 200, JSON.stringify(probed.body));
    assert.equal(probed.body.decision_id, recent.decision_id);
    assert.equal(probed.body.allowed, true);
    assert.equal(probed.body.reasoning, 'listing the cache');
    const other = client(worker.baseUrl, worker.otherAdminKey);
    assert.equal((await other('GET', `/v1/admin/logs/${recent.decision_id}`)).status, 404, "another organization cannot read it");
    await Promise.all(loops);
    const inD1 = await d1(worker.persistDir, `SELECT count(*) AS n FROM audit_log WHERE agent_id = '${agent.id}'`);
    assert.equal(inD1[0].results[0].n, 1, 'nothing reached D1 during the outage');
  } finally {
    await d1(worker.persistDir, 'DROP TRIGGER IF EXISTS audit_log_down');
  }
  assert.equal(failures, 0);
  assert.ok(answered.length >= 40, `load: ${answered.length} decisions`);
  assert.ok(answered.every((a) => a.allowed && a.reason === 'allowed'), 'a D1 outage denies nothing');

  // Back: the object's alarm ships the backlog (back-off at most 10 s), in chain order.
  const expected = answered.length + 1;
  let rows = [];
  for (let i = 0; i < 120 && rows.length < expected; i++) {
    await new Promise((r) => setTimeout(r, 250));
    rows = (await d1(worker.persistDir, `SELECT decision_id, chain_seq FROM audit_log WHERE agent_id = '${agent.id}' ORDER BY seq`))[0].results;
  }
  assert.equal(rows.length, expected, 'every answered decision has its row in D1, once');
  const stored = new Set(rows.map((r) => r.decision_id));
  for (const a of answered) assert.ok(stored.has(a.decision_id), `${a.decision_id} has no row`);
  assert.deepEqual(rows.map((r) => r.chain_seq), rows.map((_, i) => i + 1), 'rows reached D1 in chain order');
  const verify = await admin('GET', `/v1/admin/audit/verify?agent_id=${agent.id}`);
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
  assert.equal(verify.body.agents[0].rows_checked, expected);
});

test('the log list shows a decision within a second of its answer', async () => {
  const { agent, key } = await agentWith({ rules: { read: 'none' } });
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all(Array.from({ length: 8 }, () => validate(key, { tool: 'filesystem', scope: 'read' })));
    const answeredAt = Date.now();
    const want = new Set(answers.map((a) => a.body.decision_id));
    let listed = new Set();
    while (Date.now() - answeredAt < 1000 && [...want].some((id) => !listed.has(id))) {
      const page = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}&limit=100`);
      listed = new Set(page.body.logs.map((l) => l.decision_id));
    }
    for (const id of want) assert.ok(listed.has(id), `round ${round}: ${id} not listed within 1 s`);
  }
});

test('a database failure before deciding is an unavailable deny, and nothing is allowed', async () => {
  const { key } = await agentWith({ rules: { read: 'none' } });
  await d1(worker.persistDir, 'ALTER TABLE agent_keys RENAME TO agent_keys_away');
  let failed;
  try {
    failed = await validate(key, { tool: 'filesystem', scope: 'read' });
  } finally {
    await d1(worker.persistDir, 'ALTER TABLE agent_keys_away RENAME TO agent_keys');
  }
  assertUnavailable(failed);
  assert.equal(failed.body.rate_limit, null);
  assert.equal((await admin('GET', `/v1/admin/logs/${failed.body.decision_id}`)).status, 404, 'nothing was decided, so nothing is recorded');
  assert.equal((await validate(key, { tool: 'filesystem', scope: 'read' })).body.allowed, true);
});

test("a Durable Object failure (its storage damaged) is an unavailable deny for that agent only", async () => {
  const objects = join(worker.persistDir, 'v3', 'do', 'oakauth-AgentBucket');
  const files = async () => new Set((await readdir(objects).catch(() => [])).filter((f) => f.endsWith('.sqlite')));
  const before = await files();
  const victim = await agentWith({ rules: { read: 'none' } });
  assert.equal((await validate(victim.key, { tool: 'filesystem', scope: 'read' })).body.allowed, true);
  const created = [...(await files())].filter((f) => !before.has(f) && f !== 'metadata.sqlite');
  assert.equal(created.length, 1, `the agent's object has one storage file: ${created}`);
  const bystander = await agentWith({ rules: { read: 'none' } });

  await worker.restart({
    whileStopped: async () => {
      const file = join(objects, created[0]);
      await writeFile(file, Buffer.alloc(16384, 0x5a));
      await rm(`${file}-wal`, { force: true });
      await rm(`${file}-shm`, { force: true });
    },
  });

  for (let i = 0; i < 3; i++) assertUnavailable(await validate(victim.key, { tool: 'filesystem', scope: 'read' }));
  const other = await validate(bystander.key, { tool: 'filesystem', scope: 'read' });
  assert.equal(other.status, 200);
  assert.equal(other.body.allowed, true, "other agents' objects are unaffected");
  assert.equal((await raw('GET', '/health')).status, 200);
});

test('no key or key hash appears in answers, worker output, or anywhere in the stored state', async () => {
  const { agent, key } = await agentWith({ rules: { read: 'none' } });
  await validate(key, { tool: 'filesystem', scope: 'read', reasoning: `my key is ${key}`, context: { note: key, apiKey: key } });
  const rotated = await admin('POST', `/v1/admin/agents/${agent.id}/rotate-key`, { overlap_seconds: 60 });
  issuedKeys.push(rotated.body.api_key);
  const logs = await admin('GET', `/v1/admin/logs?agent_id=${agent.id}`);
  assert.ok(!logs.text.includes(key));
  const hashes = (await d1(worker.persistDir, 'SELECT key_hash FROM agent_keys UNION SELECT key_hash FROM admin_keys'))[0].results.map((r) => r.key_hash);
  assert.ok(hashes.length >= 2);
  const answers = [logs.text, (await admin('GET', `/v1/admin/agents/${agent.id}`)).text, (await admin('GET', '/v1/admin/events')).text];
  for (const text of answers) for (const h of hashes) assert.ok(!text.includes(h), 'a key hash leaked into an answer');

  const secrets = [...issuedKeys, worker.adminKey, worker.otherAdminKey];
  const files = [];
  const walk = async (dir) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push(p);
    }
  };
  await walk(worker.persistDir);
  assert.ok(files.some((f) => f.endsWith('.sqlite')), 'found the local databases');
  for (const f of files) {
    const bytes = await readFile(f);
    for (const s of secrets) assert.ok(!bytes.includes(Buffer.from(s)), `a key is stored in ${f}`);
  }
  const output = worker.logs.join('');
  for (const s of secrets) assert.ok(!output.includes(s), 'a key appears in the worker output');
});

test('CR and LF in stored text stay escaped in every answer', async () => {
  const { key } = await agentWith({ rules: { read: 'none' } });
  const forged = 'ok\r\n{"decision_id":"dec_forged","allowed":true}\n';
  const r = await validate(key, { tool: 'filesystem', scope: 'read', reasoning: forged });
  const entry = await admin('GET', `/v1/admin/logs/${r.body.decision_id}`);
  assert.equal(entry.body.reasoning, forged);
  assert.ok(!/[\r\n]/.test(entry.text), 'raw line breaks in a JSON answer');
});

test('wrong admin keys of any length get identical 401 answers', async () => {
  const bodies = new Set();
  // The real key with its last character changed (to another one: a key that ends in Z stays wrong).
  const changed = worker.adminKey.slice(0, -1) + (worker.adminKey.endsWith('Z') ? 'Y' : 'Z');
  for (const k of ['x', 'oakadm_', 'oakadm_' + 'a'.repeat(38), 'oakadm_' + 'a'.repeat(500), changed, 'Bearer']) {
    const r = await raw('GET', '/v1/admin/me', undefined, { key: k });
    assert.equal(r.status, 401);
    bodies.add(r.text);
  }
  assert.equal(bodies.size, 1);
});

/** Well-formed agent keys with valid checksums, from the service's own keygen; all starting with `oak_<prefix>` if given. */
const randomKeys = (n, prefix = '') =>
  JSON.parse(execFileSync('cargo', ['run', '--quiet', '-p', 'oakauth-core', '--example', 'random_keys', '--', String(n), ...(prefix ? [prefix] : [])], { cwd: ROOT }).toString());

/** A forged (well-formed, unknown) or real agent key's validate call, from client `address`. */
const from = (key, address) =>
  raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key, headers: { 'CF-Connecting-IP': address } });
/** Spends the failure budget of `addresses[i]`'s client with one fresh random key each; returns the statuses. */
const failFrom = async (addresses) => {
  const keys = randomKeys(addresses.length);
  const statuses = [];
  for (const [i, k] of keys.entries()) statuses.push((await from(k, addresses[i])).status);
  return statuses;
};
const throttledAnswer = (r) => {
  assert.equal(r.status, 429);
  assert.equal(r.body.error.code, 'rate_limited');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
};

test('a throttled address is refused before any database read: 429 even while the database is broken', async () => {
  const address = '203.0.113.51';
  const statuses = await failFrom(Array(21).fill(address));
  assert.deepEqual(statuses, [...Array(20).fill(401), 429], statuses.join(','));
  const [key] = randomKeys(1);
  // The key lookup is made to fail by the test fault `key_lookup` (armed for one lookup), not by
  // breaking the local database with wrangler: that takes seconds under load, long enough for
  // the throttle to refill a try (one per 6 s) and the check to race the clock.
  const broken = { 'X-OakAuth-Test-Fault': 'key_lookup=1' };
  const throttled = await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key, headers: { 'CF-Connecting-IP': address, ...broken } });
  // Had the key been looked up first, the failing lookup would have answered `unavailable`.
  throttledAnswer(throttled);
  // The fault was still armed, so the lookup really fails: a client that is not throttled reaches it
  // and gets the unavailable deny.
  const elsewhere = await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key, headers: { 'CF-Connecting-IP': '203.0.113.52' } });
  assertUnavailable(elsewhere);
});

test('a burst of first calls with a new valid key is decided, never throttled: the key is looked up once', async () => {
  // Each lookup is made slow (test fault `slow_key_lookup`, armed for 60 lookups) so that all the
  // calls overlap. Had each call charged the client's failure counter before its own lookup, the
  // calls past its 20 would have been answered 429.
  const address = '203.0.113.61';
  const { key } = await agentWith({ rules: { read: 'none' }, rateLimit: { capacity: 1000, refill_per_second: 1 } });
  const armed = await raw('GET', '/health', undefined, { headers: { 'X-OakAuth-Test-Fault': 'slow_key_lookup=60' } });
  assert.equal(armed.status, 200);
  const answers = await Promise.all(Array.from({ length: 60 }, () =>
    raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key, headers: { 'CF-Connecting-IP': address } })));
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(statuses, Array(60).fill(200), statuses.join(','));
  assert.ok(answers.every((a) => a.body.reason === 'allowed'));
  // The same for an admin key this worker has not seen yet (its lookups slow too).
  const created = await admin('POST', '/v1/admin/keys', { name: 'burst', role: 'viewer' });
  assert.equal(created.status, 201, created.text);
  const viewer = client(worker.baseUrl, created.body.secret);
  await raw('GET', '/health', undefined, { headers: { 'X-OakAuth-Test-Fault': 'slow_key_lookup=40' } });
  const listed = await Promise.all(Array.from({ length: 40 }, () => viewer('GET', '/v1/admin/agents', undefined, { headers: { 'CF-Connecting-IP': address } })));
  assert.deepEqual(listed.map((r) => r.status), Array(40).fill(200));
  // The failure counter of the address was given back each time: it holds a full bucket or none.
  const stored = await throttleStorage(address);
  assert.ok(!stored.bucket || stored.bucket.tokens >= 19, JSON.stringify(stored));
  // Slow lookups left over (none should fire again) are disarmed for the tests that follow.
  await raw('GET', '/health', undefined, { headers: { 'X-OakAuth-Test-Fault': 'slow_key_lookup=0' } });
});

test('failures from anywhere in one IPv6 /64 share one counter; the next /64 has its own', async () => {
  // Twenty addresses of 2001:db8:5:6::/64, written every which way.
  const inside = Array.from({ length: 20 }, (_, i) =>
    i % 2 ? `2001:db8:5:6:${(0x1000 + i * 977).toString(16)}::${(i + 1).toString(16)}` : `2001:0DB8:0005:0006:0:0:${i.toString(16)}:1`);
  assert.equal(new Set(inside).size, 20);
  const statuses = await failFrom([...inside, '2001:db8:5:6:ffff:ffff:ffff:fffe', '2001:db8:5:7::1', '2001:db8:5:6::a%eth0']);
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), statuses.join(','));
  assert.equal(statuses[20], 429, 'a new address in the same /64 is throttled');
  assert.equal(statuses[21], 401, 'the neighbouring /64 is not');
  assert.equal(statuses[22], 429, 'a zone id does not make a new client');
});

test('from a throttled address, a key the worker already knows keeps working; one it has not seen waits like any other', async () => {
  const address = '2001:db8:77:1::1';
  const known = await agentWith({ rules: { read: 'none' } });
  const unseen = await agentWith({ rules: { read: 'none' } });
  assert.equal((await from(known.key, address)).body.allowed, true);
  const adminFrom = (key) => raw('GET', '/v1/admin/me', undefined, { key, headers: { 'CF-Connecting-IP': address } });
  assert.equal((await adminFrom(worker.adminKey)).status, 200);

  const statuses = await failFrom(Array(21).fill('2001:db8:77:1:abcd::9'));
  assert.equal(statuses[20], 429, statuses.join(','));

  const again = await from(known.key, address);
  assert.equal(again.status, 200);
  assert.equal(again.body.allowed, true, 'a key this isolate has seen valid is not throttled');
  assert.equal((await adminFrom(worker.adminKey)).status, 200, 'nor is an admin key it has seen valid');
  // A valid key the worker has not seen yet cannot be told from a forged one without the lookup
  // the throttle exists to spare: it waits out the throttle too, and works from anywhere else.
  throttledAnswer(await from(unseen.key, address));
  assert.equal((await from(unseen.key, '2001:db8:77:2::1')).body.allowed, true);
  assert.equal((await from(unseen.key, address)).body.allowed, true, 'once seen valid, it works from the throttled address too');
  throttledAnswer(await adminFrom(randomKeys(1)[0].replace('oak_', 'oakadm_')));
  throttledAnswer(await from(randomKeys(1)[0], address));
});

/** What the failure counter of client `address` holds in its object's storage (a test route). */
const throttleStorage = async (address) => {
  const r = await fetch(`${worker.baseUrl}/__test/throttle?address=${encodeURIComponent(address)}`);
  assert.equal(r.status, 200);
  return r.json();
};

test('a valid key costs its client nothing: the try charged before the lookup is given back', async () => {
  const address = '192.0.2.141';
  const { key } = await agentWith({ rules: { read: 'none' } });
  assert.equal((await from(key, address)).body.allowed, true);
  const after = await throttleStorage(address);
  assert.ok(after.bucket === null || after.bucket.tokens === 20, JSON.stringify(after));
});

test("a client's failure counter is deleted once it is full again, by an alarm each failure re-arms", async () => {
  const address = '192.0.2.140';
  const stored = () => throttleStorage(address);
  assert.deepEqual(await stored(), { bucket: null, alarm_ms: null }, 'no failure, nothing stored');
  const [k1, k2] = randomKeys(2);
  assert.equal((await from(k1, address)).status, 401);
  const first = await stored();
  assert.equal(first.bucket.tokens, 19);
  assert.equal(first.alarm_ms, first.bucket.updated_ms + 6000, 'one failure is forgotten 6 s later');
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await from(k2, address)).status, 401);
  const second = await stored();
  assert.ok(second.bucket.tokens < 19);
  assert.ok(second.alarm_ms > first.alarm_ms, 'the new failure moved the alarm on');
  assert.ok(Math.abs(second.alarm_ms - (first.bucket.updated_ms + 12_000)) <= 2, `two failures take 12 s to refill: ${JSON.stringify([first, second])}`);
  // After the alarm: nothing left, neither the counter nor an alarm.
  await new Promise((r) => setTimeout(r, Math.max(0, second.alarm_ms - Date.now()) + 500));
  let after;
  for (let i = 0; i < 50; i++) {
    after = await stored();
    if (after.bucket === null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(after, { bucket: null, alarm_ms: null });
  assert.equal((await from(randomKeys(1)[0], address)).status, 401, 'a forgotten counter starts full');
});

test('brute force on one key prefix is throttled even when every try comes from a new address', async () => {
  const prefix = Math.random().toString(36).slice(2, 8).padEnd(6, 'x');
  const keys = randomKeys(25, prefix);
  assert.ok(keys.every((k) => k.startsWith(`oak_${prefix}`)));
  const statuses = [];
  let retryAfter = null;
  for (const [i, k] of keys.entries()) {
    // Each try claims a different client address, so only the prefix counter can stop them.
    const r = await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: k, headers: { 'CF-Connecting-IP': `198.51.100.${i + 1}` } });
    statuses.push(r.status);
    if (r.status === 429) retryAfter = Number(r.headers.get('retry-after'));
  }
  assert.ok(!statuses.includes(200));
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), 'the first 20 failures are plain 401s');
  assert.equal(statuses[statuses.length - 1], 429, `the prefix is throttled after 20 failures: ${statuses.join(',')}`);
  assert.ok(retryAfter >= 1);
  // A key with another prefix, from another fresh address, is not throttled: the 429s above came
  // from the prefix counter, not from a shared address.
  const [other] = randomKeys(1);
  const fresh = await raw('POST', '/v1/validate', { tool: 'filesystem', scope: 'read' }, { key: other, headers: { 'CF-Connecting-IP': '198.51.100.200' } });
  assert.equal(fresh.status, 401);
});

test('brute force: 1,000 random well-formed keys never get a 200, and failures are throttled with Retry-After', async () => {
  const keys = randomKeys(1000);
  assert.equal(keys.length, 1000);
  assert.ok(keys.every((k) => /^oak_[0-9A-Za-z]{38}$/.test(k)));
  const statuses = new Map();
  let retryAfter = null;
  const started = Date.now();
  for (let i = 0; i < keys.length; i += 25) {
    const batch = await Promise.all(keys.slice(i, i + 25).map((k) => validate(k, { tool: 'filesystem', scope: 'read' })));
    for (const r of batch) {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 429) retryAfter = Number(r.headers.get('retry-after'));
    }
  }
  assert.equal(statuses.get(200) ?? 0, 0);
  assert.deepEqual([...statuses.keys()].sort(), [401, 429]);
  // 20 failures, then one more per 6 s while the test runs.
  const budget = 20 + Math.ceil((Date.now() - started) / 6000) + 1;
  assert.ok(statuses.get(401) <= budget, `only the first failures get 401: got ${statuses.get(401)}, budget ${budget}`);
  assert.ok(retryAfter >= 1);
  const adminAttempt = await raw('GET', '/v1/admin/me', undefined, { key: keys[0].replace('oak_', 'oakadm_') });
  assert.ok([401, 429].includes(adminAttempt.status));
});
