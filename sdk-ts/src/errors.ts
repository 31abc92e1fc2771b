import type { DenyReasonCode, Explanation, ValidateResponse } from './types.js';

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
 */
export class OakAuthDeniedError extends OakAuthError {
  override name: string = 'OakAuthDeniedError';
  readonly reason: DenyReasonCode;
  readonly tool: string;
  readonly scope: string;
  readonly decisionId: string;
  /** Why a rule decided: the rule, the test that decided and a sentence. Undefined for other denials. */
  readonly explanation: Explanation | undefined;
  /** The full decision as OakAuth sent it. */
  readonly decision: ValidateResponse;

  constructor(decision: ValidateResponse & { reason: DenyReasonCode }, tool: string, scope: string, requestId?: string) {
    super(`OakAuth denied ${tool}:${scope} (${decision.reason}): ${withExplanation(decision)}`, { requestId });
    this.reason = decision.reason;
    this.tool = tool;
    this.scope = scope;
    this.decisionId = decision.decision_id;
    this.explanation = decision.explanation ?? undefined;
    this.decision = decision;
  }
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
