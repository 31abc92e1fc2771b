// The agent client against a scripted fetch: every failure mode must leave the action unrun.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  OakAuth,
  OakAuthAuthenticationError,
  OakAuthConnectionError,
  OakAuthDeniedError,
  OakAuthError,
  OakAuthMalformedResponseError,
  OakAuthRateLimitError,
  OakAuthServerError,
  OakAuthTimeoutError,
  OakAuthValidationError,
  configure,
  guard,
  isAllowed,
} from 'oakauth';
import { decision, hang, json, refused, reset, scriptedFetch, stallBody } from './support/fake-fetch.mjs';

const run = promisify(execFile);
const KEY = 'oak_testkey';
const REQUEST = { tool: 'filesystem', scope: 'read', reasoning: 'list the files the user asked about' };

function client(fetch, options = {}) {
  return new OakAuth({ apiKey: KEY, baseUrl: 'http://oak.test/', fetch, retries: 2, timeout: 1000, ...options });
}

/** An action that records whether it ran. */
function recorder(result = 'ran') {
  const action = async (d) => {
    action.runs.push(d);
    return result;
  };
  action.runs = [];
  return action;
}

/** Asserts that guard() rejects with `ErrorClass` and that the action did not run. */
async function assertBlocked(oak, ErrorClass, request = REQUEST) {
  const action = recorder();
  const err = await oak.guard(request, action).then(
    () => assert.fail('guard resolved'),
    (e) => e,
  );
  assert.ok(err instanceof ErrorClass, `expected ${ErrorClass.name}, got ${err?.name}: ${err?.message}`);
  assert.ok(err instanceof OakAuthError);
  assert.equal(action.runs.length, 0, 'the action ran');
  return err;
}

describe('guard on an allow', () => {
  it('runs the action once, passes it the decision and returns its result', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const action = recorder(42);
    assert.equal(await client(fetch).guard(REQUEST, action), 42);
    assert.equal(action.runs.length, 1);
    assert.equal(action.runs[0].decision_id, 'dec_0001');
    assert.equal(calls.length, 1);
  });

  it('sends the agent key and the request as JSON to /v1/validate', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    await client(fetch).guard({ ...REQUEST, context: { path: '/tmp' } }, () => null);
    const [call] = calls;
    assert.equal(call.url, 'http://oak.test/v1/validate');
    assert.equal(call.init.method, 'POST');
    assert.equal(call.init.headers.Authorization, `Bearer ${KEY}`);
    assert.equal(call.init.headers['Content-Type'], 'application/json');
    assert.deepEqual(call.body, { ...REQUEST, context: { path: '/tmp' } });
  });

  it('leaves out reasoning and context that were not given', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    await client(fetch).validate({ tool: 't', scope: 's' });
    assert.deepEqual(calls[0].body, { tool: 't', scope: 's' });
  });

  it('runs the action on a soft allow with missing reasoning', async () => {
    const { fetch } = scriptedFetch(json(200, decision({ reason: 'reasoning_missing_soft', reasoning_required: 'soft', reasoning_provided: false })));
    const action = recorder();
    await client(fetch).guard({ tool: 'filesystem', scope: 'write' }, action);
    assert.equal(action.runs.length, 1);
    assert.equal(action.runs[0].reason, 'reasoning_missing_soft');
  });

  it('lets an error of the action itself through unchanged', async () => {
    const { fetch } = scriptedFetch(json(200, decision()));
    const boom = new RangeError('action failed');
    await assert.rejects(client(fetch).guard(REQUEST, () => { throw boom; }), (e) => e === boom);
  });
});

describe('guard on a deny', () => {
  for (const reason of ['agent_disabled', 'unknown_tool', 'scope_not_granted', 'reasoning_required']) {
    it(`throws OakAuthDeniedError for ${reason}, without retrying`, async () => {
      const body = decision({ allowed: false, reason, message: `denied: ${reason}`, decision_id: 'dec_deny' });
      const { fetch, calls } = scriptedFetch(json(200, body));
      const err = await assertBlocked(client(fetch), OakAuthDeniedError);
      assert.equal(err.reason, reason);
      assert.equal(err.tool, 'filesystem');
      assert.equal(err.scope, 'read');
      assert.equal(err.decisionId, 'dec_deny');
      assert.equal(err.requestId, 'req_test');
      assert.equal(err.decision.message, `denied: ${reason}`);
      assert.match(err.message, new RegExp(reason));
      assert.equal(calls.length, 1);
    });
  }

  it('validate returns a deny as a decision that isAllowed rejects', async () => {
    const { fetch } = scriptedFetch(json(200, decision({ allowed: false, reason: 'scope_not_granted' })));
    const d = await client(fetch).validate(REQUEST);
    assert.equal(d.allowed, false);
    assert.equal(isAllowed(d), false);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After throws OakAuthRateLimitError with retryAfter and the decision, and is not retried', async () => {
    const body = decision({ allowed: false, reason: 'rate_limited', message: 'denied: rate limited', decision_id: 'dec_rl', rate_limit: { limit: 2, remaining: 0, reset: 30 } });
    const { fetch, calls } = scriptedFetch(json(429, body, { 'retry-after': '7' }), json(200, decision()));
    const err = await assertBlocked(client(fetch), OakAuthRateLimitError);
    assert.equal(err.retryAfter, 7);
    assert.equal(err.status, 429);
    assert.equal(err.reason, 'rate_limited');
    assert.equal(err.decisionId, 'dec_rl');
    assert.equal(calls.length, 1);
  });

  it('a 429 whose body claims an allow is still a rate limit', async () => {
    const { fetch } = scriptedFetch(json(429, decision(), { 'retry-after': '3' }));
    const err = await assertBlocked(client(fetch), OakAuthRateLimitError);
    assert.equal(err.retryAfter, 3);
  });
});

describe('transport failures', () => {
  it('a timeout, after the retries, throws OakAuthTimeoutError', async () => {
    const { fetch, calls } = scriptedFetch(hang());
    const started = Date.now();
    const err = await assertBlocked(client(fetch, { timeout: 50, retries: 1 }), OakAuthTimeoutError);
    assert.ok(err instanceof OakAuthConnectionError);
    assert.equal(calls.length, 2);
    assert.ok(Date.now() - started >= 100, 'each attempt waited for its timeout');
  });

  it('a body that never finishes counts as a timeout', async () => {
    const { fetch } = scriptedFetch(stallBody());
    await assertBlocked(client(fetch, { timeout: 50, retries: 0 }), OakAuthTimeoutError);
  });

  it('a refused connection is retried, then throws OakAuthConnectionError', async () => {
    const { fetch, calls } = scriptedFetch(refused());
    const err = await assertBlocked(client(fetch), OakAuthConnectionError);
    assert.ok(!(err instanceof OakAuthTimeoutError));
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(calls.length, 3);
  });

  it('a refused connection, then an allow, runs the action once', async () => {
    const { fetch, calls } = scriptedFetch(refused(), json(200, decision()));
    const action = recorder();
    await client(fetch).guard(REQUEST, action);
    assert.equal(action.runs.length, 1);
    assert.equal(calls.length, 2);
  });

  it('the real fetch against a closed port throws OakAuthConnectionError', async () => {
    const port = await new Promise((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    const oak = new OakAuth({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, retries: 0 });
    await assertBlocked(oak, OakAuthConnectionError);
  });
});

describe('server errors', () => {
  it('500 then 200 retries and runs the action once', async () => {
    const { fetch, calls } = scriptedFetch(json(500, { error: { code: 'internal_error', message: 'boom' } }), json(200, decision()));
    const action = recorder();
    await client(fetch).guard(REQUEST, action);
    assert.equal(action.runs.length, 1);
    assert.equal(calls.length, 2);
  });

  it('500 on every attempt throws OakAuthServerError with the code', async () => {
    const { fetch, calls } = scriptedFetch(json(500, { error: { code: 'internal_error', message: 'boom' } }));
    const err = await assertBlocked(client(fetch), OakAuthServerError);
    assert.equal(err.status, 500);
    assert.equal(err.code, 'internal_error');
    assert.equal(calls.length, 3);
  });

  it('a 502 page that is not JSON is a server error', async () => {
    const { fetch } = scriptedFetch(json(502, '<html>Bad gateway</html>'));
    const err = await assertBlocked(client(fetch, { retries: 0 }), OakAuthServerError);
    assert.equal(err.status, 502);
    assert.equal(err.code, undefined);
  });

  it('honours Retry-After on a 503 before retrying', async () => {
    const { fetch, calls } = scriptedFetch(json(503, { error: { code: 'internal_error', message: 'busy' } }, { 'retry-after': '1' }), json(200, decision()));
    const started = Date.now();
    await client(fetch).guard(REQUEST, () => null);
    assert.equal(calls.length, 2);
    assert.ok(Date.now() - started >= 950, `retried after ${Date.now() - started} ms`);
  });

  it('retries: 0 sends exactly one request', async () => {
    const { fetch, calls } = scriptedFetch(json(500, {}));
    await assertBlocked(client(fetch, { retries: 0 }), OakAuthServerError);
    assert.equal(calls.length, 1);
  });
});

describe('malformed answers never allow', () => {
  const cases = {
    'a body that is not JSON': json(200, 'not json{'),
    'an empty body': () => new Response('', { status: 200 }),
    '{"allowed": "yes"}': json(200, { allowed: 'yes' }),
    'allowed: "yes" with every other field': json(200, decision({ allowed: 'yes' })),
    'allowed: 1': json(200, decision({ allowed: 1 })),
    'allowed: true with a deny reason': json(200, decision({ allowed: true, reason: 'scope_not_granted' })),
    'allowed: true with rate_limited': json(200, decision({ allowed: true, reason: 'rate_limited' })),
    'allowed: false with the reason allowed': json(200, decision({ allowed: false, reason: 'allowed' })),
    'an unknown reason': json(200, decision({ reason: 'maybe' })),
    'an unknown reasoning policy': json(200, decision({ reasoning_required: 'sometimes' })),
    'a rate_limit that is not a bucket': json(200, decision({ rate_limit: { limit: '60' } })),
    'an empty decision_id': json(200, decision({ decision_id: '' })),
    'a JSON array': json(200, [decision()]),
    'JSON null': json(200, 'null'),
    'a 201 with a decision': json(201, decision()),
    'a 204 without a body': () => new Response(null, { status: 204 }),
  };
  for (const field of ['allowed', 'reason', 'message', 'decision_id', 'reasoning_required', 'reasoning_provided', 'rate_limit']) {
    const body = decision();
    delete body[field];
    cases[`a decision without ${field}`] = json(200, body);
  }
  for (const [name, step] of Object.entries(cases)) {
    it(`${name} throws OakAuthMalformedResponseError`, async () => {
      const { fetch, calls } = scriptedFetch(step);
      const err = await assertBlocked(client(fetch), OakAuthMalformedResponseError);
      assert.equal(calls.length, 1, 'a malformed answer is not retried');
      assert.equal(typeof err.body, 'string');
    });
  }
});

describe('refusals of the request', () => {
  it('401 throws OakAuthAuthenticationError with status and code, without retrying', async () => {
    const { fetch, calls } = scriptedFetch(json(401, { error: { code: 'unauthorized', message: 'unknown key' } }));
    const err = await assertBlocked(client(fetch), OakAuthAuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'unauthorized');
    assert.equal(err.requestId, 'req_test');
    assert.equal(calls.length, 1);
  });

  it('403 throws OakAuthAuthenticationError', async () => {
    const { fetch } = scriptedFetch(json(403, { error: { code: 'forbidden', message: 'admin key' } }));
    const err = await assertBlocked(client(fetch), OakAuthAuthenticationError);
    assert.equal(err.status, 403);
  });

  for (const [status, code] of [[400, 'invalid_request'], [413, 'payload_too_large'], [415, 'unsupported_media_type']]) {
    it(`${status} throws OakAuthValidationError`, async () => {
      const { fetch } = scriptedFetch(json(status, { error: { code, message: 'no' } }));
      const err = await assertBlocked(client(fetch), OakAuthValidationError);
      assert.equal(err.code, code);
    });
  }

  it('a request without tool or scope is refused before anything is sent', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const action = recorder();
    await assert.rejects(client(fetch).guard({ tool: 'filesystem' }, action), TypeError);
    assert.equal(calls.length, 0);
    assert.equal(action.runs.length, 0);
  });
});

describe('options', () => {
  it('needs an agent key', () => {
    assert.throws(() => new OakAuth({ apiKey: '', fetch: async () => {} }), TypeError);
  });

  it('rejects a base URL that is not http(s)', () => {
    assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'ftp://x' }), TypeError);
    assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'not a url' }), TypeError);
  });

  it('rejects a timeout that is not positive and retries that are not a count', () => {
    assert.throws(() => new OakAuth({ apiKey: KEY, timeout: 0 }), TypeError);
    assert.throws(() => new OakAuth({ apiKey: KEY, retries: -1 }), TypeError);
  });

  it('defaults to http://127.0.0.1:8787, or OAKAUTH_BASE_URL', () => {
    const saved = process.env.OAKAUTH_BASE_URL;
    try {
      delete process.env.OAKAUTH_BASE_URL;
      assert.equal(new OakAuth({ apiKey: KEY }).baseUrl, 'http://127.0.0.1:8787');
      process.env.OAKAUTH_BASE_URL = 'https://oak.example/';
      assert.equal(new OakAuth({ apiKey: KEY }).baseUrl, 'https://oak.example');
    } finally {
      if (saved === undefined) delete process.env.OAKAUTH_BASE_URL;
      else process.env.OAKAUTH_BASE_URL = saved;
    }
  });
});

describe('configure() and the standalone guard()', () => {
  it('guard() uses the configured client', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    configure({ apiKey: 'oak_configured', baseUrl: 'http://configured.test', fetch });
    assert.equal(await guard(REQUEST, () => 'ok'), 'ok');
    assert.equal(calls[0].url, 'http://configured.test/v1/validate');
    assert.equal(calls[0].init.headers.Authorization, 'Bearer oak_configured');
  });

  it('guard() throws OakAuthDeniedError on a deny like the method does', async () => {
    const { fetch } = scriptedFetch(json(200, decision({ allowed: false, reason: 'unknown_tool' })));
    configure({ apiKey: KEY, fetch });
    const action = recorder();
    await assert.rejects(guard(REQUEST, action), OakAuthDeniedError);
    assert.equal(action.runs.length, 0);
  });

  it('guard() without configure() or OAKAUTH_API_KEY rejects and does not run the action', async () => {
    const script = `
      import { guard } from 'oakauth';
      let ran = false;
      try { await guard({ tool: 't', scope: 's' }, () => { ran = true; }); console.log('resolved'); }
      catch (e) { console.log(e.name, ran); }`;
    const env = { ...process.env };
    delete env.OAKAUTH_API_KEY;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: import.meta.dirname ?? new URL('.', import.meta.url).pathname, env });
    assert.equal(stdout.trim(), 'TypeError false');
  });
});

describe('healthcheck', () => {
  it('returns status and version', async () => {
    const { fetch, calls } = scriptedFetch(json(200, { status: 'ok', version: '0.1.0' }));
    assert.deepEqual(await client(fetch).healthcheck(), { status: 'ok', version: '0.1.0' });
    assert.equal(calls[0].url, 'http://oak.test/health');
    assert.equal(calls[0].init.method, 'GET');
  });

  it('a body that is not {status: "ok"} is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { status: 'degraded', version: '0.1.0' }));
    await assert.rejects(client(fetch).healthcheck(), OakAuthMalformedResponseError);
  });
});
