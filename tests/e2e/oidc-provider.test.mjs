// The local OpenID Connect provider harness (tests/support/oidc.mjs) held to the standard the
// worker relies on: discovery, the authorization-code flow with PKCE, the token endpoint with
// client_secret_basic and as a public client, ID tokens verified by a third-party JOSE library
// (jose) against the provider's JWKS (issuer, audience, nonce, acr/amr with and without a second
// factor), refusal of a wrong or missing code_verifier, no consent page, and the login page's form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startOidcProvider, signInHeadless, subjectFor } from '../support/oidc.mjs';

const REDIRECT = 'http://127.0.0.1:9/v1/auth/callback'; // never contacted: signInHeadless stops there
const PUBLIC_REDIRECT = 'http://127.0.0.1:9/cli/callback';

let op, discovery, jwks;

before(async () => {
  op = await startOidcProvider({
    clients: [
      { client_id: 'oakauth', client_secret: 'oakauth-local-secret', redirect_uris: [REDIRECT] },
      { client_id: 'oakauth-cli', redirect_uris: [PUBLIC_REDIRECT] },
    ],
  });
  const res = await fetch(`${op.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  discovery = await res.json();
  jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
});
after(async () => { await op?.close(); });

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

function authorizationRequest({ clientId = 'oakauth', redirectUri = REDIRECT, scope = 'openid email profile', extra = {} } = {}) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    client_id: clientId,
    response_type: 'code',
    scope,
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { url: url.href, verifier, state, nonce, redirectUri, clientId };
}

async function token(form, { basic } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  const res = await fetch(discovery.token_endpoint, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json() };
}

async function codeFor(req, who) {
  const callback = new URL(await signInHeadless(req.url, who));
  assert.equal(callback.origin + callback.pathname, req.redirectUri);
  assert.equal(callback.searchParams.get('state'), req.state);
  assert.equal(callback.searchParams.get('iss'), op.issuer);
  assert.equal(callback.searchParams.get('error'), null);
  const code = callback.searchParams.get('code');
  assert.ok(code);
  return code;
}

const exchange = (req, code, verifier = req.verifier) => token({
  grant_type: 'authorization_code', code, redirect_uri: req.redirectUri, code_verifier: verifier,
}, { basic: ['oakauth', 'oakauth-local-secret'] });

test('discovery document describes an http issuer on 127.0.0.1 with code + PKCE S256', () => {
  assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(op.url, op.issuer);
  assert.equal(discovery.issuer, op.issuer);
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
    assert.ok(discovery[key].startsWith(`${op.issuer}/`), key);
  }
  assert.deepEqual(discovery.response_types_supported, ['code']);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(discovery.token_endpoint_auth_methods_supported.includes('none'));
  for (const s of ['openid', 'email', 'profile']) assert.ok(discovery.scopes_supported.includes(s), s);
  for (const c of ['sub', 'email', 'email_verified', 'name', 'acr', 'amr']) assert.ok(discovery.claims_supported.includes(c), c);
});

test('the JWKS publishes one public RS256 signing key and nothing private', async () => {
  const res = await fetch(discovery.jwks_uri);
  assert.equal(res.status, 200);
  const { keys } = await res.json();
  assert.equal(keys.length, 1);
  assert.equal(keys[0].kty, 'RSA');
  assert.equal(keys[0].alg, 'RS256');
  assert.equal(keys[0].use, 'sig');
  assert.ok(keys[0].kid);
  for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(keys[0][secret], undefined, secret);
});

test('code + PKCE without a second factor: ID token verifies with amr [pwd], acr pwd', async () => {
  const req = authorizationRequest();
  const code = await codeFor(req, { login: 'Alice@Example.com' });
  const r = await exchange(req, code);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'Bearer');
  assert.ok(r.body.access_token);
  assert.equal(decodeProtectedHeader(r.body.id_token).alg, 'RS256');

  const { payload } = await jwtVerify(r.body.id_token, jwks, {
    issuer: op.issuer, audience: 'oakauth', algorithms: ['RS256'],
  });
  assert.equal(payload.nonce, req.nonce);
  assert.equal(payload.sub, subjectFor('alice@example.com'));
  assert.match(payload.sub, /^user-[0-9a-f]{16}$/);
  assert.equal(payload.email, 'alice@example.com');
  assert.equal(payload.email_verified, true);
  assert.equal(payload.name, 'Alice');
  assert.deepEqual(payload.amr, ['pwd']);
  assert.equal(payload.acr, 'pwd');
  assert.equal(typeof payload.auth_time, 'number');
  assert.ok(payload.exp - payload.iat <= 3600);

  // The access token works at userinfo and gives the same person.
  const info = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${r.body.access_token}` } });
  assert.equal(info.status, 200);
  const claims = await info.json();
  assert.equal(claims.sub, payload.sub);
  assert.equal(claims.email, 'alice@example.com');

  // A code is single-use.
  const again = await exchange(req, code);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
});

test('with a second factor and a display name: amr [pwd, otp], acr mfa, the name given; sub stable', async () => {
  const req = authorizationRequest();
  const code = await codeFor(req, { login: 'alice@example.com', name: 'Alice Liddell', mfa: true });
  const r = await exchange(req, code);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { payload } = await jwtVerify(r.body.id_token, jwks, { issuer: op.issuer, audience: 'oakauth' });
  assert.equal(payload.nonce, req.nonce);
  assert.equal(payload.sub, subjectFor('alice@example.com'));
  assert.equal(payload.name, 'Alice Liddell');
  assert.deepEqual(payload.amr, ['pwd', 'otp']);
  assert.equal(payload.acr, 'mfa');
});

test('different people get different subjects', async () => {
  const req = authorizationRequest();
  const r = await exchange(req, await codeFor(req, { login: 'bob@example.com' }));
  const { payload } = await jwtVerify(r.body.id_token, jwks, { issuer: op.issuer, audience: 'oakauth' });
  assert.equal(payload.email, 'bob@example.com');
  assert.equal(payload.name, 'Bob');
  assert.notEqual(payload.sub, subjectFor('alice@example.com'));
});

test('a wrong or missing code_verifier is refused', async () => {
  const req = authorizationRequest();
  const code = await codeFor(req, { login: 'mallory@example.com' });
  const wrong = await exchange(req, code, b64url(randomBytes(32)));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');

  const req2 = authorizationRequest();
  const code2 = await codeFor(req2, { login: 'mallory@example.com' });
  const missing = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT },
    { basic: ['oakauth', 'oakauth-local-secret'] });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_grant');
});

test('PKCE is required at the authorization endpoint, even for the confidential client', async () => {
  const req = authorizationRequest({ extra: { code_challenge: undefined, code_challenge_method: undefined } });
  const callback = new URL(await signInHeadless(req.url, { login: 'alice@example.com' }));
  assert.equal(callback.searchParams.get('error'), 'invalid_request');
  assert.match(callback.searchParams.get('error_description'), /PKCE/);
  assert.equal(callback.searchParams.get('code'), null);

  const plain = authorizationRequest({ extra: { code_challenge_method: 'plain' } });
  const cb2 = new URL(await signInHeadless(plain.url, { login: 'alice@example.com' }));
  assert.equal(cb2.searchParams.get('error'), 'invalid_request');
});

test('the client secret is checked; a public client exchanges its code with PKCE alone', async () => {
  const req = authorizationRequest();
  const code = await codeFor(req, { login: 'alice@example.com' });
  const bad = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: req.verifier },
    { basic: ['oakauth', 'not-the-secret'] });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error, 'invalid_client');

  const pub = authorizationRequest({ clientId: 'oakauth-cli', redirectUri: PUBLIC_REDIRECT });
  const pubCode = await codeFor(pub, { login: 'carol@example.com', mfa: true });
  const r = await token({
    grant_type: 'authorization_code', client_id: 'oakauth-cli', code: pubCode, redirect_uri: PUBLIC_REDIRECT, code_verifier: pub.verifier,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { payload } = await jwtVerify(r.body.id_token, jwks, { issuer: op.issuer, audience: 'oakauth-cli' });
  assert.equal(payload.nonce, pub.nonce);
  assert.deepEqual(payload.amr, ['pwd', 'otp']);
});

test('an unregistered redirect_uri gets an error page, never a redirect', async () => {
  const req = authorizationRequest({ redirectUri: 'http://127.0.0.1:9/elsewhere' });
  const res = await fetch(req.url, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /redirect_uri/);
});

test('the login page is a labelled form, pre-filled from login_hint, and rejects a non-address', async () => {
  const req = authorizationRequest({ extra: { login_hint: 'dora@example.com' } });
  const jarCookies = [];
  let res = await fetch(req.url, { redirect: 'manual' });
  jarCookies.push(...res.headers.getSetCookie().map((c) => c.split(';')[0]));
  assert.equal(res.status, 303);
  const interactionUrl = new URL(res.headers.get('location'), op.issuer);
  assert.match(interactionUrl.pathname, /^\/interaction\/[\w-]+$/);
  res = await fetch(interactionUrl, { headers: { cookie: jarCookies.join('; ') } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<label for="login">Email<\/label>/);
  assert.match(html, /<input id="login" name="login" type="email"[^>]*value="dora@example.com"/);
  assert.match(html, /<label for="name">Display name<\/label>/);
  assert.match(html, /<input id="mfa" name="mfa" type="checkbox"/);
  assert.match(html, /<label for="mfa">I used a second factor<\/label>/);
  assert.match(html, /<button type="submit">Sign in<\/button>/);
  assert.match(html, new RegExp(`action="${interactionUrl.pathname}/login"`));

  const post = await fetch(new URL(`${interactionUrl.pathname}/login`, op.issuer), {
    method: 'POST',
    headers: { cookie: jarCookies.join('; '), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'login=not-an-address&name=%3Cb%3E',
    redirect: 'manual',
  });
  assert.equal(post.status, 400);
  const again = await post.text();
  assert.match(again, /role="alert"/);
  assert.match(again, /value="&lt;b&gt;"/, 'user input is escaped');

  // Without the interaction cookie the page is refused.
  const stranger = await fetch(interactionUrl);
  assert.equal(stranger.status, 400);
});

test('idTokenTTL shortens the ID token lifetime', async () => {
  const short = await startOidcProvider({ redirectUris: [REDIRECT], idTokenTTL: 5 });
  try {
    assert.equal(short.clientId, 'oakauth');
    assert.equal(short.clientSecret, 'oakauth-local-secret');
    const d = await (await fetch(`${short.issuer}/.well-known/openid-configuration`)).json();
    const verifier = b64url(randomBytes(32));
    const url = new URL(d.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: 'oakauth', response_type: 'code', scope: 'openid email', redirect_uri: REDIRECT, state: 's', nonce: 'n',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    const code = new URL(await signInHeadless(url, { login: 'erin@example.com' })).searchParams.get('code');
    const res = await fetch(d.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('oakauth:oakauth-local-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(d.jwks_uri)), { issuer: short.issuer, audience: 'oakauth' });
    assert.equal(payload.exp - payload.iat, 5);
    assert.equal(payload.email, 'erin@example.com');
    assert.equal(payload.name, undefined, 'profile scope not requested');
    // A token from this provider does not verify against the other provider's keys.
    await assert.rejects(jwtVerify(body.id_token, jwks, { issuer: short.issuer, audience: 'oakauth' }));
  } finally {
    await short.close();
  }
});

test('scripts/oidc-provider.mjs prints its issuer and client on one line and serves until killed', { timeout: 30_000 }, async () => {
  const script = fileURLToPath(new URL('../../scripts/oidc-provider.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--redirect-uri', REDIRECT], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await new Promise((resolve, reject) => {
      const rl = createInterface({ input: child.stdout });
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const info = JSON.parse(line);
    assert.deepEqual(Object.keys(info).sort(), ['client_id', 'client_secret', 'issuer']);
    assert.match(info.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(info.client_id, 'oakauth');
    assert.equal(info.client_secret, 'oakauth-local-secret');
    const d = await (await fetch(`${info.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(d.issuer, info.issuer);
  } finally {
    // A child that is gone already would never emit 'exit' again: waiting for it hung a clean-clone run.
    if (child.exitCode !== null || child.signalCode !== null) {
      assert.fail(`scripts/oidc-provider.mjs exited by itself (${child.exitCode ?? child.signalCode}) instead of serving until killed`);
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});
