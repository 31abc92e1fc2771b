// Every worked example of docs/policies.md, run against the real worker as the page says: its
// rules are saved for a fresh agent with the example's tool and scope, and each listed call gets
// the listed reason from simulate (with its `at` and `client_ip`) and, when it has neither, from
// validate too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker, ROOT } from '../support/worker.mjs';
import { client } from '../support/api.mjs';

const page = readFileSync(join(ROOT, 'docs', 'policies.md'), 'utf8');
const worked = page.slice(page.indexOf('## Worked examples'), page.indexOf('## Libraries'));
const examples = worked
  .split(/^### /m)
  .slice(1)
  .map((section) => {
    const title = section.split('\n')[0].trim();
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
    return { title, rules: blocks.filter((b) => !Array.isArray(b)), calls: blocks.find(Array.isArray) ?? [] };
  });

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

test('the page has the six worked examples the issue asks for, each with rules and calls', () => {
  assert.deepEqual(examples.map((e) => e.title), ['Spend limit', 'Work folder', 'Outbound e-mail domains', 'Read-only SQL', 'Office hours', 'IP allowlist']);
  for (const e of examples) {
    assert.ok(e.rules.length > 0 && e.calls.length > 0, e.title);
  }
});

for (const example of examples) {
  test(`docs/policies.md example works as written: ${example.title}`, async () => {
    const { tool, scope } = example.rules[0];
    const created = await admin('POST', '/v1/admin/agents', { name: `docs-${tool}` });
    assert.equal(created.status, 201, created.text);
    const agentId = created.body.agent.id;
    const t = await admin('POST', `/v1/admin/agents/${agentId}/tools`, { name: tool, scopes: [scope], risk_level: 'write' });
    assert.equal(t.status, 201, t.text);
    for (const rule of example.rules) {
      const r = await admin('POST', `/v1/admin/agents/${agentId}/rules`, rule);
      assert.equal(r.status, 201, `${example.title}: ${r.text}`);
    }
    for (const call of example.calls) {
      const request = { tool, scope, ...(call.arguments ? { arguments: call.arguments } : {}), ...(call.reasoning ? { reasoning: call.reasoning } : {}) };
      const sim = await admin('POST', '/v1/admin/simulate', {
        agent_id: agentId, request, ...(call.at ? { at: call.at } : {}), ...(call.client_ip ? { client_ip: call.client_ip } : {}),
      });
      assert.equal(sim.status, 200, sim.text);
      assert.equal(sim.body.reason, call.reason, `${example.title}, simulate ${JSON.stringify(call)}: ${sim.body.message}`);
      if (!call.at) {
        const headers = call.client_ip ? { 'CF-Connecting-IP': call.client_ip } : {};
        const v = await raw('POST', '/v1/validate', request, { key: created.body.api_key, headers });
        assert.equal(v.body.reason, call.reason, `${example.title}, validate ${JSON.stringify(call)}: ${v.body.message}`);
      }
    }
  });
}
