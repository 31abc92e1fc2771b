// The admin client's people calls (issue 19) against a recording fetch: the exact requests a
// person's session sends (cookie, organization, CSRF token on writes only) and those of a bearer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OakAuthAdmin, OakAuthAuthenticationError, OakAuthConfigurationError, OakAuthConflictError } from 'oakauth';
import { json, scriptedFetch } from './support/fake-fetch.mjs';

const BASE = 'https://oak.test';
const noContent = () => () => new Response(null, { status: 204, headers: { 'x-request-id': 'req_test' } });
const session = (fetch, s = { organizationId: 'org_a', csrfToken: 'csrf_1' }) => new OakAuthAdmin({ baseUrl: BASE, session: s, fetch, retries: 0 });
const member = { user_id: 'usr_b', email: 'bob@example.com', name: 'Bob', role: 'admin', joined_at: 't' };

describe('a session client', () => {
  it('reads with the cookie and the organization, without a CSRF token or an Authorization header', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { members: [member] }));
    const list = await session(fetch).listMembers();
    assert.deepEqual(list.members, [member]);
    const [call] = calls;
    assert.equal(call.url, `${BASE}/v1/admin/members`);
    assert.equal(call.init.method, 'GET');
    assert.equal(call.init.credentials, 'include');
    assert.equal(call.init.headers['OakAuth-Organization'], 'org_a');
    assert.equal(call.init.headers['X-CSRF-Token'], undefined);
    assert.equal(call.init.headers.Authorization, undefined);
  });

  it('sends the CSRF token on every write: POST, PATCH and DELETE', async () => {
    const { fetch, calls } = scriptedFetch(
      json(201, { invitation: {}, token: 'oaki_x', url: 'https://dash/#/invitations/oaki_x' }),
      json(200, { ...member, role: 'viewer' }),
      noContent(),
    );
    const admin = session(fetch);
    await admin.createInvitation({ email: 'bob@example.com', role: 'viewer' });
    await admin.updateMember('usr_b', 'viewer');
    await admin.removeMember('usr_b');
    assert.deepEqual(
      calls.map((c) => [c.init.method, c.url, c.init.headers['X-CSRF-Token'], c.init.credentials, c.body]),
      [
        ['POST', `${BASE}/v1/admin/invitations`, 'csrf_1', 'include', { email: 'bob@example.com', role: 'viewer' }],
        ['PATCH', `${BASE}/v1/admin/members/usr_b`, 'csrf_1', 'include', { role: 'viewer' }],
        ['DELETE', `${BASE}/v1/admin/members/usr_b`, 'csrf_1', 'include', undefined],
      ],
    );
  });

  it('without an organization sends no OakAuth-Organization header (a person in one organization)', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { sso: true, issuer: 'https://idp', signup: 'open' }));
    const config = await new OakAuthAdmin({ baseUrl: BASE, session: {}, fetch }).authConfig();
    assert.equal(config.sso, true);
    assert.equal(calls[0].url, `${BASE}/v1/auth/config`);
    assert.equal(calls[0].init.headers['OakAuth-Organization'], undefined);
    assert.equal(calls[0].init.credentials, 'include');
  });

  it('does not read OAKAUTH_ADMIN_KEY when given a session', async () => {
    process.env.OAKAUTH_ADMIN_KEY = 'oakadm_from_env';
    try {
      const { fetch, calls } = scriptedFetch(json(200, { sessions: [] }));
      await session(fetch).listSessions();
      assert.equal(calls[0].init.headers.Authorization, undefined);
    } finally {
      delete process.env.OAKAUTH_ADMIN_KEY;
    }
  });

  it('calls each people route with its method and path', async () => {
    const routes = [
      [(a) => a.session(), 'GET', '/v1/auth/session', json(200, { user: {}, session: {}, csrf_token: 'c', organizations: [] })],
      [(a) => a.logout(), 'POST', '/v1/auth/logout', noContent()],
      [(a) => a.listSessions(), 'GET', '/v1/auth/sessions', json(200, { sessions: [] })],
      [(a) => a.revokeSession('ses_1'), 'DELETE', '/v1/auth/sessions/ses_1', noContent()],
      [(a) => a.createToken('laptop'), 'POST', '/v1/auth/tokens', json(201, { session: {}, token: 'oaks_x' })],
      [(a) => a.invitationPreview('oaki_a/b'), 'GET', '/v1/auth/invitations/oaki_a%2Fb', json(200, { email: 'e' })],
      [(a) => a.acceptInvitation('oaki_1'), 'POST', '/v1/auth/invitations/oaki_1/accept', json(200, { organization: {} })],
      [(a) => a.endMemberSessions('usr_b'), 'DELETE', '/v1/admin/members/usr_b/sessions', noContent()],
      [(a) => a.listInvitations({ limit: 5 }), 'GET', '/v1/admin/invitations?limit=5', json(200, { invitations: [], next_cursor: null })],
      [(a) => a.revokeInvitation('inv_1'), 'DELETE', '/v1/admin/invitations/inv_1', noContent()],
      [(a) => a.listAdminKeys(), 'GET', '/v1/admin/keys', json(200, { keys: [] })],
      [(a) => a.createAdminKey({ name: 'ci', role: 'viewer', expires_in_days: 30 }), 'POST', '/v1/admin/keys', json(201, { key: {}, secret: 'oakadm_x' })],
      [(a) => a.revokeAdminKey('adk_1'), 'DELETE', '/v1/admin/keys/adk_1', noContent()],
      [(a) => a.organization(), 'GET', '/v1/admin/organization', json(200, { id: 'org_a' })],
      [(a) => a.updateOrganization({ require_mfa: true }), 'PATCH', '/v1/admin/organization', json(200, { id: 'org_a' })],
    ];
    for (const [call, method, path, answer] of routes) {
      const { fetch, calls } = scriptedFetch(answer);
      await call(session(fetch));
      assert.equal(calls.length, 1, path);
      assert.equal(calls[0].init.method, method, path);
      assert.equal(calls[0].url, BASE + path);
      assert.equal(calls[0].init.headers['X-CSRF-Token'], method === 'GET' ? undefined : 'csrf_1', path);
    }
  });

  it('the token name and the key body travel as given', async () => {
    const { fetch, calls } = scriptedFetch(json(201, { session: {}, token: 'oaks_x' }), json(201, { key: {}, secret: 'oakadm_x' }));
    const admin = session(fetch);
    assert.equal((await admin.createToken('laptop CLI')).token, 'oaks_x');
    await admin.createAdminKey({ name: 'ci', role: 'viewer', expires_in_days: 30 });
    assert.deepEqual(calls.map((c) => c.body), [{ name: 'laptop CLI' }, { name: 'ci', role: 'viewer', expires_in_days: 30 }]);
  });

  it('turns refusals into typed errors with their code', async () => {
    const { fetch } = scriptedFetch(
      json(403, { error: { code: 'csrf_failed', message: 'missing or wrong X-CSRF-Token' } }),
      json(409, { error: { code: 'last_owner', message: 'the last owner cannot be demoted' } }),
    );
    const admin = session(fetch);
    const csrf = await admin.createInvitation({ email: 'x@example.com', role: 'viewer' }).catch((e) => e);
    assert.ok(csrf instanceof OakAuthAuthenticationError);
    assert.equal(csrf.code, 'csrf_failed');
    const last = await admin.updateMember('usr_a', 'viewer').catch((e) => e);
    assert.ok(last instanceof OakAuthConflictError);
    assert.equal(last.code, 'last_owner');
  });
});

describe('a bearer session token', () => {
  it('is sent as a bearer, with the organization, and no cookie or CSRF token', async () => {
    const { fetch, calls } = scriptedFetch(json(201, { invitation: {}, token: 'oaki_x', url: 'u' }));
    const admin = new OakAuthAdmin({ baseUrl: BASE, adminKey: 'oaks_token', session: { organizationId: 'org_b', csrfToken: 'ignored' }, fetch });
    await admin.createInvitation({ email: 'c@example.com', role: 'admin' });
    const { init } = calls[0];
    assert.equal(init.headers.Authorization, 'Bearer oaks_token');
    assert.equal(init.headers['OakAuth-Organization'], 'org_b');
    assert.equal(init.headers['X-CSRF-Token'], undefined);
    assert.equal(init.credentials, undefined);
  });

  it('an admin key alone works as before: no cookie, no organization header', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { members: [] }));
    await new OakAuthAdmin({ baseUrl: BASE, adminKey: 'oakadm_k', fetch }).listMembers();
    assert.equal(calls[0].init.headers.Authorization, 'Bearer oakadm_k');
    assert.equal(calls[0].init.credentials, undefined);
    assert.equal(calls[0].init.headers['OakAuth-Organization'], undefined);
  });

  it('without a key or a session the client refuses to start', () => {
    assert.throws(() => new OakAuthAdmin({ baseUrl: BASE, fetch: async () => {} }), OakAuthConfigurationError);
  });
});
