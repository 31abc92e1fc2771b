// Webhook receivers for the end-to-end tests: a real HTTP server on 127.0.0.1 that keeps every
// request, and verification with the Standard Webhooks reference library (npm `standardwebhooks`),
// not with our own code.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const open = new Set();

/**
 * A receiver on 127.0.0.1. `answer(n)` gives the status of the n-th request (from 1). Every request
 * is kept in `got` with its headers, raw body and arrival time. `closeReceivers()` closes them all.
 */
export async function receiver(answer = () => 204) {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(answer(got.length));
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  open.add(server);
  return { server, got, url: `http://127.0.0.1:${server.address().port}/hook` };
}

/** Closes every receiver this process opened. */
export function closeReceivers() {
  for (const s of open) s.close();
  open.clear();
}

/** Verifies one received request with the reference library; returns the payload (throws if forged). */
export function verified(secret, req) {
  return new Webhook(secret).verify(req.body, {
    'webhook-id': req.headers['webhook-id'],
    'webhook-timestamp': req.headers['webhook-timestamp'],
    'webhook-signature': req.headers['webhook-signature'],
  });
}

/** Waits until `check()` is truthy (polling every 200 ms), at most `ms`; returns its value. */
export async function until(check, ms = 20_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
