// oakauth/receipts: verifies OakAuth's signed decision receipts, with the `jose` library, so that a
// tool server can check for itself that OakAuth allowed the exact call it is about to run.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { argumentsDigest } from './digest.js';
import { OakAuthConfigurationError, ReceiptInvalidError, type ReceiptInvalidReason } from './errors.js';
import { checkBaseUrl, fromEnv } from './http.js';

export { ReceiptInvalidError, type ReceiptInvalidReason } from './errors.js';

/** The `typ` header of a receipt. */
export const RECEIPT_TYPE = 'oakauth-receipt+jwt';
/** Where a receipt travels in an MCP `tools/call` request: `params._meta["oakauth/receipt"]`. */
export const RECEIPT_META_KEY = 'oakauth/receipt';
/** The largest clock leeway accepted, in seconds; also the default. */
export const MAX_CLOCK_LEEWAY = 5;
/** How long a receipt is valid (`exp - iat`), in seconds: 60; a longer validity is refused. */
export const RECEIPT_LIFETIME = 60;
/** The longest receipt read, in characters. OakAuth's are about 600. */
export const MAX_RECEIPT_LENGTH = 4096;
/** How many receipts the default in-memory replay cache holds at most. */
export const DEFAULT_REPLAY_CACHE_SIZE = 10_000;
/** Milliseconds a fetch of the public keys may take, by default. */
export const DEFAULT_JWKS_TIMEOUT = 5_000;
/** Milliseconds fetched public keys are used before they are fetched again: the JWKS endpoint's own cache time. */
const JWKS_CACHE_MS = 300_000;

const ALGORITHM = 'EdDSA';
const DIGEST = /^[0-9a-f]{64}$/;

/** What a valid receipt says: OakAuth allowed this agent this call, once, until `exp`. */
export interface ReceiptClaims {
  /** The OakAuth that decided: the base URL the agent called, without a trailing slash. */
  iss: string;
  /** The organization id. */
  org: string;
  /** The agent id. */
  agent: string;
  /** The OakAuth tool. */
  tool: string;
  /** The scope. */
  scope: string;
  /** The SHA-256 (lower-case hex) of the RFC 8785 canonical JSON of the call's arguments: {@link argumentsDigest}. */
  args: string;
  /** The decision id; a receipt is used once. */
  jti: string;
  /** When OakAuth decided, in seconds since the epoch. */
  iat: number;
  /** When the receipt expires, in seconds since the epoch (60 s after `iat`). */
  exp: number;
}

/** The call a receipt must be for: the OakAuth tool and scope, and the arguments exactly as they will run. */
export interface ReceiptExpectation {
  tool: string;
  scope: string;
  /** The arguments the tool will get. No arguments (`undefined`, `null`) are checked as `{}`. */
  arguments?: Record<string, unknown> | null;
}

/**
 * Remembers which receipts were used. The default is {@link MemoryReplayCache}, which one process
 * shares; tool servers that run several processes plug in a shared store (Redis's
 * `SET key 1 NX EXAT expiresAt` is exactly this operation).
 */
export interface ReplayCache {
  /**
   * Records receipt `jti` as used until `expiresAt` (seconds since the epoch). Returns true when it
   * was not recorded yet (the call may run), false when it was (a replay). Must be atomic: of two
   * concurrent calls with the same `jti`, at most one may get true. A throw or a rejection refuses
   * the receipt (`replay_cache_unavailable`).
   */
  remember(jti: string, expiresAt: number): boolean | Promise<boolean>;
}

export interface MemoryReplayCacheOptions {
  /** How many unexpired receipts it holds at most. Default 10000. */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * A replay cache in this process's memory, of at most `maxEntries` receipts, each kept until it
 * expires. When it is full of unexpired receipts it refuses new ones (fails closed) rather than
 * forget one that could then be replayed: size it for the rate of calls (10000 holds 166 calls a
 * second of 60-second receipts).
 */
export class MemoryReplayCache implements ReplayCache {
  readonly maxEntries: number;
  readonly #now: () => number;
  /** jti → expiry, in milliseconds since the epoch. */
  readonly #seen = new Map<string, number>();

  constructor(options: MemoryReplayCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_SIZE;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new OakAuthConfigurationError('OakAuth receipts: maxEntries must be a whole number, 1 or more');
    if (options.now !== undefined && typeof options.now !== 'function') throw new OakAuthConfigurationError('OakAuth receipts: now must be a function');
    this.maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** How many receipts it holds now, expired ones not yet dropped included. */
  get size(): number {
    return this.#seen.size;
  }

  remember(jti: string, expiresAt: number): boolean {
    const now = this.#now();
    const known = this.#seen.get(jti);
    if (known !== undefined && known > now) return false;
    if (known === undefined && this.#seen.size >= this.maxEntries) {
      for (const [id, expiry] of this.#seen) if (expiry <= now) this.#seen.delete(id);
      if (this.#seen.size >= this.maxEntries) {
        throw new Error(`the in-memory replay cache holds ${this.maxEntries} unexpired receipts (its maxEntries)`);
      }
    }
    this.#seen.set(jti, expiresAt * 1000);
    return true;
  }
}

/** The part of `fetch` the verifier uses to get the public keys; the platform's `fetch` fits. */
export type JwksFetch = (url: string, init: { method: string; headers: Headers; signal: AbortSignal; redirect: 'manual' }) => Promise<Response>;

export interface ReceiptVerifierOptions {
  /**
   * The OakAuth whose receipts are trusted: its base URL as agents call it, such as
   * `https://oakauth.example.com` (a trailing slash is ignored). Receipts with another `iss` are
   * refused. Default: `client.baseUrl`, else the `OAKAUTH_BASE_URL` environment variable.
   */
  issuer?: string;
  /** A client whose `baseUrl` is the issuer, when `issuer` is not given. */
  client?: { readonly baseUrl: string };
  /**
   * The public keys, for offline use: a JWKS as `GET /.well-known/jwks.json` answers it. When
   * given, nothing is fetched. Default: fetched from `jwksUrl` and cached (5 minutes; fetched
   * again at most every 30 s when a receipt names a key not seen yet, as after a key rotation).
   */
  jwks?: JSONWebKeySet;
  /** Where to fetch the public keys. Default `${issuer}/.well-known/jwks.json`. Must be https, except a loopback address with `allowInsecureLoopback`. */
  jwksUrl?: string;
  /** Allow a plain `http:` `jwksUrl` to a loopback address. Default: true when `OAKAUTH_ALLOW_INSECURE_LOOPBACK` is `1`. */
  allowInsecureLoopback?: boolean;
  /** Seconds of clock difference tolerated on `exp` and `iat`: 0 to 5. Default 5. */
  clockLeeway?: number;
  /** Where used receipts are remembered. Default: a {@link MemoryReplayCache} of this verifier. */
  replayCache?: ReplayCache;
  /** Milliseconds a fetch of the public keys may take. Default 5000. */
  timeout?: number;
  /** The fetch to get the public keys with. Default: the platform's `fetch`. */
  fetch?: JwksFetch;
}

/**
 * Verifies OakAuth's decision receipts for the calls a tool server is about to run.
 *
 * ```ts
 * import { ReceiptVerifier } from 'oakauth/receipts';
 *
 * const receipts = new ReceiptVerifier({ issuer: 'https://oakauth.example.com' });
 * // before running a call:
 * const claims = await receipts.verify(receipt, { tool: 'payments', scope: 'refund', arguments: args });
 * // throws ReceiptInvalidError (with a `reason`) unless OakAuth allowed exactly this call, and only once
 * ```
 *
 * Keep one verifier for the process: it caches the public keys and remembers used receipts.
 */
export class ReceiptVerifier {
  /** The trusted issuer, without a trailing slash. */
  readonly issuer: string;
  readonly #keys: JWTVerifyGetKey;
  readonly #leeway: number;
  readonly #replay: ReplayCache;

  constructor(options: ReceiptVerifierOptions = {}) {
    const issuer = options.issuer ?? options.client?.baseUrl ?? fromEnv('OAKAUTH_BASE_URL');
    if (typeof issuer !== 'string' || issuer.trim() === '') {
      throw new OakAuthConfigurationError('OakAuth receipts: an issuer is required (the issuer option, a client, or OAKAUTH_BASE_URL), such as https://oakauth.example.com');
    }
    this.issuer = issuer.trim().replace(/\/+$/, '');
    const leeway = options.clockLeeway ?? MAX_CLOCK_LEEWAY;
    if (typeof leeway !== 'number' || !Number.isFinite(leeway) || leeway < 0 || leeway > MAX_CLOCK_LEEWAY) {
      throw new OakAuthConfigurationError(`OakAuth receipts: clockLeeway must be a number of seconds from 0 to ${MAX_CLOCK_LEEWAY}`);
    }
    this.#leeway = leeway;
    const replay = options.replayCache ?? new MemoryReplayCache();
    if (typeof replay?.remember !== 'function') throw new OakAuthConfigurationError('OakAuth receipts: replayCache must have a remember(jti, expiresAt) method');
    this.#replay = replay;
    this.#keys = options.jwks !== undefined ? localKeys(options.jwks) : remoteKeys(this.issuer, options);
  }

  /**
   * Checks that `receipt` is OakAuth's allow of exactly this call, not used before, and records it
   * as used. Returns its claims. Throws {@link ReceiptInvalidError} otherwise; the call must then
   * not run.
   *
   * Checked, in order: the shape (≤ 4 KiB, a `kid`), the algorithm (`EdDSA` only) and `typ`
   * (`oakauth-receipt+jwt`), the signature with the public key its `kid` names, `iss`, `exp` and
   * `iat` (with the clock leeway), `tool`, `scope`, `args` against the digest of `expected.arguments`,
   * and last the `jti` in the replay cache (so only a receipt valid in every other way uses up its
   * `jti`).
   */
  async verify(receipt: string, expected: ReceiptExpectation): Promise<ReceiptClaims> {
    if (typeof expected !== 'object' || expected === null || typeof expected.tool !== 'string' || typeof expected.scope !== 'string') {
      throw new TypeError('ReceiptVerifier.verify: expected must be { tool: string, scope: string, arguments? }');
    }
    const digest = argumentsDigest(expected.arguments);
    checkHeader(receipt);

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(receipt, this.#keys, {
        algorithms: [ALGORITHM],
        typ: RECEIPT_TYPE,
        issuer: this.issuer,
        clockTolerance: this.#leeway,
        requiredClaims: ['iss', 'exp', 'iat', 'jti'],
      }));
    } catch (err) {
      throw fromJose(err, this.issuer);
    }
    const claims = readClaims(payload);
    if (claims.exp - claims.iat > RECEIPT_LIFETIME) {
      throw new ReceiptInvalidError('lifetime', `valid for ${claims.exp - claims.iat} s; OakAuth's receipts are valid for ${RECEIPT_LIFETIME} s`);
    }
    if (claims.iat > Date.now() / 1000 + this.#leeway) {
      throw new ReceiptInvalidError('lifetime', `issued at ${claims.iat}, in the future (is this machine's clock right?)`);
    }

    if (claims.tool !== expected.tool) throw new ReceiptInvalidError('tool_mismatch', `the receipt is for tool ${JSON.stringify(claims.tool)}, the call is to ${JSON.stringify(expected.tool)}`);
    if (claims.scope !== expected.scope) throw new ReceiptInvalidError('scope_mismatch', `the receipt is for scope ${JSON.stringify(claims.scope)}, the call is ${JSON.stringify(expected.scope)}`);
    if (claims.args !== digest) throw new ReceiptInvalidError('arguments_mismatch', 'the receipt is for other arguments than the call about to run');

    let fresh: boolean;
    try {
      fresh = await this.#replay.remember(claims.jti, claims.exp + Math.ceil(this.#leeway));
    } catch (err) {
      const detail = err instanceof Error ? err.message : 'the cache failed';
      throw new ReceiptInvalidError('replay_cache_unavailable', `could not record its use: ${detail}`, { cause: err });
    }
    if (fresh !== true) throw new ReceiptInvalidError('replayed', `receipt ${claims.jti} was already used`);
    return claims;
  }
}

let defaultVerifier: ReceiptVerifier | undefined;

/**
 * {@link ReceiptVerifier.verify} with a verifier made on first use from the environment
 * (`OAKAUTH_BASE_URL` as the issuer, `OAKAUTH_ALLOW_INSECURE_LOOPBACK`) and kept for the process,
 * so its key cache and replay cache serve every call. Make a {@link ReceiptVerifier} for other options.
 */
export async function verifyReceipt(receipt: string, expected: ReceiptExpectation): Promise<ReceiptClaims> {
  defaultVerifier ??= new ReceiptVerifier();
  return defaultVerifier.verify(receipt, expected);
}

/** Refuses, before any key is looked up, what is not a receipt of OakAuth's shape or not signed with EdDSA. */
function checkHeader(receipt: unknown): void {
  if (typeof receipt !== 'string' || receipt === '') throw new ReceiptInvalidError('malformed', 'a receipt is a compact JWS string');
  if (receipt.length > MAX_RECEIPT_LENGTH) throw new ReceiptInvalidError('malformed', `longer than ${MAX_RECEIPT_LENGTH} characters`);
  if (receipt.split('.').length !== 3) throw new ReceiptInvalidError('malformed', 'not a compact JWS (header.payload.signature)');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(receipt) as Record<string, unknown>;
  } catch (err) {
    throw new ReceiptInvalidError('malformed', 'its header is not base64url JSON', { cause: err });
  }
  if (header.alg !== ALGORITHM) throw new ReceiptInvalidError('algorithm', `signed with ${JSON.stringify(header.alg ?? null)}; only ${ALGORITHM} is accepted`);
  if (header.typ !== RECEIPT_TYPE) throw new ReceiptInvalidError('algorithm', `typ is ${JSON.stringify(header.typ ?? null)}, not ${RECEIPT_TYPE}`);
  if (typeof header.kid !== 'string' || header.kid === '') throw new ReceiptInvalidError('malformed', 'its header names no key (kid)');
}

/** The claims, checked to have OakAuth's shape. */
function readClaims(payload: Record<string, unknown>): ReceiptClaims {
  for (const name of ['iss', 'org', 'agent', 'tool', 'scope', 'jti'] as const) {
    const value = payload[name];
    if (typeof value !== 'string' || value === '') throw new ReceiptInvalidError('malformed', `claim ${name} is not a non-empty string`);
  }
  if (typeof payload.args !== 'string' || !DIGEST.test(payload.args)) throw new ReceiptInvalidError('malformed', 'claim args is not a lower-case hex SHA-256');
  const { iat, exp } = payload;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new ReceiptInvalidError('malformed', 'claims iat and exp must be whole seconds');
  return {
    iss: payload.iss as string,
    org: payload.org as string,
    agent: payload.agent as string,
    tool: payload.tool as string,
    scope: payload.scope as string,
    args: payload.args,
    jti: payload.jti as string,
    iat: iat as number,
    exp: exp as number,
  };
}

/** Marks a failure to get the public keys, so that it is not taken for a bad receipt. */
class KeysUnavailable extends Error {}

function localKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  try {
    return createLocalJWKSet(jwks);
  } catch (err) {
    throw new OakAuthConfigurationError('OakAuth receipts: jwks must be a JSON Web Key Set ({"keys": [...]}) as GET /.well-known/jwks.json answers it', { cause: err });
  }
}

function remoteKeys(issuer: string, options: ReceiptVerifierOptions): JWTVerifyGetKey {
  const url = options.jwksUrl ?? `${issuer}/.well-known/jwks.json`;
  const allowInsecureLoopback = options.allowInsecureLoopback ?? fromEnv('OAKAUTH_ALLOW_INSECURE_LOOPBACK') === '1';
  checkBaseUrl(url, allowInsecureLoopback, options.jwksUrl === undefined ? 'the issuer' : 'jwksUrl');
  const timeout = options.timeout ?? DEFAULT_JWKS_TIMEOUT;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new OakAuthConfigurationError('OakAuth receipts: timeout must be a positive whole number of milliseconds');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new OakAuthConfigurationError('OakAuth receipts: fetch must be a function');
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: timeout,
    cacheMaxAge: JWKS_CACHE_MS,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (joseCode(err) === 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      throw new KeysUnavailable(`could not get OakAuth's public keys from ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
}

function joseCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A jose failure as a refusal with its reason. */
function fromJose(err: unknown, issuer: string): ReceiptInvalidError {
  if (err instanceof ReceiptInvalidError) return err;
  if (err instanceof KeysUnavailable) return new ReceiptInvalidError('keys_unavailable', err.message, { cause: err });
  const claim = (err as { claim?: unknown }).claim;
  const detail = err instanceof Error ? err.message : String(err);
  let reason: ReceiptInvalidReason;
  let message = detail;
  switch (joseCode(err)) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      reason = 'unknown_key';
      message = 'its kid names none of OakAuth\'s public keys (or more than one)';
      break;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      reason = 'signature';
      message = 'the signature does not verify';
      break;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      reason = 'algorithm';
      break;
    case 'ERR_JWT_EXPIRED':
      reason = 'expired';
      message = 'its exp has passed';
      break;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') {
        reason = 'issuer';
        message = `not issued by ${issuer}`;
      } else if (claim === 'typ') {
        reason = 'algorithm';
      } else {
        reason = 'malformed';
      }
      break;
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWKS_TIMEOUT':
      reason = 'keys_unavailable';
      break;
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      // A key of another type than Ed25519 (or unusable) under the receipt's kid.
      reason = 'unknown_key';
      break;
    default:
      reason = 'malformed';
  }
  return new ReceiptInvalidError(reason, message, { cause: err });
}
