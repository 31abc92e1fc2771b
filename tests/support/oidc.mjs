// A real, local OpenID Connect provider for the tests and the dev command: panva's `oidc-provider`
// (OpenID Certified), configured for the authorization-code flow with PKCE on http://127.0.0.1,
// with its own small login page (any e-mail address signs in, no password) and no consent page.
//
//   const op = await startOidcProvider({ redirectUris: ['http://127.0.0.1:8787/v1/auth/callback'] });
//   // op.issuer, op.clientId, op.clientSecret; the worker discovers the rest from
//   // `${op.issuer}/.well-known/openid-configuration`.
//   const callback = await signInHeadless(authorizationUrl, { login: 'alice@example.com', mfa: true });
//   await op.close();
//
// ID tokens are signed with RS256 by a key generated at start. They carry sub, email,
// email_verified (true), name, nonce, auth_time, acr ('pwd' or 'mfa') and amr (['pwd'] or
// ['pwd', 'otp']), as chosen on the login page. Accounts live in memory for the provider's life.
//
// oidc-provider is pinned exactly (9.13.3, root devDependencies): the configuration below leans on
// its option names and defaults (claims, acrValues, loadExistingGrant, conformIdTokenClaims),
// which move between releases. On Node 20 it prints "Unsupported runtime" at import; it works.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const DEFAULT_CLIENT_ID = 'oakauth';
const DEFAULT_CLIENT_SECRET = 'oakauth-local-secret';
const MAX_FORM_BYTES = 16 * 1024;

/** The `sub` the provider gives to the person who signs in as `email` (stable across runs). */
export function subjectFor(email) {
  return 'user-' + createHash('sha256').update(normalizeLogin(email)).digest('hex').slice(0, 16);
}

function normalizeLogin(login) {
  return String(login).trim().toLowerCase();
}

function defaultName(email) {
  const local = email.split('@')[0];
  return local.charAt(0).toUpperCase() + local.slice(1);
}

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function loginPage({ uid, clientId, loginHint = '', name = '', error = '' }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in – local identity provider</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin-top: 1rem; }
  input[type=email], input[type=text] { display: block; width: 100%; padding: .4rem; box-sizing: border-box; }
  .check { display: flex; gap: .5rem; align-items: center; margin-top: 1rem; }
  .check label { margin: 0; }
  button { margin-top: 1.5rem; padding: .5rem 1.2rem; }
  .error { color: #b00020; }
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>Local OpenID Connect provider for development and tests. Any e-mail address signs in; there is no password.
Application: <code>${escapeHtml(clientId)}</code></p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label for="login">Email</label>
  <input id="login" name="login" type="email" autocomplete="username" required autofocus value="${escapeHtml(loginHint)}">
  <label for="name">Display name</label>
  <input id="name" name="name" type="text" autocomplete="name" value="${escapeHtml(name)}">
  <div class="check">
    <input id="mfa" name="mfa" type="checkbox" value="1">
    <label for="mfa">I used a second factor</label>
  </div>
  <button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

/**
 * Starts the provider on 127.0.0.1.
 * @param {object} [opts]
 * @param {number} [opts.port] default: a free port
 * @param {string[]} [opts.redirectUris] redirect URIs of the default client ('oakauth' / 'oakauth-local-secret')
 * @param {{client_id: string, client_secret?: string, redirect_uris: string[]}[]} [opts.clients]
 *   replaces the default client; a client without client_secret is public (token_endpoint_auth_method 'none')
 * @param {number} [opts.idTokenTTL] ID token lifetime in seconds (default 3600)
 * @param {boolean} [opts.conformIdTokenClaims] true: the ID token carries only sub and the
 *   session claims (acr, amr, auth_time, ...), email and name come from userinfo, as oidc-provider
 *   does by default; false (default): email, email_verified and name are in the ID token too.
 * @returns {Promise<{issuer: string, url: string, port: number, clientId: string, clientSecret: string|undefined, close: () => Promise<void>}>}
 */
export async function startOidcProvider(opts = {}) {
  const clients = (opts.clients ?? [{
    client_id: DEFAULT_CLIENT_ID,
    client_secret: DEFAULT_CLIENT_SECRET,
    redirect_uris: opts.redirectUris ?? [],
  }]).map((c) => {
    if (!c.client_id) throw new Error('startOidcProvider: every client needs a client_id');
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) {
      throw new Error(`startOidcProvider: client ${c.client_id} needs redirect_uris (opts.redirectUris for the default client)`);
    }
    return {
      client_id: c.client_id,
      ...(c.client_secret
        ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' }
        : { token_endpoint_auth_method: 'none' }),
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    };
  });

  // The provider needs its issuer (and so its port) before it is built: listen first, hand requests
  // over once the provider exists.
  let handle = (_req, res) => { res.writeHead(503); res.end(); };
  const server = createServer((req, res) => handle(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  // accountId -> { email, name }; filled by the login page.
  const accounts = new Map();

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Our own login page below, not the package's development pages.
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // PKCE for every client, confidential ones included (oidc-provider's default only requires it
    // for public clients). S256 is the only method oidc-provider 9 supports.
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile'],
    responseTypes: ['code'],
    // oidc-provider puts acr, amr and auth_time in an ID token only when they are requested (the
    // claims parameter, acr_values, max_age), `amr` is not among its default claims, and `acr` is
    // dropped from claims_supported unless acrValues is non-empty. Making them claims of the
    // `openid` scope puts what the login page recorded in every ID token.
    acrValues: ['pwd', 'mfa'],
    claims: {
      iss: null,
      sid: null,
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    conformIdTokenClaims: opts.conformIdTokenClaims ?? false,
    // Fixed lifetimes (seconds); setting them also silences oidc-provider's notices about defaults.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      Grant: 14 * 24 * 3600,
      IdToken: opts.idTokenTTL ?? 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: account.email, email_verified: true, name: account.name };
        },
      };
    },
    // No consent page: a first sign-in gets a grant for the OpenID scopes and claims it asked for,
    // so the flow goes from the login page straight back to the redirect_uri.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!grant) {
        grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.session.accountId,
        });
      }
      const scopes = [...ctx.oidc.requestParamOIDCScopes];
      if (scopes.length) grant.addOIDCScope(scopes.join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>`
        + `<body><h1>Sign-in error</h1><p><code>${escapeHtml(out.error)}</code>: ${escapeHtml(out.error_description)}</p></body></html>`;
    },
  });
  // Quiet: expected client errors (wrong code_verifier, ...) are reported to the client, not logged.
  provider.on('server_error', (_ctx, err) => { console.error('oidc-provider server_error:', err); });

  const providerCallback = provider.callback();

  async function interaction(req, res, url) {
    const m = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!m) return false;
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      sendHtml(res, 400, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><h1>Sign-in error</h1><p>${escapeHtml(err.message)}</p><p>Start again from the application.</p></body></html>`);
      return true;
    }
    const { uid, prompt, params } = details;
    if (uid !== m[1]) {
      sendHtml(res, 400, '<!doctype html><title>Error</title><p>Interaction mismatch.</p>');
      return true;
    }

    if (prompt.name === 'consent') {
      // Should not happen (loadExistingGrant grants), but never show a consent page: grant and go on.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return true;
    }

    if (req.method === 'GET' && !m[2]) {
      sendHtml(res, 200, loginPage({ uid, clientId: params.client_id, loginHint: params.login_hint ?? '' }));
      return true;
    }
    if (req.method === 'POST' && m[2]) {
      let form;
      try {
        form = await readForm(req);
      } catch (err) {
        res.writeHead(err.status ?? 400);
        res.end();
        return true;
      }
      const email = normalizeLogin(form.get('login') ?? '');
      const givenName = (form.get('name') ?? '').trim();
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
        sendHtml(res, 400, loginPage({
          uid, clientId: params.client_id, loginHint: form.get('login') ?? '', name: givenName,
          error: 'Enter an e-mail address, such as alice@example.com.',
        }));
        return true;
      }
      const mfa = form.has('mfa') && form.get('mfa') !== '' && form.get('mfa') !== 'false';
      const accountId = subjectFor(email);
      const previous = accounts.get(accountId);
      accounts.set(accountId, { email, name: givenName || previous?.name || defaultName(email) });
      await provider.interactionFinished(req, res, {
        login: {
          accountId,
          amr: mfa ? ['pwd', 'otp'] : ['pwd'],
          acr: mfa ? 'mfa' : 'pwd',
          remember: false,
        },
      }, { mergeWithLastSubmission: false });
      return true;
    }
    res.writeHead(405, { allow: m[2] ? 'POST' : 'GET' });
    res.end();
    return true;
  }

  handle = (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/interaction/')) {
      interaction(req, res, url).then((handled) => {
        if (!handled) { res.writeHead(404); res.end(); }
      }).catch((err) => {
        console.error('oidc interaction error:', err);
        if (!res.headersSent) { res.writeHead(500); }
        res.end();
      });
      return;
    }
    providerCallback(req, res);
  };

  return {
    issuer,
    url: issuer,
    port,
    clientId: clients[0].client_id,
    clientSecret: clients[0].client_secret,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** A small cookie jar for one origin: honours Path, Max-Age/Expires deletion; ignores Domain. */
class CookieJar {
  #cookies = new Map(); // `${path}\0${name}` -> { name, value, path }

  store(response, requestUrl) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = null;
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path') path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (!path || !path.startsWith('/')) {
        const p = new URL(requestUrl).pathname;
        path = p.slice(0, p.lastIndexOf('/')) || '/';
      }
      const id = `${path}\0${name}`;
      if (expired || value === '') this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matching = [...this.#cookies.values()].filter(({ path }) => pathname === path
      || pathname.startsWith(path.endsWith('/') ? path : `${path}/`));
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map(({ name, value }) => `${name}=${value}`).join('; ');
  }
}

/**
 * Signs in at the provider without a browser: follows the provider's redirects from
 * `authorizationUrl`, posts the login form, and returns the final redirect (the client's
 * redirect_uri with `code` and `state`, or with `error`) without following it.
 * @param {string|URL} authorizationUrl
 * @param {{login: string, name?: string, mfa?: boolean}} who
 * @returns {Promise<string>}
 */
export async function signInHeadless(authorizationUrl, { login, name, mfa = false } = {}) {
  const start = new URL(authorizationUrl);
  const providerOrigin = start.origin;
  const redirectUri = start.searchParams.get('redirect_uri');
  const jar = new CookieJar();
  let url = start.href;
  let method = 'GET';
  let body;
  let postedLogin = false;

  for (let hop = 0; hop < 20; hop++) {
    const headers = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    jar.store(res, url);

    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const location = new URL(res.headers.get('location'), url).href;
      const next = new URL(location);
      if (next.origin !== providerOrigin
        || (redirectUri && location.split('?')[0] === redirectUri.split('?')[0])) {
        return location;
      }
      url = location;
      method = 'GET';
      body = undefined;
      continue;
    }

    const text = await res.text();
    const path = new URL(url).pathname;
    if (res.status === 200 && method === 'GET' && /^\/interaction\/[\w-]+$/.test(path) && !postedLogin) {
      const form = new URLSearchParams({ login });
      if (name) form.set('name', name);
      if (mfa) form.set('mfa', '1');
      url = new URL(`${path}/login`, url).href;
      method = 'POST';
      body = form.toString();
      postedLogin = true;
      continue;
    }
    const summary = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new Error(`signInHeadless: unexpected ${res.status} from ${method} ${url}: ${summary}`);
  }
  throw new Error('signInHeadless: too many redirects');
}
