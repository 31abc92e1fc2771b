// Signed decision receipts against the real worker in local workerd: every allowed decision
// carries an Ed25519 JWS that verifies with a third-party JOSE library (jose, on npm) against the
// worker's own /.well-known/jwks.json; denials carry none; rotation publishes both keys; a
// deployment without usable keys allows nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startWorker, TEST_RECEIPT_KEYS } from '../support/worker.mjs';
import { client, makeAgent } from '../support/api.mjs';

let worker, admin, raw;

before(async () => {
  worker = await startWorker();
  admin = client(worker.baseUrl, worker.adminKey);
  raw = client(worker.baseUrl, null);
});
after(async () => { await worker?.stop(); });

const validate = (call, key, body) => call('POST', '/v1/validate', body, { key });
// JSON.stringify with sorted keys is RFC 8785's form for these ASCII strings and integers.
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

test('an allowed decision carries a receipt that verifies against the published JWKS', async () => {
  const { agent, key } = await makeAgent(admin, { rules: { write: 'none' } });
  const args = { to: 'ana', amount: 10 };
  const r = await validate(raw, key, { tool: 'filesystem', scope: 'write', arguments: args });
  assert.equal(r.body.allowed, true, r.text);
  assert.match(r.body.receipt, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  const jwks = await raw('GET', '/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  assert.equal(jwks.headers.get('cache-control'), 'public, max-age=300');
  assert.equal(jwks.body.keys.length, 1);
  assert.deepEqual(Object.keys(jwks.body.keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  assert.equal(jwks.body.keys[0].kid, 'test-1');

  const { payload, protectedHeader } = await jwtVerify(r.body.receipt, createRemoteJWKSet(new URL(`${worker.baseUrl}/.well-known/jwks.json`)), {
    issuer: worker.baseUrl,
    typ: 'oakauth-receipt+jwt',
    algorithms: ['EdDSA'],
  });
  assert.deepEqual(protectedHeader, { alg: 'EdDSA', typ: 'oakauth-receipt+jwt', kid: 'test-1' });
  assert.deepEqual(Object.keys(payload).sort(), ['agent', 'args', 'exp', 'iat', 'iss', 'jti', 'org', 'scope', 'tool']);
  assert.equal(payload.org, worker.orgId);
  assert.equal(payload.agent, agent.id);
  assert.equal(payload.tool, 'filesystem');
  assert.equal(payload.scope, 'write');
  assert.equal(payload.jti, r.body.decision_id);
  assert.equal(payload.args, sha256('{"amount":10,"to":"ana"}'));
  assert.equal(payload.exp - payload.iat, 60);
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 30, `iat ${payload.iat}`);
  // The arguments themselves never travel in the receipt, only their digest.
  assert.ok(!Buffer.from(r.body.receipt.split('.')[1], 'base64url').toString().includes('ana'));

  // No arguments hash like {}.
  const bare = await validate(raw, key, { tool: 'filesystem', scope: 'write' });
  const claims = JSON.parse(Buffer.from(bare.body.receipt.split('.')[1], 'base64url').toString());
  assert.equal(claims.args, sha256('{}'));
  assert.notEqual(claims.jti, payload.jti);
});

test('denials carry no receipt, and a receipt altered in any way fails verification', async () => {
  const { key } = await makeAgent(admin, { rules: { read: 'none', write: 'hard' } });
  const denied = await validate(raw, key, { tool: 'filesystem', scope: 'write' });
  assert.equal(denied.body.allowed, false);
  assert.equal(denied.body.receipt, undefined);
  const unknown = await validate(raw, key, { tool: 'shell', scope: 'exec' });
  assert.equal(unknown.body.allowed, false);
  assert.equal(unknown.body.receipt, undefined);

  const ok = await validate(raw, key, { tool: 'filesystem', scope: 'read', arguments: { path: '/tmp/a' } });
  const jwks = createLocalJWKSet((await raw('GET', '/.well-known/jwks.json')).body);
  const [h, p, s] = ok.body.receipt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'write' })).toString('base64url');
  await assert.rejects(jwtVerify(`${h}.${forged}.${s}`, jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  // Signed by another Ed25519 key under the same kid.
  const { privateKey } = generateKeyPairSync('ed25519');
  const { SignJWT } = await import('jose');
  const other = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'oakauth-receipt+jwt', kid: 'test-1' }).sign(privateKey);
  await assert.rejects(jwtVerify(other, jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
});

test('a rotation publishes the old and the new key and signs with the new one', async () => {
  const newer = 'test-2:nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A';
  const w = await startWorker({ vars: { RECEIPT_KEYS: `${newer},${TEST_RECEIPT_KEYS}` } });
  try {
    const call = client(w.baseUrl, null);
    const { key } = await makeAgent(client(w.baseUrl, w.adminKey), { rules: { read: 'none' } });
    const jwks = await call('GET', '/.well-known/jwks.json');
    assert.deepEqual(jwks.body.keys.map((k) => k.kid), ['test-2', 'test-1']);
    // RFC 8037, appendix A: this private key's public key.
    assert.equal(jwks.body.keys[0].x, '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo');
    const r = await validate(call, key, { tool: 'filesystem', scope: 'read' });
    assert.equal(decodeProtectedHeader(r.body.receipt).kid, 'test-2');
    await jwtVerify(r.body.receipt, createLocalJWKSet(jwks.body), { issuer: w.baseUrl });
  } finally {
    await w.stop();
  }
});

test('without usable receipt keys nothing is allowed and the JWKS says why', async () => {
  const w = await startWorker({ vars: { RECEIPT_KEYS: 'not-a-key' } });
  try {
    const call = client(w.baseUrl, null);
    const { key } = await makeAgent(client(w.baseUrl, w.adminKey), { rules: { read: 'none' } });
    const r = await validate(call, key, { tool: 'filesystem', scope: 'read' });
    assert.equal(r.status, 200);
    assert.equal(r.body.allowed, false);
    assert.equal(r.body.reason, 'unavailable');
    assert.equal(r.body.receipt, undefined);
    const jwks = await call('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 500);
    assert.equal(jwks.body.error.code, 'internal_error');
    // The cause is logged for the operator, without the configured value.
    for (let i = 0; i < 50 && !/RECEIPT_KEYS: entry 1/.test(w.logs.join('')); i++) await new Promise((r) => setTimeout(r, 100));
    const logs = w.logs.join('');
    assert.match(logs, /RECEIPT_KEYS: entry 1 is not kid:seed/);
    assert.ok(!logs.includes('not-a-key'), 'the configured value is not logged');
  } finally {
    await w.stop();
  }
});
