// Approvals against the real worker in local workerd: guard() in throw and wait modes, an admin
// deciding through the admin API, the identical call allowed exactly once, and an MCP client
// driving a wrapped server through request, approval and retry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  ApprovalDeniedError,
  ApprovalPendingError,
  OakAuth,
  OakAuthAdmin,
  OakAuthConflictError,
  OakAuthDeniedError,
  OakAuthNotFoundError,
  argumentsDigest,
} from 'oakauth';
import { withOakAuth } from 'oakauth/mcp';
import { startWorker } from '../../tests/support/worker.mjs';

let worker;
let admin;
let agent; // { id, key }

before(async () => {
  worker = await startWorker();
  admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  const created = await admin.createAgent({ name: 'approvals-agent', rate_limit: { capacity: 1000, refill_per_second: 100 } });
  agent = { id: created.agent.id, key: created.api_key };
  await admin.createTool(agent.id, { name: 'payments', scopes: ['send'], risk_level: 'write' });
  // Payments are allowed; those over 500 need a person's approval.
  await admin.createRule(agent.id, { tool: 'payments', scope: 'send', require_reasoning: 'none' });
  await admin.createRule(agent.id, {
    tool: 'payments',
    scope: 'send',
    effect: 'require_approval',
    conditions: [{ pointer: '/amount', op: 'gt', value: 500, on_missing: 'skip' }],
    description: 'payments over 500 need approval',
  });
});

after(async () => {
  await worker?.stop();
});

const oak = () => new OakAuth({ apiKey: agent.key, ...worker.endpoint });
let payee = 0;
/** A payment over 500 to a payee no other test uses, so each test has its own approval. */
const bigPayment = () => ({ tool: 'payments', scope: 'send', reasoning: 'pay the supplier invoice', arguments: { amount: 900, to: `acct_${++payee}` } });

/** An action that records its runs. */
function recorder() {
  const action = async (decision) => {
    action.runs.push(decision);
    return 'paid';
  };
  action.runs = [];
  return action;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('guard() in throw mode', () => {
  it('a small payment is allowed without asking anyone', async () => {
    const action = recorder();
    assert.equal(await oak().guard({ tool: 'payments', scope: 'send', arguments: { amount: 20, to: 'acct_0' } }, action), 'paid');
    assert.equal(action.runs[0].approval, undefined);
  });

  it('a payment over 500 throws ApprovalPendingError with the id; asking again is the same approval; admins see the call', async () => {
    const request = bigPayment();
    const action = recorder();
    const err = await oak().guard(request, action).catch((e) => e);
    assert.ok(err instanceof ApprovalPendingError, err?.message);
    assert.ok(err instanceof OakAuthDeniedError);
    assert.equal(err.reason, 'approval_required');
    assert.match(err.approvalId, /^apr_/);
    const minutes = (err.expiresAt.getTime() - Date.now()) / 60_000;
    assert.ok(minutes > 14 && minutes <= 15, `expires in ${minutes} min (the default is 15)`);
    assert.equal(err.approval.status, 'pending');
    assert.equal(action.runs.length, 0);

    const again = await oak().guard(request, action).catch((e) => e);
    assert.equal(again.approvalId, err.approvalId, 'the same call while pending is the same approval');

    const seen = await admin.getApproval(err.approvalId);
    assert.equal(seen.status, 'pending');
    assert.equal(seen.agent_id, agent.id);
    assert.equal(seen.tool, 'payments');
    assert.equal(seen.scope, 'send');
    assert.equal(seen.reasoning, request.reasoning);
    assert.deepEqual(seen.arguments, request.arguments);
    assert.equal(seen.arguments_digest, argumentsDigest(request.arguments), 'the SDK and the worker hash the arguments alike');
    assert.equal(seen.arguments_digest, argumentsDigest({ to: request.arguments.to, amount: 900.0 }));
    const { approvals } = await admin.listApprovals({ status: 'pending', agent_id: agent.id });
    assert.ok(approvals.some((a) => a.id === err.approvalId));
    assert.deepEqual(await oak().getApproval(err.approvalId), err.approval);
  });

  it('once approved, the identical call runs once; a second is approval_consumed; other arguments naming it are approval_mismatch', async () => {
    const request = bigPayment();
    const { approvalId } = await oak().guard(request, recorder()).catch((e) => e);
    const decided = await admin.decideApproval(approvalId, { decision: 'approve', comment: 'ok, invoice checked' });
    assert.equal(decided.status, 'approved');
    assert.match(decided.decided_by, /^oakadm_/);

    const mismatch = await oak().guard({ ...request, arguments: { ...request.arguments, amount: 9000 }, approval_id: approvalId }, recorder()).catch((e) => e);
    assert.equal(mismatch.reason, 'approval_mismatch');

    const action = recorder();
    // The arguments in another key order are the same call.
    assert.equal(await oak().guard({ ...request, arguments: { to: request.arguments.to, amount: 900 } }, action), 'paid');
    assert.equal(action.runs[0].approval.id, approvalId);
    assert.equal(action.runs[0].approval.status, 'consumed');

    const second = await oak().guard(request, action).catch((e) => e);
    assert.equal(second.constructor, OakAuthDeniedError);
    assert.equal(second.reason, 'approval_consumed');
    assert.equal(action.runs.length, 1);
    const used = await admin.getApproval(approvalId);
    assert.equal(used.status, 'consumed');
    assert.equal(used.consumed_by, action.runs[0].decision_id);
  });

  it('a cancelled approval answers approval_cancelled; cancelling again is a conflict', async () => {
    const request = bigPayment();
    const { approvalId } = await oak().guard(request, recorder()).catch((e) => e);
    assert.equal((await oak().cancelApproval(approvalId)).status, 'cancelled');
    await assert.rejects(oak().cancelApproval(approvalId), OakAuthConflictError);
    const err = await oak().guard(request, recorder()).catch((e) => e);
    assert.equal(err.reason, 'approval_cancelled');
    await assert.rejects(admin.decideApproval(approvalId, { decision: 'approve' }), OakAuthConflictError);
  });

  it("another agent's or an unknown approval is not found", async () => {
    await assert.rejects(oak().getApproval('apr_doesnotexist'), OakAuthNotFoundError);
  });
});

describe('guard() in wait mode', () => {
  it('waits while an admin approves, then runs the action once; the long poll answers as soon as it is decided', async () => {
    const request = bigPayment();
    const action = recorder();
    let approvedAt;
    let deciding;
    const pending = [];
    const result = await oak().guard(request, action, {
      approval: {
        mode: 'wait',
        timeoutMs: 60_000,
        onPending: (ticket) => {
          pending.push(ticket.id);
          // Approve a little later, while guard() is in its long poll.
          deciding = sleep(1500).then(() => {
            approvedAt = Date.now();
            return admin.decideApproval(ticket.id, { decision: 'approve' });
          });
        },
      },
    });
    const ranAt = Date.now();
    await deciding;
    assert.equal(result, 'paid');
    assert.equal(action.runs.length, 1);
    assert.deepEqual(pending, [action.runs[0].approval.id]);
    assert.equal(action.runs[0].approval.status, 'consumed');
    assert.ok(ranAt - approvedAt < 5000, `ran ${ranAt - approvedAt} ms after the approval`);

    const second = await oak().guard(request, action, { approval: { mode: 'wait', timeoutMs: 60_000 } }).catch((e) => e);
    assert.equal(second.reason, 'approval_consumed');
    assert.equal(action.runs.length, 1);
  });

  it('denied with a comment while waiting: ApprovalDeniedError carries the comment; the admin event records who', async () => {
    const request = bigPayment();
    const action = recorder();
    let deciding;
    const err = await oak()
      .guard(request, action, {
        approval: {
          mode: 'wait',
          timeoutMs: 60_000,
          onPending: (ticket) => {
            deciding = sleep(500).then(() => admin.decideApproval(ticket.id, { decision: 'deny', comment: 'not this vendor, use acct_9' }));
          },
        },
      })
      .catch((e) => e);
    const decided = await deciding;
    assert.ok(err instanceof ApprovalDeniedError, err?.message);
    assert.equal(err.reason, 'approval_denied');
    assert.equal(err.comment, 'not this vendor, use acct_9');
    assert.equal(err.approval.id, decided.id);
    assert.match(err.decisionId, /^dec_/);
    assert.equal(action.runs.length, 0);
    const { events } = await admin.listEvents({ agent_id: agent.id });
    const event = events.find((e) => e.action === 'approval.deny' && e.target_id === decided.id);
    assert.ok(event, JSON.stringify(events.map((e) => e.action)));
    assert.equal(event.actor, decided.decided_by);
  });

  it('nobody decides in time: ApprovalPendingError with timedOut, and the approval stays pending', async () => {
    const started = Date.now();
    const err = await oak().guard(bigPayment(), recorder(), { approval: { mode: 'wait', timeoutMs: 2000 } }).catch((e) => e);
    const took = Date.now() - started;
    assert.ok(err instanceof ApprovalPendingError, err?.message);
    assert.equal(err.timedOut, true);
    assert.ok(took >= 2000 && took < 8000, `took ${took} ms`);
    assert.equal((await admin.getApproval(err.approvalId)).status, 'pending');
  });

  it('getApproval with waitSeconds answers as soon as the approval is decided', async () => {
    const { approvalId } = await oak().guard(bigPayment(), recorder()).catch((e) => e);
    const started = Date.now();
    const waiting = oak().getApproval(approvalId, { waitSeconds: 25 });
    await sleep(1000);
    await admin.decideApproval(approvalId, { decision: 'approve' });
    const ticket = await waiting;
    assert.equal(ticket.status, 'approved');
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
  });
});

describe('an MCP client through request, approval and retry', () => {
  let client;
  const ran = [];
  before(async () => {
    const server = new McpServer({ name: 'bank', version: '1.0.0' });
    withOakAuth(server, { apiKey: agent.key, ...worker.endpoint, toolMapping: { pay: { tool: 'payments', scope: 'send' } } });
    server.registerTool('pay', { description: 'Pay', inputSchema: { amount: z.number(), to: z.string() } }, async (args) => {
      ran.push(args);
      return { content: [{ type: 'text', text: `paid ${args.amount} to ${args.to}` }] };
    });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    client = new Client({ name: 'model', version: '1.0.0' });
    await client.connect(clientTransport);
  });
  after(async () => {
    await client?.close();
  });

  const text = (result) => result.content.map((c) => c.text).join('\n');

  it('the model is told to call again once approved; its identical retry runs the tool once', async () => {
    const args = { amount: 750, to: 'acct_mcp' };
    const first = await client.callTool({ name: 'pay', arguments: { ...args, _reasoning: 'the user asked to pay the invoice' } });
    assert.equal(first.isError, true);
    assert.match(text(first), /approval requested \(id apr_\w+\) for payments:send; an administrator must approve; call this tool again with the same arguments once approved/);
    const id = text(first).match(/\(id (apr_\w+)\)/)[1];
    assert.equal(ran.length, 0);

    // Before anyone decides, the retry is the same request.
    const early = await client.callTool({ name: 'pay', arguments: args });
    assert.match(text(early), new RegExp(`\\(id ${id}\\)`));

    const approval = await admin.getApproval(id);
    assert.deepEqual(approval.arguments, args);
    await admin.decideApproval(id, { decision: 'approve', comment: 'fine' });

    const retry = await client.callTool({ name: 'pay', arguments: { to: 'acct_mcp', amount: 750, _reasoning: 'approved now' } });
    assert.equal(retry.isError, undefined, text(retry));
    assert.equal(text(retry), 'paid 750 to acct_mcp');
    assert.deepEqual(ran, [args]);

    const again = await client.callTool({ name: 'pay', arguments: args });
    assert.equal(again.isError, true);
    assert.match(text(again), /already used; an approval allows the approved call once/);
    assert.equal(ran.length, 1);
  });

  it('a denial reaches the model with the comment', async () => {
    const args = { amount: 600, to: 'acct_mcp_denied' };
    const first = await client.callTool({ name: 'pay', arguments: args });
    const id = text(first).match(/\(id (apr_\w+)\)/)[1];
    await admin.decideApproval(id, { decision: 'deny', comment: 'wrong account' });
    const retry = await client.callTool({ name: 'pay', arguments: args });
    assert.equal(retry.isError, true);
    assert.match(text(retry), new RegExp(`an administrator denied the approval \\(id ${id}\\) of this call to payments:send, with the comment: "wrong account"`));
    assert.ok(!ran.some((a) => a.to === 'acct_mcp_denied'));
  });
});
