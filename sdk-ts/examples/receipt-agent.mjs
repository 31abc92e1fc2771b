// Starts examples/receipt-server.mjs and plays an agent: asks OakAuth (with its agent key) for a
// call, sends the call with the decision's receipt, then shows what the server refuses: the same
// receipt again, a receipt with other arguments than it was issued for, and no receipt.
//
//   export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//   OAKAUTH_API_KEY="$(cat ../.oakauth/agent-key)" node examples/receipt-agent.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OakAuth } from 'oakauth';

const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'receipt-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = await once(createInterface({ input: child.stdout }), 'line');
const server = line.replace('listening on ', '');

const oak = new OakAuth(); // OAKAUTH_API_KEY, OAKAUTH_BASE_URL, OAKAUTH_ALLOW_INSECURE_LOOPBACK
const call = async (tool, scope, args, receipt) => {
  const res = await fetch(`${server}/tools/${tool}/${scope}`, { method: 'POST', body: JSON.stringify({ arguments: args, receipt }) });
  const body = await res.json();
  return res.ok ? `ran ${JSON.stringify(body.result)}` : `refused ${res.status} ${body.error.code}`;
};

try {
  const args = { name: 'todo.txt', text: 'buy milk' };
  const decision = await oak.validate({ tool: 'filesystem', scope: 'write', reasoning: 'the user dictated a note', arguments: args });
  console.log(`validate: ${decision.reason}, receipt ${decision.receipt ? 'attached' : 'missing'}`);
  console.log(`write with its receipt: ${await call('filesystem', 'write', args, decision.receipt)}`);
  console.log(`the same receipt again: ${await call('filesystem', 'write', args, decision.receipt)}`);
  const read = { name: 'todo.txt' };
  const allowed = await oak.validate({ tool: 'filesystem', scope: 'read', arguments: read });
  console.log(`read with other arguments: ${await call('filesystem', 'read', { name: 'secrets.txt' }, allowed.receipt)}`);
  console.log(`read without a receipt: ${await call('filesystem', 'read', read, undefined)}`);
  console.log(`read with its receipt: ${await call('filesystem', 'read', read, allowed.receipt)}`);
} finally {
  child.kill();
}
