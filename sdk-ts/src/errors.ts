import type { ApprovalTicket, DenyReasonCode, Explanation, PlanId, Quota, QuotaExceeded, ValidateResponse } from './types.js';

/**
 * The base class of every error this package throws. Whatever the subclass, a `guard()` that throws
 * did not run its action.
 */
export class OakAuthError extends Error {
  override name: string = 'OakAuthError';
  /** The `X-Request-Id` of the answer, when there was one. */
  readonly requestId: string | undefined;

  constructor(message: string, options: { requestId?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.requestId = options.requestId;
  }
}

/**
 * The client is not configured so that it can be trusted: no key, no base URL, a base URL that is
 * not https (plain http is only allowed to a loopback address, and only with
 * `allowInsecureLoopback`), or a bad timeout, retry count or fetch. Thrown by the constructors, and
 * by the standalone `guard()` when it has to build its client from the environment.
 */
export class OakAuthConfigurationError extends OakAuthError {
  override name: string = 'OakAuthConfigurationError';
}

/**
 * OakAuth answered with a deny. Carries the reason code, the tool, the scope, the decision id and,
 * when a rule decided (`denied_by_rule`, `conditions_not_met`, `invalid_arguments`), the explanation.
 * The denials about an approval are {@link ApprovalPendingError}, {@link ApprovalDeniedError} and
 * {@link ApprovalExpiredError}; `approval_cancelled`, `approval_consumed` and `approval_mismatch`
 * are this class with that reason (and `approval`, when OakAuth named one).
 */
export class OakAuthDeniedError extends OakAuthError {
  override name: string = 'OakAuthDeniedError';
  readonly reason: DenyReasonCode;
  readonly tool: string;
  readonly scope: string;
  readonly decisionId: string;
  /** Why a rule decided: the rule, the test that decided and a sentence. Undefined for other denials. */
  readonly explanation: Explanation | undefined;
  /** The approval the call needs or named, on the `approval_*` reasons. */
  readonly approval: ApprovalTicket | undefined;
  /** The full decision as OakAuth sent it. */
  readonly decision: ValidateResponse;

  constructor(decision: ValidateResponse & { reason: DenyReasonCode }, tool: string, scope: string, requestId?: string, message?: string) {
    super(message ?? `OakAuth denied ${tool}:${scope} (${decision.reason}): ${withExplanation(decision)}`, { requestId });
    this.reason = decision.reason;
    this.tool = tool;
    this.scope = scope;
    this.decisionId = decision.decision_id;
    this.explanation = decision.explanation ?? undefined;
    this.approval = decision.approval ?? undefined;
    this.decision = decision;
  }
}

/**
 * The call needs a person's approval (`approval_required`), and none has been given yet: thrown by
 * `guard()` in `throw` mode, and in `wait` mode when `timeoutMs` ran out first. The approval stays
 * pending: the identical call (same tool, scope and arguments) made again once it is approved is
 * allowed, once. Park the work under `approvalId`, or wait with `OakAuth.getApproval()`.
 */
export class ApprovalPendingError extends OakAuthDeniedError {
  override name: string = 'ApprovalPendingError';
  declare readonly reason: 'approval_required';
  declare readonly approval: ApprovalTicket;
  /** The approval's id, `apr_…`. */
  readonly approvalId: string;
  /** When the approval expires if nobody decides. */
  readonly expiresAt: Date;
  /** How long to wait before asking again, as OakAuth advises. */
  readonly pollAfterMs: number;
  /** True when `guard()` waited (`mode: 'wait'`) and its `timeoutMs` ran out before anyone decided. */
  readonly timedOut: boolean;

  constructor(decision: ValidateResponse & { reason: 'approval_required'; approval: ApprovalTicket }, tool: string, scope: string, requestId?: string, timedOut = false) {
    const ticket = decision.approval;
    const waited = timedOut ? 'still pending after waiting' : 'pending';
    super(
      decision,
      tool,
      scope,
      requestId,
      `OakAuth approval required for ${tool}:${scope}: approval ${ticket.id} is ${waited}; an administrator must approve this exact call before ${ticket.expires_at}, then the same call is allowed once`,
    );
    this.approvalId = ticket.id;
    this.expiresAt = new Date(ticket.expires_at);
    this.pollAfterMs = ticket.poll_after_ms;
    this.timedOut = timedOut;
  }
}

/** A person denied this call's approval (`approval_denied`). `comment` is what they said, if anything. */
export class ApprovalDeniedError extends OakAuthDeniedError {
  override name: string = 'ApprovalDeniedError';
  declare readonly reason: 'approval_denied';
  /** The deciding person's comment; null when they gave none. */
  readonly comment: string | null;

  constructor(decision: ValidateResponse & { reason: 'approval_denied' }, tool: string, scope: string, requestId?: string) {
    const comment = decision.approval?.comment ?? null;
    const id = decision.approval ? ` ${decision.approval.id}` : '';
    super(
      decision,
      tool,
      scope,
      requestId,
      `OakAuth: an administrator denied the approval${id} of ${tool}:${scope}${comment === null ? ' (no comment)' : `: ${JSON.stringify(comment)}`}`,
    );
    this.comment = comment;
  }
}

/**
 * The approval expired (`approval_expired`): nobody decided before its `expires_at`, or the approved
 * call was not made in time. Not a denial by a person; the same call made again asks anew.
 */
export class ApprovalExpiredError extends OakAuthDeniedError {
  override name: string = 'ApprovalExpiredError';
  declare readonly reason: 'approval_expired';
}

/**
 * The organization has used its plan's validations for this calendar month (UTC): a deny with
 * reason `quota_exceeded` (HTTP 429). Every call is denied until `resetsAt`; nothing to retry before
 * then. Upgrading the plan (`OakAuthAdmin.billingCheckout`) lifts it at once.
 */
export class OakAuthQuotaExceededError extends OakAuthDeniedError {
  override name: string = 'OakAuthQuotaExceededError';
  declare readonly reason: 'quota_exceeded';
  /** The quota (`limit`), its use (`used`) and when it resets (`resets_at`, RFC 3339). */
  readonly quota: QuotaExceeded;
  /** When the quota resets: the start of the next calendar month, UTC. */
  readonly resetsAt: Date;
  /** Seconds until the reset, from `Retry-After` (else from `resets_at`). */
  readonly retryAfter: number;

  constructor(decision: ValidateResponse & { reason: 'quota_exceeded'; quota: QuotaExceeded }, tool: string, scope: string, requestId?: string, retryAfter?: number) {
    const { quota } = decision;
    super(
      decision,
      tool,
      scope,
      requestId,
      `OakAuth denied ${tool}:${scope} (quota_exceeded): the organization has used ${quota.used} of its ${quota.limit} validations this month; calls are denied until ${quota.resets_at}`,
    );
    this.quota = quota;
    this.resetsAt = new Date(quota.resets_at);
    this.retryAfter = retryAfter ?? Math.max(0, Math.ceil((this.resetsAt.getTime() - Date.now()) / 1000));
  }
}

/** The error for a deny: the approval and quota classes for their reasons, else {@link OakAuthDeniedError}. */
export function deniedError(decision: ValidateResponse & { reason: DenyReasonCode }, tool: string, scope: string, requestId?: string, timedOut = false, retryAfter?: number): OakAuthDeniedError {
  switch (decision.reason) {
    case 'quota_exceeded':
      if (decision.quota) return new OakAuthQuotaExceededError(decision as typeof decision & { reason: 'quota_exceeded'; quota: QuotaExceeded }, tool, scope, requestId, retryAfter);
      break;
    case 'approval_required':
      if (decision.approval) return new ApprovalPendingError(decision as typeof decision & { reason: 'approval_required'; approval: ApprovalTicket }, tool, scope, requestId, timedOut);
      break;
    case 'approval_denied':
      return new ApprovalDeniedError(decision as typeof decision & { reason: 'approval_denied' }, tool, scope, requestId);
    case 'approval_expired':
      return new ApprovalExpiredError(decision, tool, scope, requestId);
  }
  return new OakAuthDeniedError(decision, tool, scope, requestId);
}

/** The decision's message, followed by its explanation's sentence when that says more. */
export function withExplanation(decision: ValidateResponse): string {
  const more = decision.explanation?.message;
  return more && more !== decision.message ? `${decision.message} (${more})` : decision.message;
}

/** An HTTP answer with an error status (4xx, 5xx). */
export class OakAuthAPIError extends OakAuthError {
  override name: string = 'OakAuthAPIError';
  /** The HTTP status. */
  readonly status: number;
  /** The `error.code` of the body (`unauthorized`, `conflict`, …); undefined when the body had none. */
  readonly code: string | undefined;

  constructor(status: number, code: string | undefined, message: string, requestId?: string) {
    super(message, { requestId });
    this.status = status;
    this.code = code;
  }
}

/** The key is missing, malformed, unknown, revoked or expired (401), or of the wrong kind for the endpoint (403). */
export class OakAuthAuthenticationError extends OakAuthAPIError {
  override name: string = 'OakAuthAuthenticationError';
}

/** The request was refused as it stands: a bad field (400), a wrong method (405), a body too large (413) or not JSON (415). */
export class OakAuthValidationError extends OakAuthAPIError {
  override name: string = 'OakAuthValidationError';
}

/** No such resource in the admin key's organization (404). */
export class OakAuthNotFoundError extends OakAuthAPIError {
  override name: string = 'OakAuthNotFoundError';
}

/** A name already in use, or a rule that names a tool or scope the agent does not have (409). */
export class OakAuthConflictError extends OakAuthAPIError {
  override name: string = 'OakAuthConflictError';
}

/**
 * One more agent, member (with open invitations) or webhook endpoint would pass the plan's limit
 * (HTTP 402, `plan_limit`). `quota`, `limit` and `plan` say which limit, its number and the plan in force.
 */
export class OakAuthPlanLimitError extends OakAuthAPIError {
  override name: string = 'OakAuthPlanLimitError';
  readonly quota: Quota | undefined;
  readonly limit: number | undefined;
  readonly plan: PlanId | undefined;

  constructor(message: string, detail: { quota?: Quota; limit?: number; plan?: PlanId }, requestId?: string) {
    super(402, 'plan_limit', message, requestId);
    this.quota = detail.quota;
    this.limit = detail.limit;
    this.plan = detail.plan;
  }
}

/**
 * Too many requests (429). On `validate`/`guard` this is a deny with reason `rate_limited` and the
 * decision is attached. Never retried automatically.
 */
export class OakAuthRateLimitError extends OakAuthAPIError {
  override name: string = 'OakAuthRateLimitError';
  /** Seconds to wait before asking again, from `Retry-After` (0 when the answer had none). */
  readonly retryAfter: number;
  readonly reason = 'rate_limited' as const;
  /** The decision id, when the answer was a rate-limited decision. */
  readonly decisionId: string | undefined;
  /** The decision, when the answer was a rate-limited decision. */
  readonly decision: ValidateResponse | undefined;

  constructor(message: string, retryAfter: number, decision?: ValidateResponse, requestId?: string) {
    super(429, 'rate_limited', message, requestId);
    this.retryAfter = retryAfter;
    this.decision = decision;
    this.decisionId = decision?.decision_id;
  }
}

/** The service failed (5xx), after the retries. For validate this is a deny: nothing was allowed. */
export class OakAuthServerError extends OakAuthAPIError {
  override name: string = 'OakAuthServerError';
}

/** The request did not get an answer: refused connection, DNS failure, reset, after the retries. */
export class OakAuthConnectionError extends OakAuthError {
  override name: string = 'OakAuthConnectionError';
}

/** No answer within the timeout, after the retries. */
export class OakAuthTimeoutError extends OakAuthConnectionError {
  override name: string = 'OakAuthTimeoutError';
}

/**
 * The configured base URL answered with a redirect (3xx). Redirects are never followed: a decision
 * or an admin answer must come from the configured origin, so this is a failure and, for `guard()`,
 * the action does not run. Not retried.
 */
export class OakAuthRedirectError extends OakAuthError {
  override name: string = 'OakAuthRedirectError';
  /** The HTTP status of the answer; 0 when the platform hides it (a browser's opaque redirect). */
  readonly status: number;
  /** Where the answer pointed (its `Location` header), when it could be read. */
  readonly location: string | undefined;

  constructor(message: string, status: number, location: string | undefined, requestId?: string) {
    super(message, { requestId });
    this.status = status;
    this.location = location;
  }
}

/**
 * The answer could not be trusted: not JSON, not the documented shape, or a decision that
 * contradicts itself (such as `allowed: true` with a deny reason). Never treated as an allow.
 */
export class OakAuthMalformedResponseError extends OakAuthError {
  override name: string = 'OakAuthMalformedResponseError';
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The start of the answer's body, for diagnosis. */
  readonly body: string;

  constructor(message: string, status: number, body: string, requestId?: string) {
    super(message, { requestId });
    this.status = status;
    this.body = body.length > 500 ? `${body.slice(0, 500)}…` : body;
  }
}

/**
 * Why a decision receipt was refused: a closed set, the same codes as the Rust SDK's.
 *
 * - `malformed`: not a compact JWS of OakAuth's shape (no `kid`, a claim missing or of the wrong
 *   type, longer than 4 KiB).
 * - `algorithm`: signed with an algorithm other than `EdDSA` (such as `none` or `HS256`), or a
 *   header `typ` other than `oakauth-receipt+jwt`.
 * - `unknown_key`: its `kid` is not among OakAuth's public keys.
 * - `signature`: the signature does not verify with the key its `kid` names.
 * - `keys_unavailable`: OakAuth's public keys could not be fetched or read, so nothing could be verified.
 * - `issuer`: `iss` is not the OakAuth the verifier trusts.
 * - `expired`: `exp` has passed (beyond the clock leeway).
 * - `lifetime`: a validity OakAuth does not issue: `iat` in the future (beyond the clock leeway),
 *   or `exp` more than 60 s after `iat`.
 * - `tool_mismatch`, `scope_mismatch`, `arguments_mismatch`: the receipt is for another tool, another
 *   scope or other arguments than the call about to run.
 * - `replayed`: its `jti` was already used.
 * - `replay_cache_unavailable`: the replay cache could not record the `jti` (full, or unreachable).
 */
export type ReceiptInvalidReason =
  | 'malformed'
  | 'algorithm'
  | 'unknown_key'
  | 'signature'
  | 'keys_unavailable'
  | 'issuer'
  | 'expired'
  | 'lifetime'
  | 'tool_mismatch'
  | 'scope_mismatch'
  | 'arguments_mismatch'
  | 'replayed'
  | 'replay_cache_unavailable';

/**
 * A decision receipt that does not verify for the call about to run: do not run the call. `reason`
 * says why (see {@link ReceiptInvalidReason}).
 */
export class ReceiptInvalidError extends OakAuthError {
  override name: string = 'ReceiptInvalidError';
  readonly reason: ReceiptInvalidReason;
  /** What was wrong, in a sentence (the message without its `OakAuth receipt refused (reason):` start). */
  readonly detail: string;

  constructor(reason: ReceiptInvalidReason, detail: string, options: { cause?: unknown } = {}) {
    super(`OakAuth receipt refused (${reason}): ${detail}`, options);
    this.reason = reason;
    this.detail = detail;
  }
}
