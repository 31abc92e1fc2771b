// People against the real worker in local workerd: sign-in through a real OpenID provider run on
// this machine (npm `oidc-provider`, tests/support/oidc.mjs), sessions as a cookie or a bearer
// token, CSRF, invitations, roles across organizations, revocation on the next request, MFA, the
// first organization from a setup token, and who did what in the admin events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startWorker } from '../support/worker.mjs';
import { client } from '../support/api.mjs';
import { startOidcProvider, signInHeadless } from '../support/oidc.mjs';
import { receiver, closeReceivers, verified, until } from '../support/hooks.mjs';

const DASHBOARD = 'http://127.0.0.1:8788';
let idp, worker, call;

before(async () => {
  const port = await freePort();
  idp = await startOidcProvider({ redirectUris: [`http://127.0.0.1:${port}/v1/auth/callback`] });
  worker = await startWorker({
    port,
    vars: {
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      SIGNUP: 'open',
      DASHBOARD_URL: DASHBOARD,
      // Personal organizations on Pro: these tests invite and create more than Free allows
      // (plan limits have their own tests, tests/e2e/quotas.test.mjs).
      DEFAULT_PLAN: 'pro',
    },
  });
  call = client(worker.baseUrl, null);
});
after(async () => {
  await worker?.stop();
  await idp?.close();
});

/** Starts a sign-in at the worker, signs in at the provider, and returns to the worker's callback. */
async function signIn(email, { mfa = false, name, invitation, returnTo = `${DASHBOARD}/` } = {}) {
  const q = new URLSearchParams({ return_to: returnTo, ...(invitation ? { invitation } : {}) });
  const start = await fetch(`${worker.baseUrl}/v1/auth/login?${q}`, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const toProvider = start.headers.get('location');
  assert.ok(toProvider.startsWith(idp.issuer), toProvider);
  const back = await signInHeadless(toProvider, { login: email, name, mfa });
  assert.ok(back.startsWith(`${worker.baseUrl}/v1/auth/callback?`), back);
  const done = await fetch(back, { redirect: 'manual' });
  assert.equal(done.status, 302, await done.text());
  const location = done.headers.get('location');
  const cookie = done.headers.getSetCookie().find((c) => c.startsWith('oak_session='));
  const token = cookie?.match(/^oak_session=([^;]+)/)?.[1];
  return { location, cookie, token, error: new URL(location).hash.match(/sign_in_error=(\w+)/)?.[1] };
}

/** A signed-in person: their cookie, CSRF token, organizations, and a bearer token for the API. */
async function person(email, options = {}) {
  const s = await signIn(email, options);
  assert.equal(s.error, undefined, `sign-in of ${email} failed: ${s.location}`);
  assert.match(s.cookie, /HttpOnly/);
  assert.match(s.cookie, /SameSite=Lax/);
  assert.match(s.token, /^oaks_/);
  const info = await call('GET', '/v1/auth/session', undefined, { headers: { Cookie: `oak_session=${s.token}` } });
  assert.equal(info.status, 200, info.text);
  const cookieHeaders = { Cookie: `oak_session=${s.token}`, 'X-CSRF-Token': info.body.csrf_token };
  const minted = await call('POST', '/v1/auth/tokens', { name: 'tests' }, { headers: cookieHeaders });
  assert.equal(minted.status, 201, minted.text);
  assert.match(minted.body.token, /^oaks_/);
  return { ...s, info: info.body, cookieHeaders, bearer: minted.body.token };
}

/** An admin API client acting as `who` in organization `org`. */
const as = (who, org) => (method, path, body, options = {}) =>
  call(method, path, body, { key: who.bearer, ...options, headers: { 'OakAuth-Organization': org, ...(options.headers ?? {}) } });

let alice, aliceOrg, bob, invitedBob;

test('the sign-in configuration says single sign-on is on and sign-up is open', async () => {
  const r = await call('GET', '/v1/auth/config');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { sso: true, issuer: idp.issuer, signup: 'open' });
});

test('a first sign-in creates a personal organization that the person owns', async () => {
  alice = await person('alice@example.com', { name: 'Alice', mfa: true });
  assert.deepEqual(alice.info.user.email, 'alice@example.com');
  assert.equal(alice.info.user.name, 'Alice');
  assert.equal(alice.info.organizations.length, 1);
  assert.equal(alice.info.organizations[0].role, 'owner');
  assert.equal(alice.info.session.mfa, true);
  aliceOrg = alice.info.organizations[0].id;
  const me = await call('GET', '/v1/admin/me', undefined, { key: alice.bearer });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.role, 'owner');
  assert.deepEqual(me.body.actor, { type: 'user', id: alice.info.user.id, name: 'Alice', email: 'alice@example.com', key_prefix: null });
  assert.equal(me.body.key_prefix, null);
  // The personal organization is on DEFAULT_PLAN.
  const usage = await call('GET', '/v1/admin/usage', undefined, { key: alice.bearer });
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.body.plan, 'pro');
  // The cookie itself works on the admin API too, for reads.
  const viaCookie = await call('GET', '/v1/admin/agents', undefined, { headers: { Cookie: `oak_session=${alice.token}` } });
  assert.equal(viaCookie.status, 200);
});

test('return_to must be an allowed dashboard origin', async () => {
  for (const bad of ['https://evil.example.com/', 'javascript:alert(1)', 'http://127.0.0.1:9/x']) {
    const r = await fetch(`${worker.baseUrl}/v1/auth/login?return_to=${encodeURIComponent(bad)}`, { redirect: 'manual' });
    assert.equal(r.status, 400, bad);
    assert.equal((await r.json()).error.code, 'invalid_request');
  }
});

test('a callback is single use and needs a state the worker issued', async () => {
  const unknown = await fetch(`${worker.baseUrl}/v1/auth/callback?code=x&state=nothing-we-sent`, { redirect: 'manual' });
  assert.equal(unknown.status, 400);
  const q = new URLSearchParams({ return_to: `${DASHBOARD}/` });
  const start = await fetch(`${worker.baseUrl}/v1/auth/login?${q}`, { redirect: 'manual' });
  const back = await signInHeadless(start.headers.get('location'), { login: 'carol@example.com' });
  const first = await fetch(back, { redirect: 'manual' });
  assert.equal(first.status, 302);
  const again = await fetch(back, { redirect: 'manual' });
  assert.equal(again.status, 400, 'the same callback a second time is refused');
  assert.equal(again.headers.getSetCookie().length, 0);
});

test('cookie writes need the CSRF token and an allowed origin; bearer sessions need neither', async () => {
  const cookieOnly = { Cookie: `oak_session=${alice.token}` };
  const body = { name: 'csrf-probe' };
  const without = await call('POST', '/v1/admin/agents', body, { headers: cookieOnly });
  assert.equal(without.status, 403);
  assert.equal(without.body.error.code, 'csrf_failed');
  assert.match(without.body.error.message, /X-CSRF-Token/);
  const wrong = await call('POST', '/v1/admin/agents', body, { headers: { ...cookieOnly, 'X-CSRF-Token': 'f'.repeat(64) } });
  assert.equal(wrong.status, 403);
  const foreign = await call('POST', '/v1/admin/agents', body, { headers: { ...alice.cookieHeaders, Origin: 'https://evil.example.com' } });
  assert.equal(foreign.status, 403);
  assert.match(foreign.body.error.message, /Origin/);
  const ok = await call('POST', '/v1/admin/agents', body, { headers: { ...alice.cookieHeaders, Origin: DASHBOARD } });
  assert.equal(ok.status, 201, ok.text);
  const bearer = await call('POST', '/v1/admin/agents', { name: 'bearer-made' }, { key: alice.bearer });
  assert.equal(bearer.status, 201, bearer.text);
  // Logging out with the cookie is a write too.
  const logout = await call('POST', '/v1/auth/logout', undefined, { headers: cookieOnly });
  assert.equal(logout.status, 403);
});

test('an invitation is for one address, single use and expiring; accepting it adds the role', async () => {
  const admin = as(alice, aliceOrg);
  const inv = await admin('POST', '/v1/admin/invitations', { email: 'Bob@Example.com', role: 'viewer' });
  assert.equal(inv.status, 201, inv.text);
  assert.match(inv.body.token, /^oaki_/);
  assert.equal(inv.body.url, `${DASHBOARD}/#/invitations/${inv.body.token}`);
  assert.equal(inv.body.invitation.email, 'bob@example.com');
  assert.equal(inv.body.invitation.status, 'pending');
  assert.equal(inv.body.invitation.invited_by, 'Alice');
  invitedBob = inv.body;
  const preview = await call('GET', `/v1/auth/invitations/${inv.body.token}`);
  assert.equal(preview.status, 200);
  assert.deepEqual([preview.body.email, preview.body.role, preview.body.status], ['bob@example.com', 'viewer', 'pending']);
  assert.equal(preview.body.organization.id, aliceOrg);
  // Someone else signed in cannot take it.
  const eve = await person('eve@example.com', { name: 'Eve' });
  const stolen = await call('POST', `/v1/auth/invitations/${inv.body.token}/accept`, undefined, { key: eve.bearer });
  assert.equal(stolen.status, 403);
  assert.equal(stolen.body.error.code, 'invitation_wrong_account');
  // Bob signs up (his own organization), then accepts.
  bob = await person('bob@example.com', { name: 'Bob' });
  assert.equal(bob.info.organizations.length, 1);
  const accepted = await call('POST', `/v1/auth/invitations/${inv.body.token}/accept`, undefined, { headers: bob.cookieHeaders });
  assert.equal(accepted.status, 200, accepted.text);
  assert.deepEqual(accepted.body.organization, { id: aliceOrg, name: "Alice's organization", role: 'viewer' });
  const reused = await call('POST', `/v1/auth/invitations/${inv.body.token}/accept`, undefined, { key: bob.bearer });
  assert.equal(reused.status, 409);
  assert.equal(reused.body.error.code, 'invitation_used');
  // An expired one is refused.
  const late = await admin('POST', '/v1/admin/invitations', { email: 'dan@example.com', role: 'admin' });
  await worker.d1(`UPDATE invitations SET expires_at = 1 WHERE id = '${late.body.invitation.id}'`);
  const dan = await person('dan@example.com');
  const expired = await call('POST', `/v1/auth/invitations/${late.body.token}/accept`, undefined, { key: dan.bearer });
  assert.equal(expired.status, 410);
  assert.equal(expired.body.error.code, 'invitation_expired');
  // A revoked one too, and listing shows each status.
  const withdrawn = await admin('POST', '/v1/admin/invitations', { email: 'dan@example.com', role: 'viewer' });
  assert.equal((await admin('DELETE', `/v1/admin/invitations/${withdrawn.body.invitation.id}`)).status, 204);
  const revoked = await call('POST', `/v1/auth/invitations/${withdrawn.body.token}/accept`, undefined, { key: dan.bearer });
  assert.equal(revoked.status, 410);
  assert.equal(revoked.body.error.code, 'invitation_revoked');
  const list = await admin('GET', '/v1/admin/invitations');
  const status = Object.fromEntries(list.body.invitations.map((i) => [i.id, i.status]));
  assert.equal(status[invitedBob.invitation.id], 'accepted');
  assert.equal(status[late.body.invitation.id], 'expired');
  assert.equal(status[withdrawn.body.invitation.id], 'revoked');
});

test('a person in two organizations names one; a viewer reads and changes nothing; other organizations stay closed', async () => {
  const bare = await call('GET', '/v1/admin/agents', undefined, { key: bob.bearer });
  assert.equal(bare.status, 400);
  assert.equal(bare.body.error.code, 'organization_required');
  assert.match(bare.body.error.message, /OakAuth-Organization/);
  const inAlices = as(bob, aliceOrg);
  const me = await inAlices('GET', '/v1/admin/me');
  assert.equal(me.body.role, 'viewer');
  const agents = await inAlices('GET', '/v1/admin/agents');
  assert.equal(agents.status, 200);
  assert.ok(agents.body.agents.some((a) => a.name === 'bearer-made'));
  const write = await inAlices('POST', '/v1/admin/agents', { name: 'viewer-tries' });
  assert.equal(write.status, 403);
  assert.match(write.body.error.message, /needs the admin role; you are viewer/);
  const someAgent = agents.body.agents[0].id;
  assert.equal((await inAlices('DELETE', `/v1/admin/agents/${someAgent}`)).status, 403);
  assert.equal((await inAlices('GET', '/v1/admin/webhooks')).status, 403);
  assert.equal((await inAlices('POST', '/v1/admin/invitations', { email: 'x@example.com', role: 'viewer' })).status, 403);
  // The seeded organization B is not Bob's.
  const other = await call('GET', '/v1/admin/agents', undefined, { key: bob.bearer, headers: { 'OakAuth-Organization': worker.otherOrgId } });
  assert.equal(other.status, 403);
  // In his own organization, Alice's agent is not found.
  const own = bob.info.organizations[0].id;
  assert.equal((await as(bob, own)('GET', `/v1/admin/agents/${someAgent}`)).status, 404);
  const malformed = await call('GET', '/v1/admin/agents', undefined, { key: bob.bearer, headers: { 'OakAuth-Organization': 'not-an-org' } });
  assert.equal(malformed.status, 403);
  const tooLong = await call('GET', '/v1/admin/agents', undefined, { key: bob.bearer, headers: { 'OakAuth-Organization': 'org_' + 'x'.repeat(80) } });
  assert.equal(tooLong.status, 400);
  // An admin key acts in its own organization only.
  const keyElsewhere = await call('GET', '/v1/admin/agents', undefined, { key: worker.adminKey, headers: { 'OakAuth-Organization': aliceOrg } });
  assert.equal(keyElsewhere.status, 403);
});

test('admins invite at most admins; only owners change roles, keys and the organization; the last owner stays', async () => {
  const owner = as(alice, aliceOrg);
  const promote = await owner('PATCH', `/v1/admin/members/${bob.info.user.id}`, { role: 'admin' });
  assert.equal(promote.status, 200, promote.text);
  assert.equal(promote.body.role, 'admin');
  const bobAdmin = as(bob, aliceOrg);
  assert.equal((await bobAdmin('POST', '/v1/admin/invitations', { email: 'fay@example.com', role: 'owner' })).status, 403);
  assert.equal((await bobAdmin('POST', '/v1/admin/invitations', { email: 'fay@example.com', role: 'admin' })).status, 201);
  assert.equal((await bobAdmin('GET', '/v1/admin/keys')).status, 403);
  assert.equal((await bobAdmin('PATCH', '/v1/admin/organization', { name: 'mine now' })).status, 403);
  assert.equal((await bobAdmin('PATCH', `/v1/admin/members/${alice.info.user.id}`, { role: 'viewer' })).status, 403);
  const lastOwner = await owner('PATCH', `/v1/admin/members/${alice.info.user.id}`, { role: 'admin' });
  assert.equal(lastOwner.status, 409);
  assert.equal(lastOwner.body.error.code, 'last_owner');
  assert.equal((await owner('DELETE', `/v1/admin/members/${alice.info.user.id}`)).status, 409);
  const badRole = await owner('PATCH', `/v1/admin/members/${bob.info.user.id}`, { role: 'superuser' });
  assert.equal(badRole.status, 400);
  const members = await owner('GET', '/v1/admin/members');
  assert.deepEqual(members.body.members.map((m) => [m.email, m.role]).sort(), [['alice@example.com', 'owner'], ['bob@example.com', 'admin']]);
});

test('named, role-scoped, expiring admin keys: a viewer key reads only, a revoked or expired key stops at once', async () => {
  const owner = as(alice, aliceOrg);
  const made = await owner('POST', '/v1/admin/keys', { name: 'ci reader', role: 'viewer', expires_in_days: 30 });
  assert.equal(made.status, 201, made.text);
  assert.match(made.body.secret, /^oakadm_/);
  assert.equal(made.body.key.created_by, 'Alice');
  assert.ok(made.body.key.expires_at);
  const reader = client(worker.baseUrl, made.body.secret);
  const me = await reader('GET', '/v1/admin/me');
  assert.equal(me.body.role, 'viewer');
  assert.deepEqual([me.body.actor.type, me.body.actor.name], ['key', 'ci reader']);
  assert.equal((await reader('GET', '/v1/admin/agents')).status, 200);
  assert.equal((await reader('POST', '/v1/admin/agents', { name: 'nope' })).status, 403);
  assert.equal((await owner('POST', '/v1/admin/keys', { name: 'x', role: 'viewer', expires_in_days: 0 })).status, 400);
  const keys = await owner('GET', '/v1/admin/keys');
  assert.ok(keys.body.keys.some((k) => k.id === made.body.key.id && k.name === 'ci reader'));
  assert.ok(!keys.text.includes(made.body.secret));
  assert.equal((await owner('DELETE', `/v1/admin/keys/${made.body.key.id}`)).status, 204);
  assert.equal((await reader('GET', '/v1/admin/agents')).status, 401);
  const soon = await owner('POST', '/v1/admin/keys', { name: 'short-lived', role: 'admin', expires_in_days: 1 });
  const shortLived = client(worker.baseUrl, soon.body.secret);
  assert.equal((await shortLived('GET', '/v1/admin/agents')).status, 200);
  await worker.d1(`UPDATE admin_keys SET expires_at = 1 WHERE id = '${soon.body.key.id}'`);
  assert.equal((await shortLived('GET', '/v1/admin/agents')).status, 401);
  // The seeded key comes from oakauth-keygen, whose keys are their organization's owner's.
  const seeded = await call('GET', '/v1/admin/me', undefined, { key: worker.adminKey });
  assert.equal(seeded.body.role, 'owner', seeded.text);
  assert.deepEqual([seeded.body.actor.type, seeded.body.actor.name], ['key', 'bootstrap']);
});

test('revoking a session and removing a member take effect on the next request', async () => {
  const extra = await person('gus@example.com');
  const sessions = await call('GET', '/v1/auth/sessions', undefined, { key: extra.bearer });
  assert.equal(sessions.status, 200);
  const kinds = sessions.body.sessions.map((s) => s.kind).sort();
  assert.deepEqual(kinds, ['bearer', 'cookie']);
  const cookieSession = sessions.body.sessions.find((s) => s.kind === 'cookie');
  assert.equal((await call('DELETE', `/v1/auth/sessions/${cookieSession.id}`, undefined, { key: extra.bearer })).status, 204);
  const gone = await call('GET', '/v1/auth/session', undefined, { headers: { Cookie: `oak_session=${extra.token}` } });
  assert.equal(gone.status, 401);
  // Someone else's session id is not found.
  assert.equal((await call('DELETE', `/v1/auth/sessions/${cookieSession.id}`, undefined, { key: alice.bearer })).status, 404);
  // Logout ends the session and clears the cookie.
  const fresh = await person('hal@example.com');
  const out = await call('POST', '/v1/auth/logout', undefined, { headers: fresh.cookieHeaders });
  assert.equal(out.status, 204);
  assert.match(out.headers.getSetCookie().join(), /oak_session=;.*Max-Age=0/);
  assert.equal((await call('GET', '/v1/auth/session', undefined, { headers: { Cookie: `oak_session=${fresh.token}` } })).status, 401);
  // Removing Bob from Alice's organization ends his sessions at once.
  const bobAdmin = as(bob, aliceOrg);
  assert.equal((await bobAdmin('GET', '/v1/admin/agents')).status, 200);
  assert.equal((await as(alice, aliceOrg)('DELETE', `/v1/admin/members/${bob.info.user.id}`)).status, 204);
  assert.equal((await bobAdmin('GET', '/v1/admin/agents')).status, 401);
  assert.equal((await call('GET', '/v1/auth/session', undefined, { headers: { Cookie: `oak_session=${bob.token}` } })).status, 401);
});

test('an organization that requires MFA refuses sign-in and sessions without a second factor', async () => {
  const owner = as(alice, aliceOrg);
  // Ivy joins as a viewer, signing in without a second factor.
  const inv = await owner('POST', '/v1/admin/invitations', { email: 'ivy@example.com', role: 'viewer' });
  const ivy = await person('ivy@example.com', { invitation: inv.body.token });
  const ivyHere = as(ivy, aliceOrg);
  assert.equal((await ivyHere('GET', '/v1/admin/me')).body.role, 'viewer');
  const on = await owner('PATCH', '/v1/admin/organization', { require_mfa: true });
  assert.equal(on.status, 200, on.text);
  assert.equal(on.body.require_mfa, true);
  const refused = await ivyHere('GET', '/v1/admin/agents');
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /multi-factor/);
  const noFactor = await signIn('ivy@example.com');
  assert.equal(noFactor.error, 'mfa_required');
  assert.equal(noFactor.cookie, undefined);
  const withFactor = await person('ivy@example.com', { mfa: true });
  assert.equal((await as(withFactor, aliceOrg)('GET', '/v1/admin/agents')).status, 200);
  assert.equal((await owner('PATCH', '/v1/admin/organization', { require_mfa: false })).status, 200);
});

test('admin events name who did what: people by name, keys by name and prefix', async () => {
  const events = await as(alice, aliceOrg)('GET', '/v1/admin/events?limit=100');
  assert.equal(events.status, 200);
  const byAction = (a) => events.body.events.filter((e) => e.action === a);
  const invited = byAction('invitation.create').find((e) => e.detail.email === 'bob@example.com');
  assert.deepEqual([invited.actor_type, invited.actor_id, invited.actor_name, invited.actor], ['user', alice.info.user.id, 'Alice', 'alice@example.com']);
  const joined = byAction('member.join').find((e) => e.actor_id === bob.info.user.id);
  assert.equal(joined.actor_name, 'Bob');
  assert.ok(byAction('member.role_change').some((e) => e.detail.to === 'admin'));
  assert.ok(byAction('member.remove').some((e) => e.target_id === bob.info.user.id));
  assert.ok(byAction('key.create').some((e) => e.detail.name === 'ci reader'));
  assert.ok(byAction('key.revoke').length >= 1);
  assert.ok(byAction('organization.update').some((e) => e.detail.require_mfa === true));
  const created = byAction('agent.create').find((e) => e.detail.name === 'bearer-made');
  assert.equal(created.actor_name, 'Alice');
  // A key's events name the key.
  const made = await as(alice, aliceOrg)('POST', '/v1/admin/keys', { name: 'deployer', role: 'admin' });
  const deployer = client(worker.baseUrl, made.body.secret);
  assert.equal((await deployer('POST', '/v1/admin/agents', { name: 'deployed' })).status, 201);
  const later = await as(alice, aliceOrg)('GET', '/v1/admin/events?limit=5');
  const byKey = later.body.events.find((e) => e.action === 'agent.create');
  assert.deepEqual([byKey.actor_type, byKey.actor_name, byKey.actor], ['key', 'deployer', made.body.key.key_prefix]);
  assert.ok(!JSON.stringify(later.body).includes(made.body.secret));
});

test('invitations reach webhooks as invitation.created with their link, verified with the reference library', async () => {
  const r = await receiver();
  try {
    const owner = as(alice, aliceOrg);
    const hook = await owner('POST', '/v1/admin/webhooks', { url: r.url, event_types: ['invitation.created'] });
    assert.equal(hook.status, 201, hook.text);
    const inv = await owner('POST', '/v1/admin/invitations', { email: 'jo@example.com', role: 'viewer' });
    await until(() => r.got.length > 0, 20_000, 'the invitation webhook');
    const event = verified(hook.body.secret, r.got[0]);
    assert.equal(event.type, 'invitation.created');
    assert.equal(event.data.url, inv.body.url);
    assert.equal(event.data.email, 'jo@example.com');
    assert.equal(event.data.invited_by, 'Alice');
  } finally {
    closeReceivers();
  }
});

test('every admin route enforces the role docs/openapi.yaml states, for keys and for people alike', async () => {
  const { spec } = await import('../support/api.mjs');
  const owner = as(alice, aliceOrg);
  const keys = {};
  for (const role of ['viewer', 'admin', 'owner']) {
    const made = await owner('POST', '/v1/admin/keys', { name: `matrix ${role}`, role });
    assert.equal(made.status, 201, made.text);
    keys[role] = made.body.secret;
  }
  const people = {};
  for (const role of ['viewer', 'admin']) {
    const email = `matrix-${role}@example.com`;
    const inv = await owner('POST', '/v1/admin/invitations', { email, role });
    people[role] = await person(email, { invitation: inv.body.token, mfa: true });
  }
  people.owner = alice;
  const rank = { viewer: 0, admin: 1, owner: 2 };
  const operations = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    if (!template.startsWith('/v1/admin/')) continue;
    for (const method of ['get', 'post', 'patch', 'delete']) {
      if (!item[method]) continue;
      const needed = item[method]['x-oakauth-role'];
      assert.ok(needed in rank, `${method.toUpperCase()} ${template} names no role`);
      // Ids that exist nowhere: the role is checked before anything is looked up.
      const path = template.replace(/\{[^}]+\}/g, (p) => (p.includes('user') ? 'usr_' : 'x_') + 'A'.repeat(22));
      operations.push({ method: method.toUpperCase(), template, path, needed });
    }
  }
  assert.ok(operations.length >= 45, `only ${operations.length} admin operations found`);
  const send = (op, headers) =>
    fetch(worker.baseUrl + op.path, {
      method: op.method,
      headers: { ...headers, ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { 'Content-Type': 'application/json' }) },
      body: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{}',
    });
  for (const role of ['viewer', 'admin', 'owner']) {
    const callers = {
      key: { Authorization: `Bearer ${keys[role]}` },
      person: { Authorization: `Bearer ${people[role].bearer}`, 'OakAuth-Organization': aliceOrg },
    };
    for (const [kind, headers] of Object.entries(callers)) {
      for (const op of operations) {
        const r = await send(op, headers);
        const body = await r.text();
        const what = `${op.method} ${op.template} as ${role} ${kind}: ${r.status} ${body.slice(0, 160)}`;
        if (rank[role] < rank[op.needed]) {
          assert.equal(r.status, 403, what);
          assert.match(body, new RegExp(`needs the ${op.needed} role`), what);
        } else {
          assert.notEqual(r.status, 403, what);
          assert.notEqual(r.status, 401, what);
        }
      }
    }
  }
});
