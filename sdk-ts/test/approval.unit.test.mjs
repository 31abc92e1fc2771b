// guard()'s approval modes, getApproval() and cancelApproval() against a scripted fetch: what is
// sent at each step of a wait, which error each outcome throws, and that the action runs only on
// OakAuth's own allow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApprovalDeniedError,
  ApprovalExpiredError,
  ApprovalPendingError,
  OakAuth,
  OakAuthConflictError,
  OakAuthDeniedError,
  OakAuthError,
  OakAuthMalformedResponseError,
  OakAuthNotFoundError,
  configure,
  guard,
} from 'oakauth';
import { decision, json, scriptedFetch } from './support/fake-fetch.mjs';

const REQUEST = { tool: 'payments', scope: 'send', reasoning: 'pay the invoice', arguments: { amount: 900, to: 'acct_7' } };
const EXPIRES = '2030-01-01T00:15:00.000Z';

const ticket = (overrides = {}) => ({
  id: 'apr_1',
  status: 'pending',
  tool: 'payments',
  scope: 'send',
  expires_at: EXPIRES,
  poll_after_ms: 2000,
  decided_at: null,
  comment: null,
  ...overrides,
});
const asking = (overrides = {}) =>
  decision({ allowed: false, reason: 'approval_required', message: 'denied for now: approval required', decision_id: 'dec_ask', approval: ticket(overrides) });
const denial = (reason, approval) => decision({ allowed: false, reason, message: `denied: ${reason}`, decision_id: `dec_${reason}`, approval });
const allowedWith = (approval) => decision({ decision_id: 'dec_ok', approval });

function client(fetch, options = {}) {
  return new OakAuth({ apiKey: 'oak_test', baseUrl: 'https://oak.test', fetch, retries: 0, timeout: 1000, ...options });
}

/** An action that records its runs. */
function recorder() {
  const action = async (d) => {
    action.runs.push(d);
    return 'ran';
  };
  action.runs = [];
  return action;
}

/** A fetch that answers by route: `validate` and `approval` are lists of answers, used in turn (the last repeats). */
function routed({ validate = [], approval = [], cancel = [] }) {
  const used = { validate: 0, approval: 0, cancel: 0 };
  const next = (name, list) => list[Math.min(used[name]++, list.length - 1)];
  return scriptedFetch(async (url, init) => {
    const path = new URL(url).pathname;
    if (path === '/v1/validate') return next('validate', validate)(url, init);
    if (path.endsWith('/cancel')) return next('cancel', cancel)(url, init);
    if (path.startsWith('/v1/approvals/')) return next('approval', approval)(url, init);
    throw new Error(`unexpected ${init.method} ${url}`);
  });
}

const paths = (calls) => calls.map((c) => `${c.init.method} ${new URL(c.url).pathname}${new URL(c.url).search}`);

describe('guard() in throw mode (the default)', () => {
  it('approval_required throws ApprovalPendingError with the approval, a kind of OakAuthDeniedError; the action does not run', async () => {
    const { fetch, calls } = scriptedFetch(json(200, asking()));
    const action = recorder();
    const err = await client(fetch).guard(REQUEST, action).catch((e) => e);
    assert.ok(err instanceof ApprovalPendingError, err?.message);
    assert.ok(err instanceof OakAuthDeniedError && err instanceof OakAuthError);
    assert.equal(err.reason, 'approval_required');
    assert.equal(err.approvalId, 'apr_1');
    assert.deepEqual(err.expiresAt, new Date(EXPIRES));
    assert.equal(err.pollAfterMs, 2000);
    assert.equal(err.timedOut, false);
    assert.equal(err.approval.status, 'pending');
    assert.equal(err.decisionId, 'dec_ask');
    assert.match(err.message, /approval apr_1 is pending/);
    assert.equal(action.runs.length, 0);
    assert.equal(calls.length, 1, 'throw mode does not poll');
  });

  it('{mode: "throw"} is the same as no option, and the standalone guard() takes the option too', async () => {
    const { fetch } = scriptedFetch(json(200, asking()));
    configure({ apiKey: 'oak_test', baseUrl: 'https://oak.test', fetch, retries: 0 });
    await assert.rejects(guard(REQUEST, () => 'ran', { approval: { mode: 'throw' } }), ApprovalPendingError);
    await assert.rejects(client(fetch).guard(REQUEST, () => 'ran', { approval: { mode: 'throw' } }), ApprovalPendingError);
  });

  it('approval_denied throws ApprovalDeniedError with the comment', async () => {
    const { fetch } = scriptedFetch(json(200, denial('approval_denied', ticket({ status: 'denied', comment: 'not this vendor', decided_at: EXPIRES }))));
    const err = await client(fetch).guard(REQUEST, recorder()).catch((e) => e);
    assert.ok(err instanceof ApprovalDeniedError && err instanceof OakAuthDeniedError, err?.message);
    assert.equal(err.reason, 'approval_denied');
    assert.equal(err.comment, 'not this vendor');
    assert.match(err.message, /denied the approval apr_1 of payments:send: "not this vendor"/);
  });

  it('approval_denied without a comment has comment null', async () => {
    const { fetch } = scriptedFetch(json(200, denial('approval_denied', ticket({ status: 'denied' }))));
    const err = await client(fetch).guard(REQUEST, recorder()).catch((e) => e);
    assert.equal(err.comment, null);
    assert.match(err.message, /no comment/);
  });

  it('approval_expired throws ApprovalExpiredError, which is not an ApprovalDeniedError', async () => {
    const { fetch } = scriptedFetch(json(200, denial('approval_expired', ticket({ status: 'expired' }))));
    const err = await client(fetch).guard(REQUEST, recorder()).catch((e) => e);
    assert.ok(err instanceof ApprovalExpiredError, err?.name);
    assert.ok(!(err instanceof ApprovalDeniedError));
    assert.equal(err.approval.status, 'expired');
  });

  for (const reason of ['approval_cancelled', 'approval_consumed', 'approval_mismatch']) {
    it(`${reason} throws OakAuthDeniedError with that reason`, async () => {
      const approval = reason === 'approval_mismatch' ? undefined : ticket({ status: reason.slice('approval_'.length) });
      const { fetch } = scriptedFetch(json(200, denial(reason, approval)));
      const action = recorder();
      const err = await client(fetch).guard(REQUEST, action).catch((e) => e);
      assert.equal(err.constructor, OakAuthDeniedError);
      assert.equal(err.reason, reason);
      assert.deepEqual(err.approval, approval);
      assert.equal(action.runs.length, 0);
    });
  }

  it('an allow that used an approval runs the action and shows the consumed approval', async () => {
    const { fetch } = scriptedFetch(json(200, allowedWith(ticket({ status: 'consumed', poll_after_ms: 0 }))));
    const action = recorder();
    assert.equal(await client(fetch).guard(REQUEST, action), 'ran');
    assert.equal(action.runs[0].approval.status, 'consumed');
  });

  it('approval_id in the request is sent', async () => {
    const { fetch, calls } = scriptedFetch(json(200, allowedWith(ticket({ status: 'consumed' }))));
    await client(fetch).guard({ ...REQUEST, approval_id: 'apr_1' }, recorder());
    assert.equal(calls[0].body.approval_id, 'apr_1');
  });
});

describe('decisions about approvals that cannot be trusted', () => {
  const malformed = [
    ['approval_required without an approval', decision({ allowed: false, reason: 'approval_required', message: 'x' })],
    ['approval_required with an approval that is not pending', asking({ status: 'approved' })],
    ['an approval of an unknown status', asking({ status: 'maybe' })],
    ['an approval without an id', asking({ id: '' })],
    ['an approval with a negative poll_after_ms', asking({ poll_after_ms: -1 })],
    ['approval_required with allowed: true', { ...asking(), allowed: true }],
  ];
  for (const [what, body] of malformed) {
    it(`${what} is malformed and the action does not run`, async () => {
      const { fetch } = scriptedFetch(json(200, body));
      const action = recorder();
      await assert.rejects(client(fetch).guard(REQUEST, action, { approval: { mode: 'wait', timeoutMs: 1000 } }), OakAuthMalformedResponseError);
      assert.equal(action.runs.length, 0);
    });
  }
});

describe('guard() in wait mode', () => {
  it('waits for the approval, asks again with the same request naming it, and runs the action once', async () => {
    const { fetch, calls } = routed({
      validate: [json(200, asking()), json(200, allowedWith(ticket({ status: 'consumed', poll_after_ms: 0 })))],
      approval: [json(200, ticket({ poll_after_ms: 10 })), json(200, ticket({ status: 'approved', decided_at: EXPIRES, poll_after_ms: 0 }))],
    });
    const action = recorder();
    const pending = [];
    const result = await client(fetch).guard(REQUEST, action, { approval: { mode: 'wait', timeoutMs: 60_000, onPending: (t) => pending.push(t.id) } });
    assert.equal(result, 'ran');
    assert.equal(action.runs.length, 1);
    assert.deepEqual(pending, ['apr_1']);
    assert.deepEqual(paths(calls), ['POST /v1/validate', 'GET /v1/approvals/apr_1?wait=25', 'GET /v1/approvals/apr_1?wait=25', 'POST /v1/validate']);
    // The second validation is the first one, word for word, plus the approval's id.
    assert.deepEqual(calls[3].body, { ...calls[0].body, approval_id: 'apr_1' });
    assert.deepEqual(calls[3].body.arguments, REQUEST.arguments);
  });

  it('a long poll may take longer than the client timeout', async () => {
    const { fetch } = routed({
      validate: [json(200, asking()), json(200, allowedWith(ticket({ status: 'consumed' })))],
      approval: [async () => {
        await new Promise((r) => setTimeout(r, 300));
        return json(200, ticket({ status: 'approved' }))();
      }],
    });
    const result = await client(fetch, { timeout: 100 }).guard(REQUEST, recorder(), { approval: { mode: 'wait', timeoutMs: 5000 } });
    assert.equal(result, 'ran');
  });

  it('denied while waiting: asks again and throws ApprovalDeniedError with the comment', async () => {
    const denied = ticket({ status: 'denied', comment: 'ask finance first', decided_at: EXPIRES, poll_after_ms: 0 });
    const { fetch, calls } = routed({
      validate: [json(200, asking()), json(200, denial('approval_denied', denied))],
      approval: [json(200, denied)],
    });
    const action = recorder();
    const err = await client(fetch).guard(REQUEST, action, { approval: { mode: 'wait' } }).catch((e) => e);
    assert.ok(err instanceof ApprovalDeniedError, err?.message);
    assert.equal(err.comment, 'ask finance first');
    assert.equal(err.decisionId, 'dec_approval_denied');
    assert.equal(calls.at(-1).body.approval_id, 'apr_1');
    assert.equal(action.runs.length, 0);
  });

  it('expired while waiting: ApprovalExpiredError', async () => {
    const expired = ticket({ status: 'expired', poll_after_ms: 0 });
    const { fetch } = routed({ validate: [json(200, asking()), json(200, denial('approval_expired', expired))], approval: [json(200, expired)] });
    await assert.rejects(client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait' } }), ApprovalExpiredError);
  });

  it('cancelled while waiting: OakAuthDeniedError approval_cancelled', async () => {
    const cancelled = ticket({ status: 'cancelled', poll_after_ms: 0 });
    const { fetch } = routed({ validate: [json(200, asking()), json(200, denial('approval_cancelled', cancelled))], approval: [json(200, cancelled)] });
    const err = await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait' } }).catch((e) => e);
    assert.equal(err.reason, 'approval_cancelled');
  });

  it('approved, but the approval was used by another call meanwhile: approval_consumed, the action does not run', async () => {
    const { fetch } = routed({
      validate: [json(200, asking()), json(200, denial('approval_consumed', ticket({ status: 'consumed' })))],
      approval: [json(200, ticket({ status: 'approved' }))],
    });
    const action = recorder();
    const err = await client(fetch).guard(REQUEST, action, { approval: { mode: 'wait' } }).catch((e) => e);
    assert.equal(err.reason, 'approval_consumed');
    assert.equal(action.runs.length, 0);
  });

  it('runs out of time: ApprovalPendingError with timedOut, after polls no longer than the time left', async () => {
    const { fetch, calls } = routed({ validate: [json(200, asking())], approval: [json(200, ticket({ poll_after_ms: 100 }))] });
    const started = Date.now();
    const err = await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait', timeoutMs: 1200 } }).catch((e) => e);
    const took = Date.now() - started;
    assert.ok(err instanceof ApprovalPendingError, err?.message);
    assert.equal(err.timedOut, true);
    assert.match(err.message, /still pending after waiting/);
    assert.ok(took >= 1200 && took < 3000, `took ${took} ms`);
    const polls = paths(calls).filter((p) => p.startsWith('GET'));
    assert.equal(polls[0], 'GET /v1/approvals/apr_1?wait=2');
    // The server answered at once each time: it was asked again no faster than every 500 ms.
    assert.ok(polls.length >= 2 && polls.length <= 4, polls.join(', '));
    assert.equal(paths(calls).filter((p) => p.startsWith('POST')).length, 1, 'no second validation');
  });

  it('timeoutMs 0 does not wait at all', async () => {
    const { fetch, calls } = routed({ validate: [json(200, asking())] });
    const err = await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait', timeoutMs: 0 } }).catch((e) => e);
    assert.equal(err.timedOut, true);
    assert.equal(calls.length, 1);
  });

  it('asked again, OakAuth wants a new approval (its rule changed): waits for that one too', async () => {
    const { fetch, calls } = routed({
      validate: [json(200, asking()), json(200, asking({ id: 'apr_2' })), json(200, allowedWith(ticket({ id: 'apr_2', status: 'consumed' })))],
      approval: [json(200, ticket({ status: 'approved' })), json(200, ticket({ id: 'apr_2', status: 'approved' }))],
    });
    const seen = [];
    assert.equal(await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait', onPending: (t) => seen.push(t.id) } }), 'ran');
    assert.deepEqual(seen, ['apr_1', 'apr_2']);
    assert.deepEqual(calls.filter((c) => c.body).map((c) => c.body.approval_id), [undefined, 'apr_1', 'apr_2']);
  });

  it('asked again, OakAuth calls the same approval pending although it was decided: stops instead of looping', async () => {
    const { fetch, calls } = routed({ validate: [json(200, asking())], approval: [json(200, ticket({ status: 'approved' }))] });
    const err = await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait', timeoutMs: 60_000 } }).catch((e) => e);
    assert.ok(err instanceof ApprovalPendingError);
    assert.equal(err.timedOut, false);
    assert.equal(calls.length, 3);
  });

  it('a malformed ticket while waiting is an error, and the action does not run', async () => {
    const { fetch } = routed({ validate: [json(200, asking())], approval: [json(200, { id: 'apr_1', status: 'approved' })] });
    const action = recorder();
    await assert.rejects(client(fetch).guard(REQUEST, action, { approval: { mode: 'wait' } }), OakAuthMalformedResponseError);
    assert.equal(action.runs.length, 0);
  });

  it('other denials are thrown at once, without waiting', async () => {
    const { fetch, calls } = scriptedFetch(json(200, decision({ allowed: false, reason: 'scope_not_granted', message: 'no' })));
    const err = await client(fetch).guard(REQUEST, recorder(), { approval: { mode: 'wait' } }).catch((e) => e);
    assert.equal(err.constructor, OakAuthDeniedError);
    assert.equal(calls.length, 1);
  });

  it('bad options are refused before anything is sent', async () => {
    const { fetch, calls } = scriptedFetch(json(200, asking()));
    const oak = client(fetch);
    await assert.rejects(oak.guard(REQUEST, recorder(), { approval: { mode: 'later' } }), TypeError);
    await assert.rejects(oak.guard(REQUEST, recorder(), { approval: { mode: 'wait', timeoutMs: -1 } }), TypeError);
    await assert.rejects(oak.guard(REQUEST, recorder(), { approval: { mode: 'wait', onPending: 'x' } }), TypeError);
    await assert.rejects(oak.guard({ ...REQUEST, approval_id: 7 }, recorder()), TypeError);
    assert.equal(calls.length, 0);
  });
});

describe('getApproval() and cancelApproval()', () => {
  it('getApproval sends wait only when asked, and returns the ticket', async () => {
    const { fetch, calls } = scriptedFetch(json(200, ticket()));
    const oak = client(fetch);
    assert.deepEqual(await oak.getApproval('apr_1'), ticket());
    assert.deepEqual(await oak.getApproval('apr_1', { waitSeconds: 25 }), ticket());
    assert.deepEqual(paths(calls), ['GET /v1/approvals/apr_1', 'GET /v1/approvals/apr_1?wait=25']);
  });

  it('waitSeconds outside 0..25 or not whole is refused', async () => {
    const oak = client(scriptedFetch(json(200, ticket())).fetch);
    for (const waitSeconds of [-1, 26, 1.5, Number.NaN]) {
      await assert.rejects(oak.getApproval('apr_1', { waitSeconds }), RangeError);
    }
  });

  it('an id cannot change the route', async () => {
    const { fetch, calls } = scriptedFetch(json(200, ticket()));
    await client(fetch).getApproval('apr_1/cancel');
    assert.equal(new URL(calls[0].url).pathname, '/v1/approvals/apr_1%2Fcancel');
    await assert.rejects(client(fetch).getApproval('..'), TypeError);
    await assert.rejects(client(fetch).cancelApproval(''), TypeError);
  });

  it('an approval of another agent is a 404', async () => {
    const { fetch } = scriptedFetch(json(404, { error: { code: 'not_found', message: 'no such approval' } }));
    await assert.rejects(client(fetch).getApproval('apr_x'), OakAuthNotFoundError);
  });

  it('cancelApproval posts to /cancel; one no longer pending is a 409', async () => {
    const { fetch, calls } = scriptedFetch(
      json(200, ticket({ status: 'cancelled', poll_after_ms: 0 })),
      json(409, { error: { code: 'conflict', message: 'the approval is not pending' } }),
    );
    const oak = client(fetch);
    assert.equal((await oak.cancelApproval('apr_1')).status, 'cancelled');
    await assert.rejects(oak.cancelApproval('apr_1'), OakAuthConflictError);
    assert.deepEqual(paths(calls), ['POST /v1/approvals/apr_1/cancel', 'POST /v1/approvals/apr_1/cancel']);
  });

  it('an answer that is not a ticket is malformed', async () => {
    const { fetch } = scriptedFetch(json(200, { ...ticket(), expires_at: 5 }));
    await assert.rejects(client(fetch).getApproval('apr_1'), OakAuthMalformedResponseError);
  });
});
