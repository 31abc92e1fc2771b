// oakauth/webhooks against real deliveries: the worker in local workerd delivers approval events to
// a receiver on this machine, and verifyWebhook() (the Standard Webhooks reference library inside)
// verifies each one, before and after a secret rotation.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { OakAuth, OakAuthAdmin, OakAuthConfigurationError } from 'oakauth';
import { WebhookVerificationError, WebhookVerifier, verifyWebhook } from 'oakauth/webhooks';
import { startWorker } from '../../tests/support/worker.mjs';

let worker;
let admin;
let agent;
let receiver;
const deliveries = []; // { headers, body } as received

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  worker = await startWorker({ vars: { WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true' } });
  admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  const created = await admin.createAgent({ name: 'webhooks-agent', rate_limit: { capacity: 1000, refill_per_second: 100 } });
  agent = { id: created.agent.id, key: created.api_key };
  await admin.createTool(agent.id, { name: 'payments', scopes: ['send'], risk_level: 'write' });
  await admin.createRule(agent.id, { tool: 'payments', scope: 'send', effect: 'require_approval' });
});

after(async () => {
  await worker?.stop();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve()));
});

const oak = () => new OakAuth({ apiKey: agent.key, ...worker.endpoint });

/** Waits until a delivery whose body mentions `text` has arrived. */
async function deliveryMentioning(text, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = deliveries.find((d) => d.body.toString('utf8').includes(text));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no delivery mentioning ${text} within ${timeoutMs} ms; got ${deliveries.length}: ${deliveries.map((d) => d.body.toString()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Asks for a payment that needs approval; resolves to the approval id. */
async function requestApproval(to) {
  const err = await oak().guard({ tool: 'payments', scope: 'send', arguments: { amount: 900, to } }, () => 'paid').catch((e) => e);
  assert.equal(err.reason, 'approval_required', err.message);
  return err.approvalId;
}

describe('verifying real deliveries', () => {
  let webhook;

  it('approval.requested and approval.decided arrive signed, and verifyWebhook returns their events', async () => {
    webhook = await admin.createWebhook({ url: `http://127.0.0.1:${receiver.address().port}/hooks/oakauth`, event_types: ['approval.requested', 'approval.decided'] });
    assert.match(webhook.secret, /^whsec_/);
    const verifier = new WebhookVerifier(webhook.secret);

    const id = await requestApproval('acct_hook_1');
    const requested = await deliveryMentioning(id);
    const event = verifier.verify(requested.body, requested.headers);
    assert.equal(event.type, 'approval.requested');
    assert.ok(JSON.stringify(event.data).includes(id));
    assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
    assert.match(requested.headers['webhook-id'], /^msg_/);
    // A string body verifies too; a changed one does not.
    assert.deepEqual(verifyWebhook(webhook.secret, requested.body.toString('utf8'), requested.headers), event);
    assert.throws(() => verifier.verify(requested.body.toString('utf8').replace(id, 'apr_other'), requested.headers), WebhookVerificationError);

    await admin.decideApproval(id, { decision: 'deny', comment: 'no' });
    const decided = await deliveryMentioning('approval.decided');
    const decidedEvent = verifier.verify(decided.body, decided.headers);
    assert.equal(decidedEvent.type, 'approval.decided');
    assert.ok(JSON.stringify(decidedEvent.data).includes(id));

    const { deliveries: log } = await admin.listWebhookDeliveries(webhook.id);
    const entry = log.find((d) => d.id === requested.headers['webhook-id']);
    assert.equal(entry.status, 'delivered');
    assert.equal(entry.last_status_code, 204);
  });

  it('after a secret rotation, a delivery verifies with the new secret and, during the overlap, the old one', async () => {
    const rotated = await admin.rotateWebhookSecret(webhook.id, { overlap_seconds: 3600 });
    assert.notEqual(rotated.secret, webhook.secret);
    const id = await requestApproval('acct_hook_2');
    const delivery = await deliveryMentioning(id);
    assert.equal(verifyWebhook(rotated.secret, delivery.body, delivery.headers).type, 'approval.requested');
    assert.equal(verifyWebhook(webhook.secret, delivery.body, delivery.headers).type, 'approval.requested');
    assert.throws(() => verifyWebhook(`whsec_${Buffer.alloc(32, 3).toString('base64')}`, delivery.body, delivery.headers), WebhookVerificationError);
  });

  it('a secret shorter than 24 bytes is refused before any delivery is looked at', () => {
    const [delivery] = deliveries;
    assert.throws(() => verifyWebhook(`whsec_${Buffer.alloc(23, 1).toString('base64')}`, delivery.body, delivery.headers), OakAuthConfigurationError);
  });
});
