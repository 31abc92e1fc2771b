// The one HTTP helper of the SDK: checks the base URL, builds URLs, sends with a timeout and without
// following redirects, retries transient failures with exponential backoff and jitter, and turns
// every answer that is not a success into a typed error.
import {
  OakAuthAPIError,
  OakAuthAuthenticationError,
  OakAuthConfigurationError,
  OakAuthConflictError,
  OakAuthConnectionError,
  OakAuthMalformedResponseError,
  OakAuthNotFoundError,
  OakAuthPlanLimitError,
  OakAuthRateLimitError,
  OakAuthRedirectError,
  OakAuthServerError,
  OakAuthTimeoutError,
  OakAuthValidationError,
} from './errors.js';
import type { PlanId, Quota } from './types.js';

/** The part of `fetch` the SDK uses; the platform's `fetch` fits, and so does any compatible function. */
export type FetchLike = (
  input: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
    redirect: 'manual';
    /** `'include'` for a person's session cookie (a browser's fetch sends it to the API's origin). */
    credentials?: 'include';
  },
) => Promise<ResponseLike>;

/** The part of a fetch `Response` the SDK reads. */
export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** `'opaqueredirect'` for a redirect a browser's fetch does not show. */
  type?: string;
  /** True when the fetch followed a redirect (a fetch that ignored `redirect: 'manual'`). */
  redirected?: boolean;
}

/** Milliseconds each attempt may take, body included. */
export const DEFAULT_TIMEOUT = 10_000;
/** Retries after a connection failure, a timeout or a 5xx. */
export const DEFAULT_RETRIES = 2;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** A `Retry-After` on a 5xx longer than this is cut to it, so a client never sleeps for minutes. */
const RETRY_AFTER_CAP_MS = 30_000;

export interface HttpOptions {
  baseUrl: string;
  allowInsecureLoopback: boolean;
  /** Sent as `Authorization: Bearer <key>`; absent for a session cookie. */
  key?: string;
  timeout: number;
  retries: number;
  fetch: FetchLike;
  /** How a request authenticates besides the key: headers and the cookie. */
  auth?: RequestAuth;
}

/** What a request carries besides a bearer key: a person's session (cookie, organization, CSRF token). */
export interface RequestAuth {
  /** Sent on every request. */
  headers?: Record<string, string>;
  /** Sent on writes only (POST, PUT, PATCH, DELETE). */
  writeHeaders?: Record<string, string>;
  /** `'include'` sends the browser's cookies for the API's origin. */
  credentials?: 'include';
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a request may be sent again after it may have reached the service. Validations and
 * reads may (a repeated validation is a new, separately logged question); creating something may
 * not, except when the connection was refused before anything was sent.
 */
export type RetryPolicy = 'always' | 'connect-only';

export interface Answer {
  status: number;
  requestId: string | undefined;
  retryAfter: number | undefined;
  /** The parsed JSON body; undefined for an empty body. */
  body: unknown;
  text: string;
}

type QueryValue = string | number | boolean | undefined | null;

/** Reads an option from the environment where there is one (Node, Bun, Deno with `process`). */
export function fromEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The options both clients share. */
export interface CommonOptions {
  baseUrl?: string;
  allowInsecureLoopback?: boolean;
  timeout?: number;
  retries?: number;
  fetch?: FetchLike;
}

/**
 * The transport of a client: `key` (already taken from its option or environment variable) and
 * the common options, checked, with their defaults. `missingKey` is the error when there is no key.
 */
export function clientHttp(key: unknown, missingKey: string, options: CommonOptions, auth?: RequestAuth): Http {
  // A session cookie needs no key: `auth` then says how requests authenticate.
  const keyless = auth?.credentials === 'include' && key === undefined;
  if (!keyless && (typeof key !== 'string' || key.trim() === '')) throw new OakAuthConfigurationError(missingKey);
  const baseUrl = options.baseUrl ?? fromEnv('OAKAUTH_BASE_URL');
  if (baseUrl === undefined || baseUrl.trim() === '') {
    throw new OakAuthConfigurationError(
      'OakAuth: a base URL is required (the baseUrl option or OAKAUTH_BASE_URL), such as https://oakauth.example.com',
    );
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const fetchImpl = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new OakAuthConfigurationError('OakAuth: timeout must be a positive number of milliseconds');
  if (!Number.isInteger(retries) || retries < 0) throw new OakAuthConfigurationError('OakAuth: retries must be a whole number, 0 or more');
  if (typeof fetchImpl !== 'function') {
    throw new OakAuthConfigurationError('OakAuth: no fetch available; pass one as the `fetch` option');
  }
  return new Http({
    baseUrl: baseUrl.trim(),
    allowInsecureLoopback: options.allowInsecureLoopback ?? fromEnv('OAKAUTH_ALLOW_INSECURE_LOOPBACK') === '1',
    key: keyless ? undefined : (key as string).trim(),
    timeout,
    retries,
    fetch: fetchImpl,
    auth,
  });
}

export class Http {
  readonly baseUrl: string;
  /** Milliseconds each attempt may take, unless a request says otherwise. */
  readonly timeout: number;
  readonly #key: string | undefined;
  readonly #retries: number;
  readonly #fetch: FetchLike;
  readonly #auth: RequestAuth;

  constructor(options: HttpOptions) {
    checkBaseUrl(options.baseUrl, options.allowInsecureLoopback);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#key = options.key;
    this.timeout = options.timeout;
    this.#retries = options.retries;
    this.#fetch = options.fetch;
    this.#auth = options.auth ?? {};
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    let url = this.baseUrl + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) params.append(name, String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    return url;
  }

  /**
   * Sends a request and returns the answer, retrying transient failures. Throws a typed error for
   * any status other than 2xx, except the statuses in `accept` which are returned as they are.
   * `timeout` replaces the client's per-attempt timeout (a long poll needs longer).
   */
  async request(
    method: string,
    path: string,
    options: { query?: Record<string, QueryValue>; body?: unknown; retry: RetryPolicy; accept?: number[]; timeout?: number },
  ): Promise<Answer> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { ...this.#auth.headers, Accept: 'application/json' };
    if (WRITES.has(method)) Object.assign(headers, this.#auth.writeHeaders);
    if (this.#key !== undefined) headers.Authorization = `Bearer ${this.#key}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    for (let attempt = 0; ; attempt++) {
      let answer: Answer | undefined;
      let failure: OakAuthConnectionError | undefined;
      try {
        answer = await this.#exchange(url, method, headers, body, options.timeout ?? this.timeout);
      } catch (err) {
        if (!(err instanceof OakAuthConnectionError)) throw err;
        failure = err;
      }
      const retryable = failure
        ? options.retry === 'always' || refusedBeforeSending(failure)
        : answer!.status >= 500 && options.retry === 'always';
      if (retryable && attempt < this.#retries) {
        await sleep(backoff(attempt, answer?.retryAfter));
        continue;
      }
      if (failure) throw failure;
      const ok = answer!.status >= 200 && answer!.status < 300;
      if (ok || options.accept?.includes(answer!.status)) return answer!;
      throw errorFor(answer!);
    }
  }

  async #exchange(url: string, method: string, headers: Record<string, string>, body: string | undefined, timeout: number): Promise<Answer> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    const fetchImpl = this.#fetch;
    try {
      // A redirect is never followed: the answer must come from the configured origin.
      const init: Parameters<FetchLike>[1] = { method, headers, body, signal: controller.signal, redirect: 'manual' };
      if (this.#auth.credentials) init.credentials = this.#auth.credentials;
      const response = await fetchImpl(url, init);
      const requestId = response.headers.get('x-request-id') ?? undefined;
      if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400) || response.redirected === true) {
        const location = response.headers.get('location') ?? undefined;
        throw new OakAuthRedirectError(
          `OakAuth at ${this.baseUrl} answered ${method} ${url} with a redirect (HTTP ${response.status}${location ? ` to ${location}` : ''}); redirects are not followed`,
          response.status,
          location,
          requestId,
        );
      }
      const text = await response.text();
      let parsed: unknown;
      if (text.trim() !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          if (response.status < 300) {
            throw new OakAuthMalformedResponseError(`OakAuth answered HTTP ${response.status} with a body that is not JSON`, response.status, text, requestId);
          }
          parsed = undefined;
        }
      }
      return { status: response.status, requestId, retryAfter: parseRetryAfter(response.headers.get('retry-after')), body: parsed, text };
    } catch (err) {
      if (err instanceof OakAuthMalformedResponseError || err instanceof OakAuthRedirectError) throw err;
      if (controller.signal.aborted) {
        throw new OakAuthTimeoutError(`OakAuth did not answer ${method} ${url} within ${timeout} ms`, { cause: err });
      }
      const detail = describeCause(err);
      throw new OakAuthConnectionError(`could not reach OakAuth at ${url}${detail ? `: ${detail}` : ''}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Refuses a base URL that is not a URL, not http(s), or plain http: plain http is only allowed to a
 * loopback address (127.0.0.0/8, ::1, localhost), and only when `allowInsecureLoopback` is set.
 */
export function checkBaseUrl(baseUrl: string, allowInsecureLoopback: boolean, what = 'baseUrl'): void {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new OakAuthConfigurationError(`OakAuth: ${what} is not a URL: ${baseUrl}`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol !== 'http:') throw new OakAuthConfigurationError(`OakAuth: ${what} must be an https URL: ${baseUrl}`);
  if (!isLoopback(parsed.hostname)) {
    throw new OakAuthConfigurationError(`OakAuth: ${what} must be https; plain http is only allowed to a loopback address: ${baseUrl}`);
  }
  if (!allowInsecureLoopback) {
    throw new OakAuthConfigurationError(
      `OakAuth: ${what} ${baseUrl} is plain http; for a local worker, opt in with the allowInsecureLoopback option or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1`,
    );
  }
}

/** 127.0.0.0/8, ::1 or localhost, as `URL` spells a host name (IPv4 normalized, IPv6 in brackets). */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A typed error for an answer with an error status. */
export function errorFor(answer: Answer): OakAuthAPIError {
  const { status, requestId } = answer;
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const detail = typeof error?.message === 'string' ? error.message : answer.text.trim().slice(0, 200) || `HTTP ${status}`;
  const message = code ? `${code}: ${detail}` : `HTTP ${status}: ${detail}`;
  if (status === 401 || status === 403) return new OakAuthAuthenticationError(status, code, message, requestId);
  if (status === 404) return new OakAuthNotFoundError(status, code, message, requestId);
  if (status === 409) return new OakAuthConflictError(status, code, message, requestId);
  if (status === 402 && code === 'plan_limit') {
    const e = error as { quota?: unknown; limit?: unknown; plan?: unknown };
    return new OakAuthPlanLimitError(
      message,
      {
        quota: typeof e.quota === 'string' ? (e.quota as Quota) : undefined,
        limit: typeof e.limit === 'number' ? e.limit : undefined,
        plan: typeof e.plan === 'string' ? (e.plan as PlanId) : undefined,
      },
      requestId,
    );
  }
  if (status === 429) return new OakAuthRateLimitError(message, answer.retryAfter ?? 0, undefined, requestId);
  if (status >= 500) return new OakAuthServerError(status, code, message, requestId);
  if (status >= 400) return new OakAuthValidationError(status, code, message, requestId);
  return new OakAuthAPIError(status, code, message, requestId);
}

/** `Retry-After` in seconds (OakAuth sends whole seconds; an HTTP date is read too). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Exponential backoff with full jitter in its upper half, or `Retry-After` when that asks for longer. */
function backoff(attempt: number, retryAfterSeconds: number | undefined): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  const jittered = exp / 2 + Math.random() * (exp / 2);
  const asked = retryAfterSeconds === undefined ? 0 : Math.min(RETRY_AFTER_CAP_MS, retryAfterSeconds * 1000);
  return Math.max(jittered, asked);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether the failure happened before the request could have reached the service. */
function refusedBeforeSending(err: OakAuthConnectionError): boolean {
  if (err instanceof OakAuthTimeoutError) return false;
  let cause: unknown = err.cause;
  for (let depth = 0; cause && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSED_CODES.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

function describeCause(err: unknown): string {
  const parts: string[] = [];
  let cause: unknown = err;
  for (let depth = 0; cause && depth < 4; depth++) {
    const c = cause as { message?: unknown; code?: unknown; cause?: unknown };
    if (typeof c.code === 'string') parts.push(c.code);
    else if (typeof c.message === 'string' && c.message) parts.push(c.message);
    cause = c.cause;
  }
  return [...new Set(parts)].join(': ');
}
