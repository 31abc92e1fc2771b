import { OakAuthDeniedError, OakAuthMalformedResponseError, OakAuthRateLimitError } from './errors.js';
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
]);
const POLICIES: ReadonlySet<string> = new Set(['none', 'soft', 'hard']);
const EFFECTS: ReadonlySet<string> = new Set(['allow', 'deny']);

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
   * carries an `explanation`). Throws {@link OakAuthRateLimitError} when the agent is
   * rate limited, and a typed error when no trustworthy decision was had.
   */
  async validate(request: ValidateRequest): Promise<ValidateResponse> {
    return (await this.#decide(request)).decision;
  }

  /**
   * Validates, then runs `action` only on a well-formed allow and returns its result. On a deny it
   * throws {@link OakAuthDeniedError} (with the decision's `explanation`, when a rule decided); on a rate limit {@link OakAuthRateLimitError}; on a timeout, a
   * transport error, a 5xx after the retries or a malformed answer another {@link OakAuthError}. In
   * every one of those cases the action does not run.
   */
  async guard<T>(request: ValidateRequest, action: (decision: AllowDecision) => T | Promise<T>): Promise<T> {
    if (typeof action !== 'function') throw new TypeError('OakAuth.guard: the action must be a function');
    const { decision, requestId } = await this.#decide(request);
    if (!isAllowed(decision)) {
      throw new OakAuthDeniedError(decision as ValidateResponse & { reason: DenyReasonCode }, request.tool, request.scope, requestId);
    }
    return action(decision);
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

  async #decide(request: ValidateRequest): Promise<{ decision: ValidateResponse; requestId: string | undefined }> {
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

    const answer = await this.#http.request('POST', '/v1/validate', { body, retry: 'always', accept: [429] });
    if (answer.status === 429) {
      const decision = readDecision(answer);
      if (!decision || decision.allowed !== false || decision.reason !== 'rate_limited') throw errorFor(answer);
      const retryAfter = answer.retryAfter ?? decision.rate_limit?.reset ?? 0;
      throw new OakAuthRateLimitError(`OakAuth rate limit reached for ${request.tool}:${request.scope}; retry in ${retryAfter} s: ${decision.message}`, retryAfter, decision, answer.requestId);
    }
    const decision = answer.status === 200 ? readDecision(answer) : undefined;
    if (!decision) {
      throw new OakAuthMalformedResponseError(`OakAuth answered validate with HTTP ${answer.status} and a body that is not a decision`, answer.status, answer.text, answer.requestId);
    }
    const consistent = decision.allowed ? ALLOW_REASONS.has(decision.reason) : DENY_REASONS.has(decision.reason);
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
  // Absent on most decisions; when sent, it must be the documented shape.
  const ex = b.explanation as Record<string, unknown> | null | undefined;
  const explanationOk = ex === undefined || ex === null || isExplanation(ex);
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
    explanationOk;
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
  return decision;
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
export async function guard<T>(request: ValidateRequest, action: (decision: AllowDecision) => T | Promise<T>): Promise<T> {
  return client().guard(request, action);
}

/** {@link OakAuth.validate} with the client set by {@link configure}. */
export async function validate(request: ValidateRequest): Promise<ValidateResponse> {
  return client().validate(request);
}
