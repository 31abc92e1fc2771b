// The agent client against a scripted fetch: every failure mode must leave the action unrun.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  OakAuth,
  OakAuthDeniedError,
  OakAuthConfigurationError,
  OakAuthConnectionError,
  OakAuthError,
  OakAuthMalformedResponseError,
  OakAuthQuotaExceededError,
  OakAuthRateLimitError,
  OakAuthServerError,
  OakAuthTimeoutError,
  OakAuthValidationError,
  isAllowed,
} from 'oakauth';
import { decision, hang, json, refused, scriptedFetch, stallBody } from './support/fake-fetch.mjs';

const run = promisify(execFile);
const KEY = 'oak_testkey';
const REQUEST = { tool: 'filesystem', scope: 'read', reasoning: 'list the files the user asked about' };

function client(fetch, options = {}) {
  return new OakAuth({ apiKey: KEY, baseUrl: 'https://oak.test/', fetch, retries: 2, timeout: 1000, ...options });
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

describe('rate limits the real server cannot send', () => {
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
    const oak = new OakAuth({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, allowInsecureLoopback: true, retries: 0 });
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

const EXPLANATION = {
  rule_id: 'rule_1',
  effect: 'allow',
  condition: {
    path: 'conditions[0]',
    source: 'arguments',
    pointer: '/amount',
    op: 'lt',
    expected: 500,
    observed: 900,
    holds: false,
    error: null,
  },
  message: 'conditions[0]: /amount is 900, not below 500',
};

describe('arguments and explanations', () => {
  const ARGS = { amount: 900, to: 'acct_7', nested: { list: [1, 2] } };

  it('validate() sends the arguments as given, next to reasoning and context', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    await client(fetch).validate({ ...REQUEST, context: { ticket: 1 }, arguments: ARGS });
    assert.deepEqual(calls[0].body, { ...REQUEST, context: { ticket: 1 }, arguments: ARGS });
  });

  it('guard() sends the arguments and runs the action on an allow', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    const action = recorder();
    assert.equal(await client(fetch).guard({ ...REQUEST, arguments: ARGS }, action), 'ran');
    assert.deepEqual(calls[0].body.arguments, ARGS);
    assert.equal(action.runs.length, 1);
  });

  it('without arguments, none are sent', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    await client(fetch).validate(REQUEST);
    assert.equal(Object.hasOwn(calls[0].body, 'arguments'), false);
  });

  it('arguments that are not an object are refused before anything is sent', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision()));
    for (const bad of [[1, 2], 'amount=5', 7]) {
      await assert.rejects(client(fetch).guard({ ...REQUEST, arguments: bad }, recorder()), TypeError);
    }
    assert.equal(calls.length, 0);
  });

  it('validate() keeps the explanation of a deny by a rule', async () => {
    const body = decision({ allowed: false, reason: 'conditions_not_met', message: 'no allow rule holds', explanation: EXPLANATION });
    const { fetch } = scriptedFetch(json(200, body));
    const got = await client(fetch).validate({ ...REQUEST, arguments: ARGS });
    assert.equal(isAllowed(got), false);
    assert.deepEqual(got.explanation, EXPLANATION);
  });

  it('a decision without explanation has none', async () => {
    const { fetch } = scriptedFetch(json(200, decision()));
    const got = await client(fetch).validate(REQUEST);
    assert.equal(Object.hasOwn(got, 'explanation'), false);
  });

  for (const reason of ['denied_by_rule', 'conditions_not_met', 'invalid_arguments']) {
    it(`${reason} is a deny: guard() throws OakAuthDeniedError with the explanation, the action does not run`, async () => {
      const explanation = reason === 'invalid_arguments' ? { ...EXPLANATION, rule_id: null, effect: null, condition: null, message: '/amount: expected number' } : EXPLANATION;
      const { fetch, calls } = scriptedFetch(json(200, decision({ allowed: false, reason, message: `denied: ${reason}`, explanation })));
      const err = await assertBlocked(client(fetch), OakAuthDeniedError, { ...REQUEST, arguments: ARGS });
      assert.equal(err.reason, reason);
      assert.deepEqual(err.explanation, explanation);
      assert.deepEqual(err.decision.explanation, explanation);
      assert.ok(err.message.includes(explanation.message), err.message);
      assert.equal(calls.length, 1, 'a deny is not retried');
    });
  }

  it('an allow keeps its receipt, for guard()\'s action too; a deny carries none', async () => {
    const receipt = 'eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJkZWNfMSJ9.c2ln';
    const { fetch } = scriptedFetch(json(200, decision({ receipt })), json(200, decision({ receipt })), json(200, decision({ allowed: false, reason: 'scope_not_granted', receipt })));
    const oak = client(fetch);
    assert.equal((await oak.validate(REQUEST)).receipt, receipt);
    assert.equal(await oak.guard(REQUEST, (d) => d.receipt), receipt);
    assert.equal(Object.hasOwn(await oak.validate(REQUEST), 'receipt'), false);
  });

  it('a deny without explanation has an undefined one', async () => {
    const { fetch } = scriptedFetch(json(200, decision({ allowed: false, reason: 'scope_not_granted' })));
    const err = await assertBlocked(client(fetch), OakAuthDeniedError);
    assert.equal(err.explanation, undefined);
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
    'an explanation that is not an object': json(200, decision({ explanation: 'because' })),
    'an explanation without its message': json(200, decision({ allowed: false, reason: 'denied_by_rule', explanation: { rule_id: 'rule_1', effect: 'deny', condition: null } })),
    'an explanation with an unknown effect': json(200, decision({ allowed: false, reason: 'denied_by_rule', explanation: { ...EXPLANATION, effect: 'maybe' } })),
    'allowed: true with denied_by_rule': json(200, decision({ allowed: true, reason: 'denied_by_rule', explanation: EXPLANATION })),
    'allowed: true with conditions_not_met': json(200, decision({ allowed: true, reason: 'conditions_not_met' })),
    'allowed: true with invalid_arguments': json(200, decision({ allowed: true, reason: 'invalid_arguments' })),
    'a receipt that is not a string': json(200, decision({ receipt: { jws: 'x' } })),
    'an empty receipt': json(200, decision({ receipt: '' })),
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
  // The SDK always sends JSON with the right method, so the worker never answers these to it.
  for (const [status, code] of [[405, 'method_not_allowed'], [415, 'unsupported_media_type']]) {
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
  // The base URL's checks are in transport.unit.test.mjs.
  it('needs an agent key', () => {
    assert.throws(() => new OakAuth({ apiKey: '', baseUrl: 'https://oak.test', fetch: async () => {} }), OakAuthConfigurationError);
  });

  it('rejects a timeout that is not positive and retries that are not a count', () => {
    assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'https://oak.test', timeout: 0 }), OakAuthConfigurationError);
    assert.throws(() => new OakAuth({ apiKey: KEY, baseUrl: 'https://oak.test', retries: -1 }), OakAuthConfigurationError);
  });
});

describe('the standalone guard()', () => {
  it('guard() without configure() or OAKAUTH_API_KEY rejects and does not run the action', async () => {
    const script = `
      import { guard } from 'oakauth';
      let ran = false;
      try { await guard({ tool: 't', scope: 's' }, () => { ran = true; }); console.log('resolved'); }
      catch (e) { console.log(e.name, ran); }`;
    const env = { ...process.env, OAKAUTH_BASE_URL: 'https://oak.test' };
    delete env.OAKAUTH_API_KEY;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: import.meta.dirname ?? new URL('.', import.meta.url).pathname, env });
    assert.equal(stdout.trim(), 'OakAuthConfigurationError false');
  });
});

describe('healthcheck', () => {
  it('a body that is not {status: "ok"} is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { status: 'degraded', version: '0.1.0' }));
    await assert.rejects(client(fetch).healthcheck(), OakAuthMalformedResponseError);
  });
});

describe('the monthly quota (quota_exceeded, HTTP 429)', () => {
  const quota = { limit: 1000, used: 1000, resets_at: '2027-01-01T00:00:00Z' };
  const overQuota = (extra = {}) =>
    json(429, decision({ allowed: false, reason: 'quota_exceeded', message: 'the monthly quota is used up', quota, ...extra }), { 'retry-after': '86400' });

  it('validate() returns the deny with its quota', async () => {
    const { fetch, calls } = scriptedFetch(overQuota());
    const d = await client(fetch).validate(REQUEST);
    assert.equal(d.allowed, false);
    assert.equal(d.reason, 'quota_exceeded');
    assert.deepEqual(d.quota, quota);
    assert.equal(isAllowed(d), false);
    assert.equal(calls.length, 1, 'a quota answer is not retried');
  });

  it('guard() throws OakAuthQuotaExceededError, a deny, with the quota and Retry-After, and does not run the action', async () => {
    const { fetch } = scriptedFetch(overQuota());
    const err = await assertBlocked(client(fetch), OakAuthQuotaExceededError);
    assert.ok(err instanceof OakAuthDeniedError);
    assert.equal(err.reason, 'quota_exceeded');
    assert.deepEqual(err.quota, quota);
    assert.equal(err.resetsAt.toISOString(), '2027-01-01T00:00:00.000Z');
    assert.equal(err.retryAfter, 86400);
    assert.equal(err.decisionId, 'dec_0001');
    assert.match(err.message, /1000 of its 1000 validations.*2027-01-01T00:00:00Z/);
  });

  it('a quota_exceeded without its quota, or with a quota that is not one, is refused as a rate limit', async () => {
    for (const bad of [{ quota: undefined }, { quota: { limit: 1000, used: 'all', resets_at: '2027-01-01T00:00:00Z' } }, { quota: { limit: 1000, used: 1000, resets_at: 'soon' } }]) {
      const { fetch } = scriptedFetch(overQuota(bad));
      await assertBlocked(client(fetch), OakAuthRateLimitError);
    }
  });

  it('a 429 that claims an allow with a quota is still no allow', async () => {
    const { fetch } = scriptedFetch(json(429, decision({ quota }), { 'retry-after': '5' }));
    await assertBlocked(client(fetch), OakAuthRateLimitError);
  });
});
