// A tool server that runs a call only when it comes with OakAuth's signed receipt for exactly that
// call: it needs no agent key and does not call OakAuth per request; it checks the receipt against
// OakAuth's public keys (fetched once from /.well-known/jwks.json and cached).
//
//   POST /tools/<tool>/<scope>   {"arguments": {...}, "receipt": "<the decision's receipt>"}
//
// Its one tool is the demo agent's `filesystem` of scripts/dev.sh, over notes kept in memory:
// filesystem:write {name, text}, filesystem:read {name}. Start it (it prints where it listens):
//
//   export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//   node examples/receipt-server.mjs
//
// examples/receipt-agent.mjs starts it and calls it.
import { createServer } from 'node:http';
import { ReceiptInvalidError, ReceiptVerifier } from 'oakauth/receipts';

// The issuer is OAKAUTH_BASE_URL: the OakAuth the agents ask, as they spell it.
const receipts = new ReceiptVerifier();
const notes = new Map();
const tools = {
  'filesystem:write': ({ name, text }) => {
    notes.set(String(name), String(text));
    return { wrote: name };
  },
  'filesystem:read': ({ name }) => ({ text: notes.get(String(name)) ?? null }),
};
const MAX_BODY = 64 * 1024;

const server = createServer(async (req, res) => {
  const answer = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const [, prefix, tool, scope, extra] = (req.url ?? '').split('/');
  const run = tools[`${tool}:${scope}`];
  if (req.method !== 'POST' || prefix !== 'tools' || extra !== undefined || !run) return answer(404, { error: { code: 'not_found', message: 'no such tool' } });

  let body;
  try {
    let raw = '';
    for await (const chunk of req) {
      raw += chunk;
      if (raw.length > MAX_BODY) return answer(413, { error: { code: 'too_large', message: `at most ${MAX_BODY} bytes` } });
    }
    body = JSON.parse(raw);
  } catch {
    return answer(400, { error: { code: 'bad_request', message: 'the body must be JSON' } });
  }
  const args = body?.arguments ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return answer(400, { error: { code: 'bad_request', message: 'arguments must be an object' } });
  if (typeof body?.receipt !== 'string') return answer(401, { error: { code: 'receipt_missing', message: 'send the OakAuth decision receipt of this call' } });

  try {
    // Before anything runs: OakAuth allowed this tool, this scope and exactly these arguments, and
    // this receipt was not used before.
    const claims = await receipts.verify(body.receipt, { tool, scope, arguments: args });
    return answer(200, { result: run(args), decision_id: claims.jti, agent: claims.agent });
  } catch (err) {
    if (err instanceof ReceiptInvalidError) return answer(403, { error: { code: `receipt_${err.reason}`, message: err.message } });
    return answer(500, { error: { code: 'internal', message: 'the tool failed' } });
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
