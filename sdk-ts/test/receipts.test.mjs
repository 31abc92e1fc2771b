// Signed decision receipts from the real worker in local workerd: an allowed validate carries a
// receipt that verifies against the live JWKS (with this SDK, with jose on its own, and with
// node:crypto), a deny carries none; and an MCP server wrapped in receipt-only mode, with no agent
// key of its own, runs a real MCP client's call only with a valid, unused receipt for exactly it.
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { z } from 'zod';
import { OakAuth, OakAuthAdmin, argumentsDigest, isAllowed } from 'oakauth';
import { RECEIPT_META_KEY, ReceiptInvalidError, ReceiptVerifier } from 'oakauth/receipts';
import { withOakAuth } from 'oakauth/mcp';
import { startWorker } from '../../tests/support/worker.mjs';

let worker;
let agent; // { id, key }
let org;
let oak;

before(async () => {
  worker = await startWorker();
  const admin = new OakAuthAdmin({ adminKey: worker.adminKey, ...worker.endpoint });
  org = (await admin.me()).organization.id;
  const created = await admin.createAgent({ name: 'receipts-agent', rate_limit: { capacity: 1000, refill_per_second: 100 } });
  agent = { id: created.agent.id, key: created.api_key };
  await admin.createTool(agent.id, { name: 'filesystem', scopes: ['read', 'write', 'delete'], risk_level: 'write' });
  await admin.createRule(agent.id, { tool: 'filesystem', scope: 'read', require_reasoning: 'none' });
  await admin.createRule(agent.id, { tool: 'filesystem', scope: 'delete', require_reasoning: 'none' });
  // No rule for filesystem:write.
  oak = new OakAuth({ apiKey: agent.key, ...worker.endpoint });
});

after(async () => {
  await worker?.stop();
});

const verifier = () => new ReceiptVerifier({ issuer: worker.baseUrl, allowInsecureLoopback: true });
const ARGS = { path: '/srv/ré sumé.txt', lines: 1.0, limits: { max: 1e21, min: -0 }, tags: ['a', 'ü', '😀'], follow: false, none: null };

async function jwks() {
  const res = await fetch(`${worker.baseUrl}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  return res.json();
}

describe('receipts on validate answers', () => {
  it('an allowed validate carries a receipt that verifies against the live JWKS, bound to the call', async () => {
    const decision = await oak.validate({ tool: 'filesystem', scope: 'read', reasoning: 'the user asked', arguments: ARGS });
    assert.equal(isAllowed(decision), true);
    assert.equal(typeof decision.receipt, 'string');
    const claims = await verifier().verify(decision.receipt, { tool: 'filesystem', scope: 'read', arguments: ARGS });
    assert.equal(claims.iss, worker.baseUrl);
    assert.equal(claims.org, org);
    assert.equal(claims.agent, agent.id);
    assert.equal(claims.tool, 'filesystem');
    assert.equal(claims.scope, 'read');
    assert.equal(claims.jti, decision.decision_id);
    // The worker's digest of these arguments (non-ASCII, 1.0, 1e21, -0, null) is this SDK's.
    assert.equal(claims.args, argumentsDigest(ARGS));
    assert.equal(claims.exp - claims.iat, 60);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 30, `iat ${claims.iat}`);
  });

  it('a call without arguments is bound to the digest of {}', async () => {
    const decision = await oak.validate({ tool: 'filesystem', scope: 'read' });
    const claims = await verifier().verify(decision.receipt, { tool: 'filesystem', scope: 'read' });
    assert.equal(claims.args, argumentsDigest({}));
  });

  it('guard() hands the receipt to its action', async () => {
    const receipt = await oak.guard({ tool: 'filesystem', scope: 'read', arguments: { path: '/a' } }, (d) => d.receipt);
    await verifier().verify(receipt, { tool: 'filesystem', scope: 'read', arguments: { path: '/a' } });
  });

  it('a deny carries no receipt', async () => {
    const decision = await oak.validate({ tool: 'filesystem', scope: 'write', arguments: { path: '/a' } });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reason, 'scope_not_granted');
    assert.equal(decision.receipt, undefined);
    const unknown = await oak.validate({ tool: 'shell', scope: 'exec' });
    assert.equal(unknown.allowed, false);
    assert.equal(unknown.receipt, undefined);
  });

  it('a live receipt is refused for another call, and when used twice', async () => {
    const { receipt } = await oak.validate({ tool: 'filesystem', scope: 'delete', arguments: { path: '/tmp/x' } });
    const v = verifier();
    const reason = (expected) => v.verify(receipt, expected).then(() => 'verified', (e) => (e instanceof ReceiptInvalidError ? e.reason : e));
    assert.equal(await reason({ tool: 'filesystem', scope: 'read', arguments: { path: '/tmp/x' } }), 'scope_mismatch');
    assert.equal(await reason({ tool: 'files', scope: 'delete', arguments: { path: '/tmp/x' } }), 'tool_mismatch');
    assert.equal(await reason({ tool: 'filesystem', scope: 'delete', arguments: { path: '/etc' } }), 'arguments_mismatch');
    assert.equal(await reason({ tool: 'filesystem', scope: 'delete', arguments: { path: '/tmp/x' } }), 'verified');
    assert.equal(await reason({ tool: 'filesystem', scope: 'delete', arguments: { path: '/tmp/x' } }), 'replayed');
    const elsewhere = new ReceiptVerifier({ issuer: 'https://oakauth.example.com', jwks: await jwks() });
    assert.equal(await elsewhere.verify(receipt, { tool: 'filesystem', scope: 'delete', arguments: { path: '/tmp/x' } }).catch((e) => e.reason), 'issuer');
  });
});

describe('the JWKS endpoint, read by third-party code', () => {
  it('serves Ed25519 public keys only, each with a kid, that jose imports and verifies a receipt with', async () => {
    const set = await jwks();
    assert.ok(Array.isArray(set.keys) && set.keys.length >= 1);
    for (const key of set.keys) {
      assert.equal(key.kty, 'OKP');
      assert.equal(key.crv, 'Ed25519');
      assert.equal(key.alg, 'EdDSA');
      assert.equal(key.use, 'sig');
      assert.equal(typeof key.kid, 'string');
      assert.match(key.x, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(key.d, undefined, 'no private part');
      await importJWK(key, 'EdDSA');
    }
    const { receipt } = await oak.validate({ tool: 'filesystem', scope: 'read', arguments: { path: '/b' } });
    const header = decodeProtectedHeader(receipt);
    assert.deepEqual({ alg: header.alg, typ: header.typ }, { alg: 'EdDSA', typ: 'oakauth-receipt+jwt' });
    assert.ok(set.keys.some((k) => k.kid === header.kid), 'the receipt names a key of the JWKS');
    const { payload, protectedHeader } = await jwtVerify(receipt, createLocalJWKSet(set), { algorithms: ['EdDSA'], issuer: worker.baseUrl, typ: 'oakauth-receipt+jwt' });
    assert.equal(protectedHeader.kid, header.kid);
    assert.equal(payload.args, argumentsDigest({ path: '/b' }));
  });

  it('node:crypto verifies the same signature with the JWK, and not a changed payload', async () => {
    const set = await jwks();
    const { receipt } = await oak.validate({ tool: 'filesystem', scope: 'read' });
    const [header, payload, signature] = receipt.split('.');
    const key = createPublicKey({ key: set.keys.find((k) => k.kid === decodeProtectedHeader(receipt).kid), format: 'jwk' });
    const sig = Buffer.from(signature, 'base64url');
    assert.equal(cryptoVerify(null, Buffer.from(`${header}.${payload}`), key, sig), true);
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url')), scope: 'delete' })).toString('base64url');
    assert.equal(cryptoVerify(null, Buffer.from(`${header}.${changed}`), key, sig), false);
  });
});

describe('an MCP server in receipt-only mode', () => {
  let client;
  let ran;
  const saved = process.env.OAKAUTH_API_KEY;

  before(async () => {
    // The server has no agent key: it trusts OakAuth's receipts only.
    delete process.env.OAKAUTH_API_KEY;
    ran = [];
    const server = new McpServer({ name: 'files', version: '1.0.0' });
    const record = (name) => async (args) => {
      ran.push({ name, args });
      return { content: [{ type: 'text', text: `${name} ran` }] };
    };
    withOakAuth(server, {
      requireReceipt: true,
      ...worker.endpoint,
      toolMapping: { read_file: { tool: 'filesystem', scope: 'read' }, delete_file: { tool: 'filesystem', scope: 'delete' } },
    });
    server.registerTool('read_file', { description: 'Read a file', inputSchema: { path: z.string() } }, record('read_file'));
    server.registerTool('delete_file', { description: 'Delete a file', inputSchema: { path: z.string() } }, record('delete_file'));
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(clientTransport);
  });

  after(async () => {
    await client?.close();
    if (saved !== undefined) process.env.OAKAUTH_API_KEY = saved;
  });

  const text = (result) => result.content.map((c) => c.text).join('\n');
  /** What an agent (or oakauth proxy) does: ask OakAuth, then call the tool with the receipt in _meta. */
  async function receiptFor(tool, scope, args) {
    const decision = await oak.validate({ tool, scope, reasoning: 'the user asked', arguments: args });
    assert.equal(isAllowed(decision), true, decision.message);
    return decision.receipt;
  }
  const call = (name, args, receipt) =>
    client.callTool({ name, arguments: args, ...(receipt === undefined ? {} : { _meta: { [RECEIPT_META_KEY]: receipt } }) });

  it('runs a call that carries a valid receipt for it', async () => {
    const args = { path: '/srv/a.txt' };
    const result = await call('read_file', args, await receiptFor('filesystem', 'read', args));
    assert.equal(result.isError, undefined, text(result));
    assert.equal(text(result), 'read_file ran');
    assert.deepEqual(ran.at(-1), { name: 'read_file', args });
  });

  it('refuses a call without a receipt, and the tool does not run', async () => {
    const before = ran.length;
    const result = await call('delete_file', { path: '/srv/a.txt' }, undefined);
    assert.equal(result.isError, true);
    assert.match(text(result), /only calls that carry a signed OakAuth decision receipt .*filesystem:delete has none.*did not run/);
    assert.equal(ran.length, before);
  });

  it('refuses a replayed receipt', async () => {
    const args = { path: '/srv/b.txt' };
    const receipt = await receiptFor('filesystem', 'delete', args);
    assert.equal((await call('delete_file', args, receipt)).isError, undefined);
    const before = ran.length;
    const again = await call('delete_file', args, receipt);
    assert.equal(again.isError, true);
    assert.match(text(again), /\(replayed\)/);
    assert.equal(ran.length, before);
  });

  it('refuses a receipt for other arguments, another tool, or an altered receipt', async () => {
    const before = ran.length;
    const receipt = await receiptFor('filesystem', 'read', { path: '/srv/public.txt' });
    assert.match(text(await call('read_file', { path: '/etc/shadow' }, receipt)), /\(arguments_mismatch\)/);
    assert.match(text(await call('delete_file', { path: '/srv/public.txt' }, receipt)), /\(scope_mismatch\)/);
    const [header, payload, signature] = receipt.split('.');
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url')), args: argumentsDigest({ path: '/etc/shadow' }) })).toString('base64url');
    assert.match(text(await call('read_file', { path: '/etc/shadow' }, `${header}.${widened}.${signature}`)), /\(signature\)/);
    assert.equal(ran.length, before);
    // The receipt was refused every time, so it is still unused: its own call runs.
    assert.equal((await call('read_file', { path: '/srv/public.txt' }, receipt)).isError, undefined);
  });
});
