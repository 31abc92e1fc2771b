import { ApprovalPendingError, OakAuthMalformedResponseError, OakAuthRateLimitError, deniedError } from './errors.js';
// For the documentation links.
import type { OakAuthQuotaExceededError } from './errors.js';
import {
  Http,
  clientHttp,
  errorFor,
  fromEnv,
  type Answer,
  type FetchLike,
} from './http.js';
import type {
  AllowDecision,
  AllowReasonCode,
  ApprovalStatus,
  ApprovalTicket,
  DenyReasonCode,
  Explanation,
  Health,
  ReasonCode,
  ValidateRequest,
  ValidateResponse,
} from './types.js';

export interface OakAuthOptions {
  /** The agent key (`oak_…`). Default: the `OAKAUTH_API_KEY` environment variable. */
  apiKey?: string;
  /**
   * Where OakAuth runs, such as `https://oakauth.example.com`. Required: this option or the
   * `OAKAUTH_BASE_URL` environment variable; there is no default. Must be https, except a loopback
   * address with `allowInsecureLoopback`.
   */
  baseUrl?: string;
  /**
   * Allow a plain `http:` base URL to a loopback address (127.0.0.0/8, `::1`, `localhost`), for a
   * worker on this machine. Default: true when `OAKAUTH_ALLOW_INSECURE_LOOPBACK` is `1`, else false.
   * Plain http to any other host is always refused.
   */
  allowInsecureLoopback?: boolean;
  /** Milliseconds each attempt may take, reading the answer included. Default 10000. */
  timeout?: number;
  /** Retries after a connection failure, a timeout or a 5xx (0 disables them). Default 2. A deny is never retried. */
  retries?: number;
  /** The fetch to use. Default: the platform's `fetch`. */
  fetch?: FetchLike;
}

const ALLOW_REASONS: ReadonlySet<string> = new Set<AllowReasonCode>(['allowed', 'reasoning_missing_soft']);
const DENY_REASONS: ReadonlySet<string> = new Set<DenyReasonCode>([
  'agent_disabled',
  'unknown_tool',
  'scope_not_granted',
  'reasoning_required',
  'rate_limited',
  'unavailable',
  'denied_by_rule',
  'conditions_not_met',
  'invalid_arguments',
  'approval_required',
  'approval_denied',
  'approval_expired',
  'approval_cancelled',
  'approval_consumed',
  'approval_mismatch',
  'quota_exceeded',
]);
const POLICIES: ReadonlySet<string> = new Set(['none', 'soft', 'hard']);
const EFFECTS: ReadonlySet<string> = new Set(['allow', 'deny', 'require_approval']);
const APPROVAL_STATUSES: ReadonlySet<string> = new Set<ApprovalStatus>(['pending', 'approved', 'denied', 'expired', 'cancelled', 'consumed']);
/** The longest long poll `GET /v1/approvals/{id}?wait=` takes, in seconds. */
export const MAX_APPROVAL_WAIT_SECONDS = 25;
/** The shortest interval between two polls of a pending approval, whatever the server advises. */
const MIN_POLL_INTERVAL_MS = 500;
/** How long `guard()` waits for a person in `wait` mode, unless `timeoutMs` says otherwise: 5 minutes. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 300_000;

/**
 * What `guard()` does when the call needs a person's approval (`approval_required`).
 *
 * - `{ mode: 'throw' }`, the default: throw {@link ApprovalPendingError} at once, with the approval's
 *   id, for agents that park the work and make the identical call again later.
 * - `{ mode: 'wait', timeoutMs? }`: wait for the decision (long polls of at most 25 s each, for at
 *   most `timeoutMs`, default 300000), then ask OakAuth again with the same request, naming the
 *   approval, and run the action if that is allowed. A denial throws {@link ApprovalDeniedError} (with
 *   the person's comment), an expiry {@link ApprovalExpiredError}, and a wait that runs out
 *   {@link ApprovalPendingError} with `timedOut: true`. `onPending` is called with the approval when
 *   the wait starts (to tell someone where to approve it).
 */
export type ApprovalMode =
  | { mode: 'throw' }
  | { mode: 'wait'; timeoutMs?: number; onPending?: (approval: ApprovalTicket) => void };

/** Options of {@link OakAuth.guard}. */
export interface GuardOptions {
  /** What to do when the call needs a person's approval. Default `{ mode: 'throw' }`. */
  approval?: ApprovalMode;
}

/** Options of {@link OakAuth.getApproval}. */
export interface GetApprovalOptions {
  /**
   * Seconds (0 to 25) for OakAuth to hold the answer while the approval is pending: it answers as
   * soon as the approval is decided, cancelled or expires, or after this long with the approval
   * still pending. Default 0: answer at once.
   */
  waitSeconds?: number;
}

/**
 * Whether a decision lets the action run: `allowed` is exactly `true` and the reason is one of the
 * two allow reasons. Anything else, including `allowed: true` with a deny reason, is not an allow.
 */
export function isAllowed(decision: ValidateResponse): decision is AllowDecision {
  return decision.allowed === true && ALLOW_REASONS.has(decision.reason);
}

/**
 * A client for agents: asks OakAuth before a tool is used.
 *
 * ```ts
 * const oak = new OakAuth({ apiKey: process.env.OAKAUTH_API_KEY, baseUrl: 'https://oakauth.example.com' });
 * const files = await oak.guard(
 *   { tool: 'filesystem', scope: 'read', reasoning: 'list the files the user asked about', arguments: { path: '.' } },
 *   () => readdir('.'),
 * );
 * ```
 *
 * Send the tool call's real `arguments` when the agent's rules have conditions on them: a rule
 * that tests an argument that was not sent denies (or does not apply, as its `on_missing` says).
 */
export class OakAuth {
  readonly #http: Http;

  constructor(options: OakAuthOptions = {}) {
    this.#http = clientHttp(
      options.apiKey ?? fromEnv('OAKAUTH_API_KEY'),
      'OakAuth: an agent key is required (the apiKey option or OAKAUTH_API_KEY)',
      options,
    );
  }

  /** The base URL this client talks to. */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /**
   * Asks whether the agent may use `tool` with `scope` (with the call's `arguments`, when given), and
   * returns the decision (an allow or a deny; check it with {@link isAllowed}; a deny by a rule
   * carries an `explanation`). An organization over its monthly validation quota gets a deny with
   * reason `quota_exceeded` (HTTP 429) whose `quota` says the limit, the use and when it resets.
   * Throws {@link OakAuthRateLimitError} when the agent is rate limited, and a typed error when no
   * trustworthy decision was had.
   */
  async validate(request: ValidateRequest): Promise<ValidateResponse> {
    return (await this.#decide(request)).decision;
  }

  /**
   * Validates, then runs `action` only on a well-formed allow and returns its result. On a deny it
   * throws {@link OakAuthDeniedError} (with the decision's `explanation`, when a rule decided; over the
   * monthly quota its subclass {@link OakAuthQuotaExceededError}, with `quota` and `resetsAt`); on a rate limit {@link OakAuthRateLimitError}; on a timeout, a
   * transport error, a 5xx after the retries or a malformed answer another {@link OakAuthError}. In
   * every one of those cases the action does not run.
   *
   * A call that needs a person's approval throws {@link ApprovalPendingError} (a subclass of
   * {@link OakAuthDeniedError}), or, with `{ approval: { mode: 'wait' } }`, waits for the decision
   * and runs the action once approved: see {@link ApprovalMode}.
   */
  async guard<T>(request: ValidateRequest, action: (decision: AllowDecision) => T | Promise<T>, options: GuardOptions = {}): Promise<T> {
    if (typeof action !== 'function') throw new TypeError('OakAuth.guard: the action must be a function');
    const mode = approvalMode(options);
    const deadline = mode.mode === 'wait' ? Date.now() + mode.timeoutMs : 0;
    let { decision, requestId, retryAfter } = await this.#decide(request);
    const seen = new Set<string>();
    for (;;) {
      if (isAllowed(decision)) return action(decision);
      const denied = decision as ValidateResponse & { reason: DenyReasonCode };
      const ticket = decision.approval;
      if (mode.mode === 'throw' || decision.reason !== 'approval_required' || !ticket) {
        throw deniedError(denied, request.tool, request.scope, requestId, false, retryAfter);
      }
      // Asked again after the approval left `pending`, OakAuth still says it is pending: waiting
      // more would not change that.
      if (seen.has(ticket.id)) throw deniedError(denied, request.tool, request.scope, requestId);
      seen.add(ticket.id);
      mode.onPending?.(ticket);
      const final = await this.#waitForDecision(ticket, deadline);
      if (final.status === 'pending') throw deniedError(denied, request.tool, request.scope, requestId, true);
      // The decision itself is OakAuth's, on the same request naming the approval: an approval is
      // used (consumed) only by the identical call, and a denial, an expiry or a cancellation comes
      // back as a decision with its reason.
      ({ decision, requestId, retryAfter } = await this.#decide({ ...request, approval_id: final.id }));
    }
  }

  /**
   * `GET /v1/approvals/{id}`: where one of this agent's approvals stands. With `waitSeconds` (at
   * most 25), OakAuth holds the answer until the approval leaves `pending` or the time is up.
   * Throws {@link OakAuthNotFoundError} for an approval that is not this agent's.
   */
  async getApproval(id: string, options: GetApprovalOptions = {}): Promise<ApprovalTicket> {
    const wait = options.waitSeconds ?? 0;
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_APPROVAL_WAIT_SECONDS) {
      throw new RangeError(`OakAuth.getApproval: waitSeconds must be a whole number from 0 to ${MAX_APPROVAL_WAIT_SECONDS}`);
    }
    const path = `/v1/approvals/${approvalSegment(id)}`;
    // The long poll may take `wait` seconds before the answer starts.
    const answer = await this.#http.request('GET', path, {
      query: wait > 0 ? { wait } : undefined,
      retry: 'always',
      timeout: this.#http.timeout + wait * 1000,
    });
    return readTicket(answer, `GET ${path}`);
  }

  /**
   * `POST /v1/approvals/{id}/cancel`: withdraws one of this agent's pending approvals; its call then
   * answers `approval_cancelled` until the approval would have expired. Throws
   * {@link OakAuthConflictError} when the approval is no longer pending.
   */
  async cancelApproval(id: string): Promise<ApprovalTicket> {
    const path = `/v1/approvals/${approvalSegment(id)}/cancel`;
    const answer = await this.#http.request('POST', path, { retry: 'connect-only' });
    return readTicket(answer, `POST ${path}`);
  }

  /**
   * Long-polls the approval until it leaves `pending` or `deadline` passes; returns the last ticket
   * seen (still `pending` when the time ran out).
   */
  async #waitForDecision(ticket: ApprovalTicket, deadline: number): Promise<ApprovalTicket> {
    let current = ticket;
    while (current.status === 'pending') {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const started = Date.now();
      const waitSeconds = Math.min(MAX_APPROVAL_WAIT_SECONDS, Math.max(1, Math.ceil(remaining / 1000)));
      current = await this.getApproval(current.id, { waitSeconds });
      // A server that answered at once, still pending, is not polled faster than it advises.
      const pause = Math.min(Math.max(current.poll_after_ms, MIN_POLL_INTERVAL_MS) - (Date.now() - started), deadline - Date.now());
      if (current.status === 'pending' && pause > 0) await sleep(pause);
    }
    return current;
  }

  /** `GET /health`: resolves when the service answers that it is up. */
  async healthcheck(): Promise<Health> {
    const answer = await this.#http.request('GET', '/health', { retry: 'always' });
    const body = answer.body as Partial<Health> | undefined;
    if (!isObject(body) || body.status !== 'ok' || typeof body.version !== 'string') {
      throw new OakAuthMalformedResponseError('OakAuth /health did not answer {"status": "ok", "version": …}', answer.status, answer.text, answer.requestId);
    }
    return { status: 'ok', version: body.version };
  }

  async #decide(request: ValidateRequest): Promise<{ decision: ValidateResponse; requestId: string | undefined; retryAfter?: number }> {
    if (!isObject(request) || typeof request.tool !== 'string' || typeof request.scope !== 'string') {
      throw new TypeError('OakAuth: validate needs { tool: string, scope: string }');
    }
    const body: ValidateRequest = { tool: request.tool, scope: request.scope };
    if (request.reasoning !== undefined) body.reasoning = request.reasoning;
    if (request.context !== undefined) body.context = request.context;
    if (request.arguments !== undefined) {
      if (request.arguments !== null && !isObject(request.arguments)) {
        throw new TypeError('OakAuth: validate `arguments` must be an object (the tool call\'s arguments by name)');
      }
      body.arguments = request.arguments;
    }
    if (request.approval_id !== undefined && request.approval_id !== null) {
      if (typeof request.approval_id !== 'string' || request.approval_id === '') {
        throw new TypeError('OakAuth: validate `approval_id` must be an approval id (apr_…)');
      }
      body.approval_id = request.approval_id;
    }

    const answer = await this.#http.request('POST', '/v1/validate', { body, retry: 'always', accept: [429] });
    if (answer.status === 429) {
      const decision = readDecision(answer);
      // Over the monthly quota: a deny like any other (a month is no rate limit to wait out in a loop).
      if (decision && decision.allowed === false && decision.reason === 'quota_exceeded' && decision.quota) {
        return { decision, requestId: answer.requestId, retryAfter: answer.retryAfter };
      }
      if (!decision || decision.allowed !== false || decision.reason !== 'rate_limited') throw errorFor(answer);
      const retryAfter = answer.retryAfter ?? decision.rate_limit?.reset ?? 0;
      throw new OakAuthRateLimitError(`OakAuth rate limit reached for ${request.tool}:${request.scope}; retry in ${retryAfter} s: ${decision.message}`, retryAfter, decision, answer.requestId);
    }
    // quota_exceeded comes with HTTP 429 only.
    const decision = answer.status === 200 ? readDecision(answer) : undefined;
    if (!decision) {
      throw new OakAuthMalformedResponseError(`OakAuth answered validate with HTTP ${answer.status} and a body that is not a decision`, answer.status, answer.text, answer.requestId);
    }
    // An approval_required without the approval leaves nothing to wait for or to tell.
    const consistent =
      (decision.allowed ? ALLOW_REASONS.has(decision.reason) : DENY_REASONS.has(decision.reason)) &&
      (decision.reason !== 'approval_required' || decision.approval?.status === 'pending');
    if (!consistent) {
      throw new OakAuthMalformedResponseError(`OakAuth answered a decision that contradicts itself (allowed: ${decision.allowed}, reason: ${decision.reason})`, answer.status, answer.text, answer.requestId);
    }
    return { decision, requestId: answer.requestId };
  }
}

/** The answer's body as a decision, if it has exactly the documented shape. */
function readDecision(answer: Answer): ValidateResponse | undefined {
  const b = answer.body as Record<string, unknown> | undefined;
  if (!isObject(b)) return undefined;
  const rl = b.rate_limit as Record<string, unknown> | null | undefined;
  const rateLimitOk =
    rl === null ||
    (isObject(rl) && isCount(rl.limit) && isCount(rl.remaining) && isCount(rl.reset));
  // Absent on most decisions; when sent, they must be the documented shape.
  const ex = b.explanation as Record<string, unknown> | null | undefined;
  const explanationOk = ex === undefined || ex === null || isExplanation(ex);
  const approval = b.approval;
  const approvalOk = approval === undefined || approval === null || isTicket(approval);
  const quota = b.quota;
  const quotaOk =
    quota === undefined ||
    quota === null ||
    (isObject(quota) && isCount(quota.limit) && isCount(quota.used) && typeof quota.resets_at === 'string' && !Number.isNaN(Date.parse(quota.resets_at)));
  const receipt = b.receipt;
  const receiptOk = receipt === undefined || receipt === null || (typeof receipt === 'string' && receipt !== '');
  const wellFormed =
    typeof b.allowed === 'boolean' &&
    typeof b.reason === 'string' &&
    (ALLOW_REASONS.has(b.reason) || DENY_REASONS.has(b.reason)) &&
    typeof b.message === 'string' &&
    typeof b.decision_id === 'string' &&
    b.decision_id !== '' &&
    typeof b.reasoning_required === 'string' &&
    POLICIES.has(b.reasoning_required) &&
    typeof b.reasoning_provided === 'boolean' &&
    rateLimitOk &&
    explanationOk &&
    approvalOk &&
    quotaOk &&
    receiptOk;
  if (!wellFormed) return undefined;
  const decision: ValidateResponse = {
    allowed: b.allowed as boolean,
    reason: b.reason as ReasonCode,
    message: b.message as string,
    decision_id: b.decision_id as string,
    reasoning_required: b.reasoning_required as ValidateResponse['reasoning_required'],
    reasoning_provided: b.reasoning_provided as boolean,
    rate_limit: rl === null ? null : { limit: rl!.limit as number, remaining: rl!.remaining as number, reset: rl!.reset as number },
  };
  if (isObject(ex)) decision.explanation = ex as unknown as Explanation;
  if (isObject(approval)) decision.approval = approval as unknown as ApprovalTicket;
  if (isObject(quota)) decision.quota = { limit: quota.limit as number, used: quota.used as number, resets_at: quota.resets_at as string };
  // A receipt proves an allow; one sent with a deny proves nothing and is left out.
  if (typeof receipt === 'string' && decision.allowed) decision.receipt = receipt;
  return decision;
}

/** Whether `value` has the shape of an approval ticket. */
function isTicket(value: unknown): value is ApprovalTicket {
  if (!isObject(value)) return false;
  return (
    typeof value.id === 'string' &&
    value.id !== '' &&
    typeof value.status === 'string' &&
    APPROVAL_STATUSES.has(value.status) &&
    typeof value.tool === 'string' &&
    typeof value.scope === 'string' &&
    typeof value.expires_at === 'string' &&
    isCount(value.poll_after_ms) &&
    (value.decided_at === null || typeof value.decided_at === 'string') &&
    (value.comment === null || typeof value.comment === 'string')
  );
}

/** The answer's body as an approval ticket, or {@link OakAuthMalformedResponseError}. */
function readTicket(answer: Answer, what: string): ApprovalTicket {
  if (!isTicket(answer.body)) {
    throw new OakAuthMalformedResponseError(`OakAuth answered ${what} with HTTP ${answer.status} and a body that is not an approval`, answer.status, answer.text, answer.requestId);
  }
  return answer.body;
}

/** The approval mode of `guard()`'s options, checked, with its defaults. */
function approvalMode(options: GuardOptions): { mode: 'throw' } | { mode: 'wait'; timeoutMs: number; onPending?: (approval: ApprovalTicket) => void } {
  const approval = options.approval ?? { mode: 'throw' };
  if (approval.mode === 'throw') return approval;
  if (approval.mode !== 'wait') throw new TypeError("OakAuth.guard: approval.mode must be 'throw' or 'wait'");
  const timeoutMs = approval.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new TypeError('OakAuth.guard: approval.timeoutMs must be a number of milliseconds, 0 or more');
  if (approval.onPending !== undefined && typeof approval.onPending !== 'function') throw new TypeError('OakAuth.guard: approval.onPending must be a function');
  return { mode: 'wait', timeoutMs, onPending: approval.onPending };
}

/** One path segment holding an approval id. */
function approvalSegment(id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(`OakAuth: not an approval id: ${JSON.stringify(id)}`);
  }
  return encodeURIComponent(id);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `value` has the shape of an explanation (its `condition` is passed on as sent). */
function isExplanation(value: unknown): boolean {
  if (!isObject(value)) return false;
  return (
    typeof value.message === 'string' &&
    (value.rule_id === null || typeof value.rule_id === 'string') &&
    (value.effect === null || (typeof value.effect === 'string' && EFFECTS.has(value.effect))) &&
    (value.condition === null || (isObject(value.condition) && typeof value.condition.path === 'string' && typeof value.condition.holds === 'boolean'))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

let defaultClient: OakAuth | undefined;

/**
 * Sets the client that the standalone {@link guard} and {@link validate} use. Without a call, they
 * create one from `OAKAUTH_API_KEY`, `OAKAUTH_BASE_URL` and `OAKAUTH_ALLOW_INSECURE_LOOPBACK` on first use.
 */
export function configure(options: OakAuthOptions): OakAuth {
  defaultClient = new OakAuth(options);
  return defaultClient;
}

function client(): OakAuth {
  defaultClient ??= new OakAuth();
  return defaultClient;
}

/** {@link OakAuth.guard} with the client set by {@link configure}. */
export async function guard<T>(request: ValidateRequest, action: (decision: AllowDecision) => T | Promise<T>, options: GuardOptions = {}): Promise<T> {
  return client().guard(request, action, options);
}

/** {@link OakAuth.validate} with the client set by {@link configure}. */
export async function validate(request: ValidateRequest): Promise<ValidateResponse> {
  return client().validate(request);
}
