// oakauth/receipts: receipts signed here with keys made by jose verify; anything changed, signed
// otherwise, for another call, expired, replayed or from another issuer does not. The replay cache
// is bounded and pluggable. Then withOakAuth's receipt-only mode with a real MCP client.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import { OakAuthConfigurationError, OakAuthError, argumentsDigest } from 'oakauth';
import {
  MemoryReplayCache,
  RECEIPT_META_KEY,
  ReceiptInvalidError,
  ReceiptVerifier,
  verifyReceipt,
} from 'oakauth/receipts';
import { withOakAuth } from 'oakauth/mcp';

const ISSUER = 'https://oakauth.example.com';
const TYPE = 'oakauth-receipt+jwt';
const ARGS = { path: '/srv/report.txt', lines: 20, options: { follow: false } };
let signing; // { kid, privateKey, jwk }
let other; // a second key pair, not in the JWKS
let jwks;
let sequence = 0;

before(async () => {
  signing = await keyPair('key-2026-a');
  other = await keyPair('key-other');
  const rotated = await keyPair('key-2025-z');
  // Two keys, as during a rotation: the first signs.
  jwks = { keys: [signing.jwk, rotated.jwk] };
});

async function keyPair(kid) {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, jwk };
}

const now = () => Math.floor(Date.now() / 1000);

/** OakAuth's claims for a call of filesystem:read with ARGS, issued now; `overrides` changes them. */
function claims(overrides = {}) {
  const iat = now();
  return {
    iss: ISSUER,
    org: 'org_1',
    agent: 'agt_1',
    tool: 'filesystem',
    scope: 'read',
    args: argumentsDigest(ARGS),
    jti: `dec_${Date.now()}_${++sequence}`,
    iat,
    exp: iat + 60,
    ...overrides,
  };
}

/** A receipt as the worker makes it: EdDSA, typ and kid in the protected header. */
async function sign(payload = claims(), { key = signing, header = {} } = {}) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: TYPE, kid: key.kid, ...header }).sign(key.privateKey);
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const parts = (token) => token.split('.');
const expected = (overrides = {}) => ({ tool: 'filesystem', scope: 'read', arguments: ARGS, ...overrides });
const verifier = (options = {}) => new ReceiptVerifier({ issuer: ISSUER, jwks, ...options });

/** Asserts that verifying rejects with ReceiptInvalidError of `reason`. */
async function refused(promise, reason) {
  const err = await promise.then(
    (value) => assert.fail(`verified, with claims ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(err instanceof ReceiptInvalidError, `${err?.name}: ${err?.message}`);
  assert.ok(err instanceof OakAuthError);
  assert.equal(err.reason, reason, err.message);
  return err;
}

describe('a valid receipt', () => {
  it('verifies and gives its claims', async () => {
    const payload = claims();
    const result = await verifier().verify(await sign(payload), expected());
    assert.deepEqual(result, payload);
  });

  it('verifies for the same arguments in another key order and number spelling', async () => {
    const result = await verifier().verify(await sign(), expected({ arguments: { options: { follow: false }, lines: 20.0, path: '/srv/report.txt' } }));
    assert.equal(result.tool, 'filesystem');
  });

  it('binds no arguments as {}', async () => {
    const v = verifier();
    await v.verify(await sign(claims({ args: argumentsDigest({}) })), expected({ arguments: undefined }));
    await v.verify(await sign(claims({ args: argumentsDigest({}) })), expected({ arguments: null }));
    await v.verify(await sign(claims({ args: argumentsDigest({}) })), expected({ arguments: {} }));
  });

  it('verifies with the second key of the JWKS, as during a rotation', async () => {
    const second = await keyPair('key-second');
    const v = verifier({ jwks: { keys: [signing.jwk, second.jwk] } });
    await v.verify(await sign(claims(), { key: second }), expected());
  });

  it('an issuer given with a trailing slash is the same issuer', async () => {
    const v = new ReceiptVerifier({ issuer: `${ISSUER}/`, jwks });
    assert.equal(v.issuer, ISSUER);
    await v.verify(await sign(), expected());
  });

  it('verifies within the clock leeway after exp, and not without leeway', async () => {
    const token = await sign(claims({ iat: now() - 62, exp: now() - 2 }));
    await refused(verifier({ clockLeeway: 0 }).verify(token, expected()), 'expired');
    await verifier({ clockLeeway: 5 }).verify(token, expected());
  });
});

describe('receipts that are refused', () => {
  it('a tampered payload (another scope, the signature kept)', async () => {
    const [header, , signature] = parts(await sign());
    const forged = `${header}.${b64(claims({ scope: 'write' }))}.${signature}`;
    await refused(verifier().verify(forged, expected({ scope: 'write' })), 'signature');
  });

  it('a tampered signature', async () => {
    const [header, payload, signature] = parts(await sign());
    const flipped = Buffer.from(signature, 'base64url');
    flipped[0] ^= 1;
    await refused(verifier().verify(`${header}.${payload}.${flipped.toString('base64url')}`, expected()), 'signature');
  });

  it('signed by another key under a kid of the JWKS', async () => {
    const token = await sign(claims(), { key: { ...other, kid: signing.kid } });
    await refused(verifier().verify(token, expected()), 'signature');
  });

  it('a kid that is not in the JWKS', async () => {
    await refused(verifier().verify(await sign(claims(), { key: other }), expected()), 'unknown_key');
  });

  it('no kid', async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: TYPE }).sign(signing.privateKey);
    await refused(verifier().verify(token, expected()), 'malformed');
  });

  it('alg none', async () => {
    const token = `${b64({ alg: 'none', typ: TYPE, kid: signing.kid })}.${b64(claims())}.`;
    await refused(verifier().verify(token, expected()), 'algorithm');
  });

  it('HS256, with a secret and with the public key as the HMAC secret', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!');
    const hs = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: TYPE, kid: signing.kid }).sign(secret);
    await refused(verifier().verify(hs, expected()), 'algorithm');
    const confused = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: TYPE, kid: signing.kid })
      .sign(Buffer.from(signing.jwk.x, 'base64url'));
    await refused(verifier().verify(confused, expected()), 'algorithm');
  });

  it('another typ, or none', async () => {
    await refused(verifier().verify(await sign(claims(), { header: { typ: 'JWT' } }), expected()), 'algorithm');
    const untyped = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: signing.kid }).sign(signing.privateKey);
    await refused(verifier().verify(untyped, expected()), 'algorithm');
  });

  it('the wrong tool', async () => {
    const err = await refused(verifier().verify(await sign(), expected({ tool: 'shell' })), 'tool_mismatch');
    assert.match(err.message, /"filesystem".*"shell"/);
  });

  it('the wrong scope', async () => {
    await refused(verifier().verify(await sign(), expected({ scope: 'write' })), 'scope_mismatch');
  });

  it('changed arguments: a value, an added argument, a removed one', async () => {
    const v = verifier();
    await refused(v.verify(await sign(), expected({ arguments: { ...ARGS, path: '/etc/shadow' } })), 'arguments_mismatch');
    await refused(v.verify(await sign(), expected({ arguments: { ...ARGS, recursive: true } })), 'arguments_mismatch');
    const { lines: _lines, ...fewer } = ARGS;
    await refused(v.verify(await sign(), expected({ arguments: fewer })), 'arguments_mismatch');
    await refused(v.verify(await sign(), expected({ arguments: undefined })), 'arguments_mismatch');
  });

  it('expired', async () => {
    await refused(verifier().verify(await sign(claims({ iat: now() - 120, exp: now() - 60 })), expected()), 'expired');
  });

  it('issued in the future', async () => {
    await refused(verifier().verify(await sign(claims({ iat: now() + 60, exp: now() + 120 })), expected()), 'lifetime');
  });

  it('valid for longer than 60 seconds', async () => {
    await refused(verifier().verify(await sign(claims({ exp: now() + 61 })), expected()), 'lifetime');
    await refused(verifier().verify(await sign(claims({ exp: now() + 3600 })), expected()), 'lifetime');
  });

  it('a replayed jti', async () => {
    const v = verifier();
    const token = await sign();
    await v.verify(token, expected());
    await refused(v.verify(token, expected()), 'replayed');
    // Another receipt with the same decision id is a replay too.
    await v.verify(await sign(claims({ jti: 'dec_same' })), expected());
    await refused(v.verify(await sign(claims({ jti: 'dec_same', iat: now() - 1, exp: now() + 59 })), expected()), 'replayed');
  });

  it('of two concurrent verifications of one receipt, one succeeds', async () => {
    const v = verifier();
    const token = await sign();
    const results = await Promise.allSettled([v.verify(token, expected()), v.verify(token, expected())]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(results.find((r) => r.status === 'rejected').reason.reason, 'replayed');
  });

  it('a refused receipt does not use up its jti', async () => {
    const v = verifier();
    const token = await sign();
    await refused(v.verify(token, expected({ tool: 'shell' })), 'tool_mismatch');
    await v.verify(token, expected());
  });

  it('another issuer', async () => {
    await refused(verifier().verify(await sign(claims({ iss: 'https://evil.example.com' })), expected()), 'issuer');
    await refused(verifier().verify(await sign(claims({ iss: `${ISSUER}/` })), expected()), 'issuer');
  });

  it('claims missing or of the wrong type', async () => {
    const v = verifier();
    for (const change of [{ args: undefined }, { args: 'ABC' }, { args: argumentsDigest(ARGS).toUpperCase() }, { jti: '' }, { org: 7 }, { tool: undefined }, { iat: now() + 0.5 }]) {
      await refused(v.verify(await sign(claims(change)), expected()), 'malformed');
    }
  });

  it('what is not a compact JWS', async () => {
    const v = verifier();
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', '!!!.e30.', `${b64('not json')}.${b64(claims())}.sig`, 42, null, 'x'.repeat(4097)]) {
      await refused(v.verify(token, expected()), 'malformed');
    }
  });
});

describe('the replay cache', () => {
  it('is bounded: full of unexpired receipts it refuses new ones, and takes them again once some expired', () => {
    let clock = 1_000_000_000_000;
    const cache = new MemoryReplayCache({ maxEntries: 3, now: () => clock });
    const exp = clock / 1000 + 60;
    assert.equal(cache.remember('a', exp), true);
    assert.equal(cache.remember('b', exp), true);
    assert.equal(cache.remember('c', exp + 30), true);
    assert.equal(cache.remember('a', exp), false);
    assert.throws(() => cache.remember('d', exp), /maxEntries/);
    assert.equal(cache.size, 3);
    clock += 61_000; // a and b expired; c not
    assert.equal(cache.remember('d', exp + 61), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.remember('c', exp + 30), false);
    clock += 30_000;
    assert.equal(cache.remember('c', exp + 120), true, 'an expired jti is forgotten');
  });

  it('a verifier whose cache is full refuses the receipt, fail closed', async () => {
    const v = verifier({ replayCache: new MemoryReplayCache({ maxEntries: 2 }) });
    await v.verify(await sign(), expected());
    await v.verify(await sign(), expected());
    await refused(v.verify(await sign(), expected()), 'replay_cache_unavailable');
  });

  it('keeps a jti until exp plus the leeway', async () => {
    const seen = [];
    const v = verifier({ clockLeeway: 3, replayCache: { remember: (jti, expiresAt) => (seen.push([jti, expiresAt]), true) } });
    const payload = claims();
    await v.verify(await sign(payload), expected());
    assert.deepEqual(seen, [[payload.jti, payload.exp + 3]]);
  });

  it('is pluggable: an asynchronous store decides, and its failure refuses the receipt', async () => {
    const store = new Map();
    const shared = { remember: async (jti, expiresAt) => (store.has(jti) ? false : (store.set(jti, expiresAt), true)) };
    // Two verifiers (two processes) sharing one store: a receipt used by one is a replay for the other.
    const token = await sign();
    await verifier({ replayCache: shared }).verify(token, expected());
    await refused(verifier({ replayCache: shared }).verify(token, expected()), 'replayed');
    const down = { remember: async () => { throw new Error('ECONNREFUSED'); } };
    const err = await refused(verifier({ replayCache: down }).verify(await sign(), expected()), 'replay_cache_unavailable');
    assert.match(err.message, /ECONNREFUSED/);
    // An answer other than true is not a first use.
    await refused(verifier({ replayCache: { remember: () => 'OK' } }).verify(await sign(), expected()), 'replayed');
  });
});

describe('configuration', () => {
  it('needs an issuer, and a leeway of at most 5 s', () => {
    const saved = process.env.OAKAUTH_BASE_URL;
    delete process.env.OAKAUTH_BASE_URL;
    try {
      assert.throws(() => new ReceiptVerifier({ jwks }), OakAuthConfigurationError);
    } finally {
      if (saved !== undefined) process.env.OAKAUTH_BASE_URL = saved;
    }
    assert.throws(() => verifier({ clockLeeway: 6 }), OakAuthConfigurationError);
    assert.throws(() => verifier({ clockLeeway: -1 }), OakAuthConfigurationError);
    assert.throws(() => verifier({ replayCache: {} }), OakAuthConfigurationError);
    assert.throws(() => verifier({ jwks: { keys: 'none' } }), OakAuthConfigurationError);
    assert.throws(() => new MemoryReplayCache({ maxEntries: 0 }), OakAuthConfigurationError);
  });

  it('takes the issuer from a client or OAKAUTH_BASE_URL', () => {
    assert.equal(new ReceiptVerifier({ client: { baseUrl: 'https://a.example.com' }, jwks }).issuer, 'https://a.example.com');
    const saved = process.env.OAKAUTH_BASE_URL;
    process.env.OAKAUTH_BASE_URL = 'https://b.example.com/';
    try {
      assert.equal(new ReceiptVerifier({ jwks }).issuer, 'https://b.example.com');
    } finally {
      if (saved === undefined) delete process.env.OAKAUTH_BASE_URL;
      else process.env.OAKAUTH_BASE_URL = saved;
    }
  });

  it('fetches keys only over https, or plain http to a loopback address when allowed', () => {
    assert.throws(() => new ReceiptVerifier({ issuer: 'http://oakauth.example.com' }), /must be https/);
    assert.throws(() => new ReceiptVerifier({ issuer: 'http://127.0.0.1:8787', allowInsecureLoopback: false }), /allowInsecureLoopback/);
    assert.throws(() => new ReceiptVerifier({ issuer: ISSUER, jwksUrl: 'http://keys.example.com/jwks.json' }), /jwksUrl must be https/);
    new ReceiptVerifier({ issuer: 'http://127.0.0.1:8787', allowInsecureLoopback: true });
  });
});

describe('keys fetched from the issuer', () => {
  let server;
  let base;
  const requests = [];
  let answer = () => [200, JSON.stringify(jwks)];
  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url);
      const [status, body] = answer();
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const remote = () => new ReceiptVerifier({ issuer: base, allowInsecureLoopback: true });

  it('fetches /.well-known/jwks.json once and verifies with it', async () => {
    requests.length = 0;
    const v = remote();
    await v.verify(await sign(claims({ iss: base })), expected());
    await v.verify(await sign(claims({ iss: base })), expected());
    assert.deepEqual(requests, ['/.well-known/jwks.json']);
  });

  it('keys that cannot be fetched refuse the receipt as keys_unavailable', async () => {
    answer = () => [500, '{"error":{"code":"internal","message":"down"}}'];
    try {
      await refused(remote().verify(await sign(claims({ iss: base })), expected()), 'keys_unavailable');
      answer = () => [200, 'not json'];
      await refused(remote().verify(await sign(claims({ iss: base })), expected()), 'keys_unavailable');
      answer = () => [200, '{"keys": "none"}'];
      await refused(remote().verify(await sign(claims({ iss: base })), expected()), 'keys_unavailable');
    } finally {
      answer = () => [200, JSON.stringify(jwks)];
    }
    const closed = new ReceiptVerifier({ issuer: 'http://127.0.0.1:9', allowInsecureLoopback: true, timeout: 1000 });
    await refused(closed.verify(await sign(claims({ iss: 'http://127.0.0.1:9' })), expected()), 'keys_unavailable');
  });

  it('verifyReceipt uses one verifier from the environment, so a receipt is used once', async () => {
    const saved = { base: process.env.OAKAUTH_BASE_URL, loop: process.env.OAKAUTH_ALLOW_INSECURE_LOOPBACK };
    process.env.OAKAUTH_BASE_URL = base;
    process.env.OAKAUTH_ALLOW_INSECURE_LOOPBACK = '1';
    try {
      const token = await sign(claims({ iss: base }));
      assert.equal((await verifyReceipt(token, expected())).iss, base);
      await refused(verifyReceipt(token, expected()), 'replayed');
    } finally {
      for (const [name, value] of [['OAKAUTH_BASE_URL', saved.base], ['OAKAUTH_ALLOW_INSECURE_LOOPBACK', saved.loop]]) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('withOakAuth with requireReceipt', () => {
  /** A server with `read_file` (mapped to filesystem:read) and `ping`, in receipt-only mode; and a client. */
  async function setup(options = { requireReceipt: verifier() }) {
    const ran = [];
    const server = new McpServer({ name: 'files', version: '1.0.0' });
    server.registerTool('read_file', { description: 'Read', inputSchema: z.looseObject({ path: z.string() }) }, async (args) => {
      ran.push(args);
      return { content: [{ type: 'text', text: 'read' }] };
    });
    withOakAuth(server, { toolMapping: { read_file: { tool: 'filesystem', scope: 'read' } }, ...options });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(clientTransport);
    return { client, ran };
  }
  const text = (result) => result.content.map((c) => c.text).join('\n');
  const call = (client, receipt, args = ARGS) =>
    client.callTool({ name: 'read_file', arguments: args, ...(receipt === undefined ? {} : { _meta: { [RECEIPT_META_KEY]: receipt } }) });

  it('runs a call with a valid receipt, once; the reasoning argument is stripped before the check', async () => {
    const env = await setup();
    const token = await sign();
    const result = await call(env.client, token, { ...ARGS, _reasoning: 'the user asked' });
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(env.ran, [ARGS]);
    const again = await call(env.client, token);
    assert.equal(again.isError, true);
    assert.match(text(again), /refused the decision receipt of this call to filesystem:read \(replayed\).*did not run/);
    assert.equal(env.ran.length, 1);
    await env.client.close();
  });

  it('refuses calls without a receipt, with another arguments\' receipt, or a forged one; the tool never runs', async () => {
    const env = await setup();
    const none = await call(env.client, undefined);
    assert.equal(none.isError, true);
    assert.match(text(none), /runs only calls that carry a signed OakAuth decision receipt.*filesystem:read has none/);
    const changed = await call(env.client, await sign(), { ...ARGS, path: '/etc/shadow' });
    assert.match(text(changed), /\(arguments_mismatch\)/);
    const forged = await call(env.client, await sign(claims(), { key: { ...other, kid: signing.kid } }));
    assert.match(text(forged), /\(signature\)/);
    const notString = await call(env.client, { receipt: true });
    assert.match(text(notString), /\(malformed\)/);
    assert.deepEqual(env.ran, []);
    await env.client.close();
  });

  it('lists the tools as they are, without a reasoning argument, and needs no agent key', async () => {
    const saved = process.env.OAKAUTH_API_KEY;
    delete process.env.OAKAUTH_API_KEY;
    try {
      const env = await setup();
      const { tools } = await env.client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['read_file']);
      assert.equal(tools[0].inputSchema.properties._reasoning, undefined);
      await env.client.close();
    } finally {
      if (saved !== undefined) process.env.OAKAUTH_API_KEY = saved;
    }
  });

  it('refuses options that contradict receipt-only mode', () => {
    const server = () => new McpServer({ name: 'x', version: '1.0.0' });
    assert.throws(() => withOakAuth(server(), { requireReceipt: true, apiKey: 'oak_x', baseUrl: ISSUER }), /takes no apiKey or client/);
    assert.throws(() => withOakAuth(server(), { requireReceipt: verifier(), hideDeniedTools: true }), /hideDeniedTools/);
    assert.throws(() => withOakAuth(server(), { requireReceipt: 'yes' }), /requireReceipt must be/);
    assert.throws(() => withOakAuth(server(), { requireReceipt: true, baseUrl: 'http://oakauth.example.com' }), OakAuthConfigurationError);
  });
});
