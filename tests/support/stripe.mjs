// A local HTTP recorder on 127.0.0.1 standing in for Stripe's API, as far as the worker uses it
// (Checkout and Portal sessions): the only fake of the billing tests, at the network boundary.
// Used by tests/e2e/billing.test.mjs and dashboard/tests/billing.test.mjs.
import { createServer } from 'node:http';

/**
 * Starts the recorder. Each request is kept in `recorded` ({ method, path, headers, body }, the body
 * as sent: a form). A session answers with `checkoutUrl` or `portalUrl`, as Stripe's would. Set
 * `failure` to `{ status, body }` to have every request answered that way (Stripe refusing).
 * Resolves to { recorded, failure, url (the STRIPE_API_BASE to give the worker), close() }.
 */
export async function startStripeRecorder({ checkoutUrl, portalUrl }) {
  const recorder = { recorded: [], failure: null, url: '', close: () => server.close() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      recorder.recorded.push({ method: req.method, path: req.url, headers: req.headers, body });
      res.setHeader('Content-Type', 'application/json');
      if (recorder.failure) {
        res.statusCode = recorder.failure.status;
        res.end(JSON.stringify(recorder.failure.body));
      } else if (req.method === 'POST' && req.url === '/v1/checkout/sessions') {
        res.end(JSON.stringify({ id: 'cs_test_recorder_1', object: 'checkout.session', url: checkoutUrl }));
      } else if (req.method === 'POST' && req.url === '/v1/billing_portal/sessions') {
        res.end(JSON.stringify({ id: 'bps_test_recorder_1', object: 'billing_portal.session', url: portalUrl }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.url = `http://127.0.0.1:${server.address().port}`;
  return recorder;
}
