// Where the clients may send their key, and whom they believe: an explicit base URL, https (plain
// http only to a loopback address, on request), and no redirects, checked with real local servers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { OakAuth, OakAuthAdmin, OakAuthError } from 'oakauth';
import { decision } from './support/fake-fetch.mjs';

const run = promisify(execFile);
const KEY = 'oak_testkey';
const ADMIN_KEY = 'oakadm_testkey';
const REQUEST = { tool: 'filesystem', scope: 'read', reasoning: 'list the files the user asked about' };
const ENV = ['OAKAUTH_BASE_URL', 'OAKAUTH_ALLOW_INSECURE_LOOPBACK', 'OAKAUTH_API_KEY'];

/** Runs `fn` with the OakAuth environment variables set to `env` only, then restores them. */
async function withEnv(env, fn) {
  const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
  for (const name of ENV) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const name of ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

const configError = (message) => ({ name: 'OakAuthConfigurationError', message });
const noFetch = async () => {
  throw new Error('no request may be sent');
};

describe('the base URL', () => {
  it('is required: no option and no OAKAUTH_BASE_URL is a configuration error naming both', async () => {
    await withEnv({}, () => {
      for (const make of [() => new OakAuth({ apiKey: KEY, fetch: noFetch }), () => new OakAuthAdmin({ adminKey: ADMIN_KEY, fetch: noFetch })]) {
        assert.throws(make, (e) => e instanceof OakAuthError && e.name === 'OakAuthConfigurationError' && /baseUrl option or OAKAUTH_BASE_URL/.test(e.message));
      }
    });
  });

  it('the standalone guard() without OAKAUTH_BASE_URL rejects with it and does not run the action', async () => {
    const script = `
      import { guard } from 'oakauth';
      let ran = false;
      try { await guard({ tool: 't', scope: 's' }, () => { ran = true; }); console.log('resolved'); }
      catch (e) { console.log(e.name, ran); }`;
    const env = { ...process.env, OAKAUTH_API_KEY: KEY };
    delete env.OAKAUTH_BASE_URL;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: import.meta.dirname, env });
    assert.equal(stdout.trim(), 'OakAuthConfigurationError false');
  });

  it('is taken from OAKAUTH_BASE_URL', async () => {
    await withEnv({ OAKAUTH_BASE_URL: 'https://oak.example/' }, () => {
      assert.equal(new OakAuth({ apiKey: KEY }).baseUrl, 'https://oak.example');
      assert.equal(new OakAuthAdmin({ adminKey: ADMIN_KEY }).baseUrl, 'https://oak.example');
    });
  });

  it('must be https: plain http to a host that is not loopback is refused, even with the opt-in', async () => {
    await withEnv({ OAKAUTH_ALLOW_INSECURE_LOOPBACK: '1' }, () => {
      for (const baseUrl of ['http://oak.example', 'http://10.0.0.1:8787', 'http://128.0.0.1', 'http://localhost.evil.example', 'http://[::2]']) {
        assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl, allowInsecureLoopback: true }), configError(/must be https/), baseUrl);
        assert.throws(() => new OakAuthAdmin({ adminKey: ADMIN_KEY, baseUrl }), configError(/must be https/), baseUrl);
      }
      assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'ftp://oak.example' }), configError(/must be an https URL/));
      assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'not a url' }), configError(/not a URL/));
    });
  });

  it('plain http to a loopback address needs the opt-in', async () => {
    const loopback = ['http://127.0.0.1:8787', 'http://127.1.2.3', 'http://localhost:8787', 'http://[::1]:8787'];
    await withEnv({}, () => {
      for (const baseUrl of loopback) {
        assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl }), configError(/allowInsecureLoopback option or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1/), baseUrl);
        assert.throws(() => new OakAuthAdmin({ adminKey: ADMIN_KEY, baseUrl }), configError(/allowInsecureLoopback/), baseUrl);
        assert.equal(new OakAuth({ apiKey: KEY, baseUrl, allowInsecureLoopback: true }).baseUrl, baseUrl);
        assert.equal(new OakAuthAdmin({ adminKey: ADMIN_KEY, baseUrl, allowInsecureLoopback: true }).baseUrl, baseUrl);
      }
    });
    await withEnv({ OAKAUTH_ALLOW_INSECURE_LOOPBACK: '1', OAKAUTH_BASE_URL: 'http://127.0.0.1:8787' }, () => {
      assert.equal(new OakAuth({ apiKey: KEY }).baseUrl, 'http://127.0.0.1:8787');
      assert.equal(new OakAuthAdmin({ adminKey: ADMIN_KEY }).baseUrl, 'http://127.0.0.1:8787');
      // The option wins over the environment.
      assert.throws(() => new OakAuth({ apiKey: KEY, allowInsecureLoopback: false }), configError(/allowInsecureLoopback/));
    });
  });
});

/** Starts a local HTTP server; resolves to { url, requests, close() }. */
async function serve(handler) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('redirects', () => {
  // `other` is another server, which would allow anything and answer any admin call.
  let other;
  let redirector;
  let status;
  before(async () => {
    other = await serve((req, res) => {
      const body = req.url.startsWith('/v1/validate') ? decision() : { organization: { id: 'org_evil', name: 'evil' } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    redirector = await serve((req, res) => {
      res.writeHead(status, { location: `${other.url}${req.url}` }).end();
    });
  });
  after(async () => {
    await redirector?.close();
    await other?.close();
  });

  for (const code of [301, 302, 307, 308]) {
    it(`guard(): a ${code} to another origin is an error and the action does not run`, async () => {
      status = code;
      other.requests.length = 0;
      const oak = new OakAuth({ apiKey: KEY, baseUrl: redirector.url, allowInsecureLoopback: true, retries: 2 });
      let ran = false;
      const err = await oak.guard(REQUEST, () => (ran = true)).then(
        () => assert.fail('guard() resolved'),
        (e) => e,
      );
      assert.equal(ran, false);
      assert.ok(err instanceof OakAuthError, err);
      assert.equal(err.name, 'OakAuthRedirectError');
      assert.equal(err.status, code);
      assert.equal(err.location, `${other.url}/v1/validate`);
      assert.deepEqual(other.requests, [], 'the other server was not asked');
      await assert.rejects(oak.validate(REQUEST), { name: 'OakAuthRedirectError' });
    });

    it(`admin: a ${code} to another origin is an error, not the other server's answer`, async () => {
      status = code;
      other.requests.length = 0;
      const before = redirector.requests.length;
      const admin = new OakAuthAdmin({ adminKey: ADMIN_KEY, baseUrl: redirector.url, allowInsecureLoopback: true, retries: 2 });
      await assert.rejects(admin.me(), { name: 'OakAuthRedirectError', status: code });
      await assert.rejects(admin.createAgent({ name: 'a' }), { name: 'OakAuthRedirectError', status: code });
      assert.equal(redirector.requests.length - before, 2, 'a redirect is not retried');
      assert.deepEqual(other.requests, [], 'the other server was not asked');
    });
  }

  it('a fetch that follows redirects anyway is not believed', async () => {
    // As a fetch would answer after following a redirect to a server that allows.
    const fetch = async () => {
      const response = new Response(JSON.stringify(decision()), { status: 200 });
      Object.defineProperty(response, 'redirected', { value: true });
      return response;
    };
    let ran = false;
    const oak = new OakAuth({ apiKey: KEY, baseUrl: 'https://oak.test', fetch });
    await assert.rejects(oak.guard(REQUEST, () => (ran = true)), { name: 'OakAuthRedirectError' });
    assert.equal(ran, false);
  });
});
