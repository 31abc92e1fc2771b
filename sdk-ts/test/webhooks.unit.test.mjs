// oakauth/webhooks: deliveries signed by the Standard Webhooks reference library (and the
// specification's own vector) verify; anything changed, stale or unsigned does not; short
// secrets are refused.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { OakAuthConfigurationError, OakAuthError } from 'oakauth';
import { MIN_WEBHOOK_SECRET_BYTES, WebhookVerificationError, WebhookVerifier, verifyWebhook } from 'oakauth/webhooks';

// The specification's reference vector (24-byte secret), as core/src/webhook/tests.rs uses it.
const REF = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
// The vector made with the npm library for the core's tests: a 32-byte secret, non-ASCII body.
const NPM = {
  secret: 'whsec_AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=',
  id: 'msg_2LJoT3cWZUumFRvH8KfY',
  timestamp: 1_700_000_000,
  body: '{"type":"approval.requested","timestamp":"2023-11-14T22:13:20.123Z","data":{"note":"café ✓"}}',
  signature: 'v1,kqxUnpX+sUzaFxPDRCJE7nSOVcfLfgWAYiwJqjbpnNE=',
};
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const EVENT = { type: 'approval.decided', timestamp: '2030-01-01T00:00:00.000Z', data: { approval_id: 'apr_1', status: 'approved', note: 'ünïcödé' } };

const headersOf = (v, overrides = {}) => ({ 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': v.signature, ...overrides });

/** A delivery signed now by the reference library. */
function signed(event = EVENT, secret = SECRET, id = 'msg_1') {
  const body = JSON.stringify(event);
  const now = new Date();
  return { body, headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, body) } };
}

function at(seconds, fn) {
  mock.timers.enable({ apis: ['Date'], now: seconds * 1000 });
  try {
    return fn();
  } finally {
    mock.timers.reset();
  }
}

describe('verifying deliveries', () => {
  it('the npm vector verifies and gives its event', () => {
    const event = at(NPM.timestamp, () => verifyWebhook(NPM.secret, NPM.body, headersOf(NPM)));
    assert.deepEqual(event, { type: 'approval.requested', timestamp: '2023-11-14T22:13:20.123Z', data: { note: 'café ✓' } });
  });

  it('the reference vector verifies, but its body is not an OakAuth event', () => {
    const err = at(REF.timestamp, () => {
      try {
        verifyWebhook(REF.secret, REF.body, headersOf(REF));
      } catch (e) {
        return e;
      }
    });
    assert.ok(err instanceof WebhookVerificationError);
    assert.match(err.message, /verified, but its body is not an event/);
  });

  it('a delivery signed by the reference library verifies from a string, bytes or fetch Headers, header names in any case', () => {
    const { body, headers } = signed();
    const verifier = new WebhookVerifier(SECRET);
    assert.deepEqual(verifier.verify(body, headers), EVENT);
    assert.deepEqual(verifier.verify(Buffer.from(body), headers), EVENT);
    assert.deepEqual(verifier.verify(new TextEncoder().encode(body), new Headers(headers)), EVENT);
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(verifier.verify(body, shouted), EVENT);
  });

  it('during a secret rotation either secret verifies the two signatures sent', () => {
    const other = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const { body, headers } = signed();
    const second = new Webhook(other).sign('msg_1', new Date(Number(headers['webhook-timestamp']) * 1000), body);
    const both = { ...headers, 'webhook-signature': `${headers['webhook-signature']} ${second}` };
    assert.deepEqual(verifyWebhook(SECRET, body, both), EVENT);
    assert.deepEqual(verifyWebhook(other, body, both), EVENT);
  });

  const refusals = [
    ['a changed body', (d) => ({ ...d, body: d.body.replace('approved', 'denied') })],
    ['a re-serialized body', (d) => ({ ...d, body: JSON.stringify(JSON.parse(d.body), null, 1) })],
    ['another message id', (d) => ({ ...d, headers: { ...d.headers, 'webhook-id': 'msg_2' } })],
    ['another timestamp', (d) => ({ ...d, headers: { ...d.headers, 'webhook-timestamp': String(Number(d.headers['webhook-timestamp']) - 1) } })],
    ['a timestamp with trailing letters', (d) => ({ ...d, headers: { ...d.headers, 'webhook-timestamp': `${d.headers['webhook-timestamp']}abc` } })],
    ['another signature version', (d) => ({ ...d, headers: { ...d.headers, 'webhook-signature': d.headers['webhook-signature'].replace('v1,', 'v1a,') } })],
    ['no signature header', (d) => ({ ...d, headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': d.headers['webhook-timestamp'] } })],
    ['an empty signature header', (d) => ({ ...d, headers: { ...d.headers, 'webhook-signature': '' } })],
    ['a header given twice', (d) => ({ ...d, headers: { ...d.headers, 'Webhook-Id': 'msg_1' } })],
    ['a header as a list', (d) => ({ ...d, headers: { ...d.headers, 'webhook-id': ['msg_1', 'msg_1'] } })],
    ['bytes that are not UTF-8', (d) => ({ ...d, body: Uint8Array.from([0x7b, 0xff, 0x7d]) })],
  ];
  for (const [what, change] of refusals) {
    it(`${what} does not verify`, () => {
      const { body, headers } = change(signed());
      assert.throws(() => verifyWebhook(SECRET, body, headers), (e) => e instanceof WebhookVerificationError && e instanceof OakAuthError);
    });
  }

  it('another secret does not verify', () => {
    const { body, headers } = signed();
    assert.throws(() => verifyWebhook(`whsec_${Buffer.alloc(32, 8).toString('base64')}`, body, headers), /No matching signature/);
  });

  it('a delivery more than 5 minutes old, or from more than 5 minutes ahead, does not verify', () => {
    const { body, headers } = signed();
    const sent = Number(headers['webhook-timestamp']);
    assert.throws(() => at(sent + 301, () => verifyWebhook(SECRET, body, headers)), /too old/);
    assert.throws(() => at(sent - 301, () => verifyWebhook(SECRET, body, headers)), /too new/);
    assert.deepEqual(at(sent + 299, () => verifyWebhook(SECRET, body, headers)), EVENT);
  });

  it('a signed body that is not {type, timestamp, data} is refused', () => {
    for (const event of [[1], { type: 'x', timestamp: 't' }, { type: '', timestamp: 't', data: {} }, { type: 'x', timestamp: 1, data: {} }, { type: 'x', timestamp: 't', data: [] }]) {
      const { body, headers } = signed(event);
      assert.throws(() => verifyWebhook(SECRET, body, headers), /not an event/);
    }
    const { headers } = signed();
    const garbage = signed(EVENT);
    const notJson = 'not json';
    const sig = new Webhook(SECRET).sign('msg_1', new Date(Number(headers['webhook-timestamp']) * 1000), notJson);
    assert.throws(() => verifyWebhook(SECRET, notJson, { ...garbage.headers, 'webhook-signature': sig }), /not JSON/);
  });

  it('an event type this version does not know comes through', () => {
    const { body, headers } = signed({ type: 'quota.exceeded', timestamp: 't', data: {} });
    assert.equal(verifyWebhook(SECRET, body, headers).type, 'quota.exceeded');
  });

  it('parsed JSON instead of the raw body is a programming error', () => {
    const { headers } = signed();
    assert.throws(() => verifyWebhook(SECRET, EVENT, headers), TypeError);
  });
});

describe('webhook secrets', () => {
  const secretOf = (bytes) => `whsec_${Buffer.alloc(bytes, 1).toString('base64')}`;

  it(`a secret shorter than ${MIN_WEBHOOK_SECRET_BYTES} bytes is refused with a clear error that does not repeat it`, () => {
    assert.equal(MIN_WEBHOOK_SECRET_BYTES, 24);
    for (const bytes of [0, 1, 16, 23]) {
      const secret = secretOf(bytes);
      assert.throws(
        () => new WebhookVerifier(secret),
        (e) => e instanceof OakAuthConfigurationError && e.message.includes(`has ${bytes} bytes`) && e.message.includes('at least 24') && (bytes === 0 || !e.message.includes(secret.slice(6))),
      );
    }
    for (const bytes of [24, 32, 64]) new WebhookVerifier(secretOf(bytes));
  });

  it('verifyWebhook refuses a short secret before looking at the delivery', () => {
    const { body, headers } = signed(EVENT, secretOf(16));
    assert.throws(() => verifyWebhook(secretOf(16), body, headers), OakAuthConfigurationError);
  });

  it('a secret without whsec_, or not base64, is refused', () => {
    for (const bad of [Buffer.alloc(32, 1).toString('base64'), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA', undefined]) {
      assert.throws(() => new WebhookVerifier(bad), OakAuthConfigurationError);
    }
  });
});
