// The package as users get it: `npm pack`, install the tarball into an empty project, and use it
// from ES modules, from CommonJS and from TypeScript.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SDK = join(dirname(fileURLToPath(import.meta.url)), '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work;
let project;
let packed;

// Everything below runs in the consumer project, against node_modules/oakauth from the tarball.
const ESM_USE = `
import { OakAuth, OakAuthAdmin, OakAuthDeniedError, OakAuthError, ApprovalPendingError, argumentsDigest, configure, guard, isAllowed } from 'oakauth';
import { withOakAuth } from 'oakauth/mcp';
import { verifyWebhook } from 'oakauth/webhooks';
import { ReceiptVerifier } from 'oakauth/receipts';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
const deny = { allowed: false, reason: 'scope_not_granted', message: 'denied', decision_id: 'dec_1', reasoning_required: 'none', reasoning_provided: false, rate_limit: null };
const oak = new OakAuth({ apiKey: 'oak_x', baseUrl: 'https://oakauth.example.com', fetch: async () => new Response(JSON.stringify(deny), { status: 200 }) });
let ran = false;
const err = await oak.guard({ tool: 't', scope: 's' }, () => { ran = true; }).catch((e) => e);
const ask = { allowed: false, reason: 'approval_required', message: 'approval required', decision_id: 'dec_2', reasoning_required: 'none', reasoning_provided: false, rate_limit: null,
  approval: { id: 'apr_1', status: 'pending', tool: 't', scope: 's', expires_at: '2030-01-01T00:00:00Z', poll_after_ms: 2000, decided_at: null, comment: null } };
const asking = new OakAuth({ apiKey: 'oak_x', baseUrl: 'https://oakauth.example.com', fetch: async () => new Response(JSON.stringify(ask), { status: 200 }) });
const pending = await asking.guard({ tool: 't', scope: 's' }, () => { ran = true; }).catch((e) => e);
// A delivery signed as the Standard Webhooks specification says, with a 32-byte secret.
const key = Buffer.alloc(32, 7);
const body = JSON.stringify({ type: 'approval.requested', timestamp: '2030-01-01T00:00:00Z', data: { approval_id: 'apr_1' } });
const ts = String(Math.floor(Date.now() / 1000));
const signature = 'v1,' + createHmac('sha256', key).update('msg_1.' + ts + '.' + body).digest('base64');
const event = verifyWebhook('whsec_' + key.toString('base64'), body, { 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': signature });
let short;
try { verifyWebhook('whsec_' + Buffer.alloc(16).toString('base64'), body, {}); } catch (e) { short = e.name; }
// A receipt signed with Ed25519 by node:crypto, verified offline with its public key (jose inside).
const pair = generateKeyPairSync('ed25519');
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const iat = Math.floor(Date.now() / 1000);
const signingInput = b64({ alg: 'EdDSA', typ: 'oakauth-receipt+jwt', kid: 'k1' }) + '.' + b64({ iss: 'https://oakauth.example.com', org: 'org_1', agent: 'agt_1', tool: 't', scope: 's', args: argumentsDigest({}), jti: 'dec_9', iat, exp: iat + 60 });
const receipt = signingInput + '.' + sign(null, Buffer.from(signingInput), pair.privateKey).toString('base64url');
const receipts = new ReceiptVerifier({ issuer: 'https://oakauth.example.com', jwks: { keys: [{ ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA' }] } });
const claims = await receipts.verify(receipt, { tool: 't', scope: 's' });
const replayed = await receipts.verify(receipt, { tool: 't', scope: 's' }).catch((e) => e.name + ' ' + e.reason);
console.log(JSON.stringify({
  denied: err instanceof OakAuthDeniedError && err instanceof OakAuthError && err.reason === 'scope_not_granted',
  pending: pending instanceof ApprovalPendingError && pending instanceof OakAuthDeniedError && pending.approvalId,
  ran,
  admin: typeof new OakAuthAdmin({ adminKey: 'oakadm_x', baseUrl: 'https://oakauth.example.com' }).decideApproval,
  exports: [typeof configure, typeof guard, typeof isAllowed, typeof withOakAuth],
  digest: argumentsDigest({}),
  event: event.type + ' ' + event.data.approval_id,
  short,
  receipt: claims.jti + ' ' + replayed,
}));
`;
const CJS_USE = ESM_USE.replace(
  /^import \{ (.*) \} from 'oakauth';\nimport \{ withOakAuth \} from 'oakauth\/mcp';\nimport \{ verifyWebhook \} from 'oakauth\/webhooks';\nimport \{ ReceiptVerifier \} from 'oakauth\/receipts';\nimport \{ (.*) \} from 'node:crypto';/m,
  "const { $1 } = require('oakauth');\nconst { withOakAuth } = require('oakauth/mcp');\nconst { verifyWebhook } = require('oakauth/webhooks');\nconst { ReceiptVerifier } = require('oakauth/receipts');\nconst { $2 } = require('node:crypto');\n(async () => {",
) + '})();';
const EXPECTED = {
  denied: true,
  pending: 'apr_1',
  ran: false,
  admin: 'function',
  exports: ['function', 'function', 'function', 'function'],
  digest: '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  event: 'approval.requested apr_1',
  short: 'OakAuthConfigurationError',
  receipt: 'dec_9 ReceiptInvalidError replayed',
};

const TS_USE = `
import { OakAuth, OakAuthAdmin, OakAuthDeniedError, ApprovalPendingError, ApprovalDeniedError, argumentsDigest, type ValidateResponse, type LogEntry, type Stats, type Approval, type ApprovalTicket } from 'oakauth';
import { verifyWebhook, WebhookVerifier, type WebhookEvent } from 'oakauth/webhooks';
import { ReceiptVerifier, ReceiptInvalidError, type ReceiptClaims, type ReplayCache } from 'oakauth/receipts';
const oak = new OakAuth({ apiKey: 'oak_x', baseUrl: 'https://oakauth.example.com' });
const admin = new OakAuthAdmin({ adminKey: 'oakadm_x', baseUrl: 'https://oakauth.example.com' });
export async function use(): Promise<[number, string, ValidateResponse['reason'], Stats['total']]> {
  const n: number = await oak.guard({ tool: 't', scope: 's', reasoning: 'why' }, (d) => d.rate_limit?.remaining ?? 0);
  let first: LogEntry | undefined;
  for await (const entry of admin.logs({ allowed: false })) { first = entry; break; }
  const e = new Error() as unknown;
  const reason = e instanceof OakAuthDeniedError ? e.reason : 'allowed';
  return [n, first?.decision_id ?? '', reason, (await admin.stats()).total];
}
export async function approvals(): Promise<[string, string | null, Approval['status'], ApprovalTicket['expires_at'], string]> {
  try {
    return await oak.guard({ tool: 't', scope: 's', arguments: { amount: 1 } }, () => ['ran', null, 'consumed', '', ''], { approval: { mode: 'wait', timeoutMs: 60_000 } });
  } catch (e) {
    if (e instanceof ApprovalPendingError) return [e.approvalId, e.expiresAt.toISOString(), e.approval.status, '', ''];
    if (e instanceof ApprovalDeniedError) return ['', e.comment, 'denied', '', ''];
    const page = await admin.listApprovals({ status: 'pending' });
    const decided = await admin.decideApproval(page.approvals[0]!.id, { decision: 'approve', comment: 'ok' });
    const ticket = await oak.getApproval(decided.id, { waitSeconds: 25 });
    return [decided.id, decided.comment, decided.status, ticket.expires_at, argumentsDigest({ amount: 1 })];
  }
}
export async function checkReceipt(receipt: string, cache: ReplayCache): Promise<ReceiptClaims['jti'] | ReceiptInvalidError['reason']> {
  const verifier = new ReceiptVerifier({ issuer: 'https://oakauth.example.com', replayCache: cache });
  const decision = await oak.validate({ tool: 't', scope: 's' });
  if (decision.receipt === undefined) return 'malformed';
  try {
    return (await verifier.verify(decision.receipt, { tool: 't', scope: 's', arguments: { a: 1 } })).jti;
  } catch (e) {
    if (e instanceof ReceiptInvalidError) return e.reason;
    throw e;
  }
}
export function receive(body: string, headers: Record<string, string>): WebhookEvent['type'] {
  const verifier = new WebhookVerifier('whsec_x');
  return verifier.verify(body, headers).type === verifyWebhook('whsec_x', body, new Headers(headers)).type ? 'approval.requested' : 'key.rotated';
}
`;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'oakauth-pack-'));
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: SDK, maxBuffer: 16 << 20 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  project = join(work, 'consumer');
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // --prefer-offline, not --offline: on a fresh machine npm's cache holds the dependencies' tarballs
  // (npm ci) but not their registry documents, which an install by name needs (CI failed on it).
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)], { cwd: project });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs the ESM and CommonJS builds with their types, and no sources or tests', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json', 'README.md', 'dist/cjs/package.json',
      ...['esm', 'cjs'].flatMap((m) => ['index', 'mcp', 'webhooks', 'receipts'].flatMap((e) => [`dist/${m}/${e}.js`, `dist/${m}/${e}.d.ts`])),
    ]) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), files.join(' '));
  });

  it('installs into an empty project with only its pinned dependencies', async () => {
    const { stdout } = await run(NPM, ['ls', '--all', '--json'], { cwd: project });
    const tree = JSON.parse(stdout).dependencies;
    assert.deepEqual(Object.keys(tree), ['oakauth']);
    // The optional peer dependency (@modelcontextprotocol/sdk) is listed without a version: not installed.
    const installed = Object.entries(tree.oakauth.dependencies).filter(([, d]) => d.version !== undefined);
    const own = Object.fromEntries(installed.map(([name, d]) => [name, d.version]));
    assert.deepEqual(own, { canonicalize: '2.1.0', 'fast-sha256': '1.3.0', jose: '6.2.18', standardwebhooks: '1.1.1' });
  });

  it('works from ES modules', async () => {
    await writeFile(join(project, 'use.mjs'), ESM_USE);
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), EXPECTED);
  });

  it('works from CommonJS', async () => {
    await writeFile(join(project, 'use.cjs'), CJS_USE);
    const { stdout } = await run(process.execPath, ['use.cjs'], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), EXPECTED);
  });

  it('the CommonJS and ES builds are separate files, each loaded from its own folder', async () => {
    const script = "console.log(require.resolve('oakauth'), require.resolve('oakauth/mcp'), require.resolve('oakauth/webhooks'), require.resolve('oakauth/receipts'))";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: project });
    assert.match(stdout, /dist\/cjs\/index\.js .*dist\/cjs\/mcp\.js .*dist\/cjs\/webhooks\.js .*dist\/cjs\/receipts\.js/);
    const esm = await run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('oakauth'), import.meta.resolve('oakauth/webhooks'), import.meta.resolve('oakauth/receipts'))"], { cwd: project });
    assert.match(esm.stdout, /dist\/esm\/index\.js .*dist\/esm\/webhooks\.js .*dist\/esm\/receipts\.js/);
  });

  it('gives TypeScript its types from both module systems', async () => {
    await writeFile(join(project, 'use.mts'), TS_USE);
    await writeFile(join(project, 'use.cts'), TS_USE);
    const tsc = join(SDK, 'node_modules', 'typescript', 'bin', 'tsc');
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] };
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.mts', 'use.cts'] }));
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((e) => e);
    assert.equal(result.code ?? 0, 0, `${result.stdout}${result.stderr}`);
  });
});
