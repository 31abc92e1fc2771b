// A scripted fetch for the failure modes a real server cannot produce on demand. Each step answers
// one call: a function (url, init) => Response | Promise<Response>, which may also throw.
export function scriptedFetch(...steps) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    return step(url, init);
  };
  return { fetch, calls };
}

export const json = (status, body, headers = {}) => () =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': 'req_test', ...headers },
  });

/** A fetch failure the way Node's fetch reports a refused connection. */
export const refused = () => () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  throw new TypeError('fetch failed', { cause });
};

/** A failure after the request may have been sent (a reset connection). */
export const reset = () => () => {
  const cause = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  throw new TypeError('fetch failed', { cause });
};

/** Never answers; rejects when the request is aborted, as fetch does. */
export const hang = () => (_url, init) =>
  new Promise((_, reject) => {
    init.signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
  });

/** Sends the status and headers, then never finishes the body. */
export const stallBody = () => (_url, init) => ({
  status: 200,
  headers: new Headers({ 'content-type': 'application/json' }),
  text: () =>
    new Promise((_, reject) => {
      init.signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
    }),
});

export const decision = (overrides = {}) => ({
  allowed: true,
  reason: 'allowed',
  message: 'allowed: filesystem:read',
  decision_id: 'dec_0001',
  reasoning_required: 'none',
  reasoning_provided: true,
  rate_limit: { limit: 60, remaining: 59, reset: 1 },
  ...overrides,
});
