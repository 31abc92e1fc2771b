// The worker's entry point: the Rust worker built by worker-build, behind a last line of defence.
// A panic in Rust aborts the WebAssembly instance; worker-build's shim then starts a fresh instance
// for the next request, but the requests that were in flight would hang and end in the runtime's
// own error text. Here they get the API's usual JSON 500 instead, with nothing from the panic.
import { WorkerEntrypoint } from 'cloudflare:workers';
import RustWorker from '../build/index.js';

export { AgentBucket, AuditRegistry, AuthThrottle, OrgQuota, WebhookDispatcher } from '../build/index.js';

const pending = new Set();

addEventListener('error', () => {
  for (const fail of pending) fail();
  pending.clear();
});

function internalError() {
  const requestId = 'req_' + crypto.randomUUID().replaceAll('-', '').slice(0, 20);
  return new Response(
    JSON.stringify({ error: { code: 'internal_error', message: 'internal error; nothing was allowed' } }),
    {
      status: 500,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'X-Request-Id': requestId,
      },
    },
  );
}

export default class OakAuth extends WorkerEntrypoint {
  async fetch(request) {
    let fail;
    const crashed = new Promise((resolve) => {
      fail = () => resolve(internalError());
      pending.add(fail);
    });
    try {
      const inner = new RustWorker(this.ctx, this.env);
      return await Promise.race([inner.fetch(request), crashed]);
    } catch {
      return internalError();
    } finally {
      pending.delete(fail);
    }
  }

  // The audit Queue's consumer (src/audit_rows.rs). A failure makes the Queue deliver the batch
  // again; the agents' objects still hold every row until D1 has it.
  async queue(batch) {
    const inner = new RustWorker(this.ctx, this.env);
    return inner.queue(batch);
  }
}
