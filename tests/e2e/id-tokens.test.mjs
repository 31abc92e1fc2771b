// The worker's ID-token check end to end: a local identity provider that answers the token
// request with a token made wrong in one way per case (wrong issuer, audience, expired, not yet
// valid, bad signature, unknown kid, alg none, HS256 keyed with the provider's public key, missing
// or wrong nonce) — failures a certified provider cannot be made to produce, so this provider is
// ours, at the network boundary, with tokens signed by `jose`. Each is refused: no session cookie,
// and the dashboard is told `id_token_invalid`. The same provider's correct token passes the check
// (and meets the closed sign-up). Also the one-time setup token that creates the first
// organization.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, base64url } from 'jose';
import { createHmac } from 'node:crypto';
import { freePort, startWorker } from '../support/worker.mjs';
import { client } from '../support/api.mjs';

const DASHBOARD = 'http://127.0.0.1:8788';
const SETUP_TOKEN = 'setup-token-for-tests-0123456789';
let issuer, server, worker, call, keys, publicJwk, mint;
const pending = new Map(); // code -> nonce

before(async () => {
  keys = await generateKeyPair('RS256', { extractable: true });
  publicJwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  server = createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [publicJwk] });
    if (url.pathname === '/auth') {
      // Signs in at once: back to the worker with a code bound to this request's nonce.
      const code = `code-${pending.size}-${Math.random().toString(36).slice(2)}`;
      pending.set(code, url.searchParams.get('nonce'));
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state'));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code');
      const nonce = pending.get(code);
      pending.delete(code);
      return json(200, { access_token: 'a', token_type: 'Bearer', id_token: await mint(nonce) });
    }
    json(404, {});
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  // Sign-up stays closed (the default), so a correct token ends at `signup_closed`.
  worker = await startWorker({ vars: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'oakauth', SETUP_TOKEN } });
  call = client(worker.baseUrl, null);
});
after(async () => {
  await worker?.stop();
  server?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const claims = (nonce) => ({ iss: issuer, aud: 'oakauth', sub: 'user-1', email: 'zed@example.com', email_verified: true, nonce });
const signed = (payload, header = {}) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header }).setIssuedAt().setExpirationTime('5m').sign(keys.privateKey);
const unsigned = (header, payload) => `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;

async function signInWith(tokenFor) {
  mint = tokenFor;
  const start = await fetch(`${worker.baseUrl}/v1/auth/login?return_to=${encodeURIComponent(`${DASHBOARD}/`)}`, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const atProvider = await fetch(start.headers.get('location'), { redirect: 'manual' });
  const done = await fetch(atProvider.headers.get('location'), { redirect: 'manual' });
  assert.equal(done.status, 302, await done.text());
  return { location: done.headers.get('location'), cookies: done.headers.getSetCookie() };
}

const cases = {
  'another issuer': (n) => signed({ ...claims(n), iss: 'https://evil.example.com' }),
  'another audience': (n) => signed({ ...claims(n), aud: 'someone-else' }),
  expired: (n) =>
    new SignJWT(claims(n)).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt(now() - 3600).setExpirationTime(now() - 600).sign(keys.privateKey),
  'not yet valid': (n) =>
    new SignJWT(claims(n)).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt(now() + 3600).setNotBefore(now() + 3600).setExpirationTime(now() + 7200).sign(keys.privateKey),
  'a bad signature': async (n) => {
    const t = await signed(claims(n));
    const [h, , s] = t.split('.');
    return `${h}.${base64url.encode(JSON.stringify({ ...claims(n), sub: 'admin', iat: now(), exp: now() + 300 }))}.${s}`;
  },
  'an unknown kid': (n) => signed(claims(n), { kid: 'k2' }),
  'alg none': (n) => `${unsigned({ alg: 'none', kid: 'k1' }, { ...claims(n), iat: now(), exp: now() + 300 })}.`,
  'HS256 keyed with the public key': (n) => {
    const input = unsigned({ alg: 'HS256', kid: 'k1' }, { ...claims(n), iat: now(), exp: now() + 300 });
    const mac = createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest();
    return `${input}.${base64url.encode(mac)}`;
  },
  'a missing nonce': () => signed({ ...claims(undefined), nonce: undefined }),
  'another nonce': () => signed(claims('not-the-one-we-sent')),
};

for (const [name, tokenFor] of Object.entries(cases)) {
  test(`an ID token with ${name} is refused`, async () => {
    const r = await signInWith(tokenFor);
    assert.equal(new URL(r.location).hash, '#sign_in_error=id_token_invalid', r.location);
    assert.deepEqual(r.cookies, []);
  });
}

test('the same provider\'s correct token passes the check, and closed sign-up then refuses a stranger', async () => {
  const r = await signInWith((n) => signed(claims(n)));
  assert.equal(new URL(r.location).hash, '#sign_in_error=signup_closed', r.location);
  assert.deepEqual(r.cookies, []);
  assert.equal((await call('GET', '/v1/auth/config')).body.signup, 'invite_only');
});

test('the setup token creates the first organization and its owner\'s invitation, once', async () => {
  const refused = await call('POST', '/v1/setup', { organization_name: 'Acme', owner_email: 'zed@example.com' }, { key: 'wrong-token-0123456789abcdef' });
  assert.equal(refused.status, 401);
  const made = await call('POST', '/v1/setup', { organization_name: 'Acme', owner_email: 'Zed@Example.com' }, { key: SETUP_TOKEN });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.organization.name, 'Acme');
  assert.equal(made.body.invitation.invitation.role, 'owner');
  assert.equal(made.body.invitation.invitation.email, 'zed@example.com');
  // The invited owner signs in through the link (sign-up is closed, the invitation opens it).
  mint = (n) => signed(claims(n));
  const q = new URLSearchParams({ return_to: `${DASHBOARD}/`, invitation: made.body.invitation.token });
  const start = await fetch(`${worker.baseUrl}/v1/auth/login?${q}`, { redirect: 'manual' });
  const atProvider = await fetch(start.headers.get('location'), { redirect: 'manual' });
  const done = await fetch(atProvider.headers.get('location'), { redirect: 'manual' });
  assert.equal(done.headers.get('location'), `${DASHBOARD}/`);
  const token = done.headers.getSetCookie().find((c) => c.startsWith('oak_session=')).match(/^oak_session=([^;]+)/)[1];
  const session = await call('GET', '/v1/auth/session', undefined, { headers: { Cookie: `oak_session=${token}` } });
  assert.deepEqual(session.body.organizations, [{ id: made.body.organization.id, name: 'Acme', role: 'owner' }]);
  // Without DEFAULT_PLAN, a new organization is on Free.
  const usage = await call('GET', '/v1/admin/usage', undefined, { headers: { Cookie: `oak_session=${token}` } });
  assert.equal(usage.status, 200, usage.text);
  assert.deepEqual([usage.body.plan, usage.body.quotas.agents.limit], ['free', 1]);
  const again = await call('POST', '/v1/setup', { organization_name: 'Other', owner_email: 'x@example.com' }, { key: SETUP_TOKEN });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'already_set_up');
});
