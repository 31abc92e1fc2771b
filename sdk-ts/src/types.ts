// The wire types of the OakAuth API, derived from docs/openapi.yaml: src/generated/openapi.ts is
// generated from the spec by `npm run generate` (openapi-typescript), and test/contract.test.mjs
// fails when it is stale. Edit the spec, not these shapes. Field names are snake_case, as they travel.
import type { components, operations } from './generated/openapi.js';

type Schemas = components['schemas'];

/**
 * `T` with the properties in `R` replaced, where the spec's type is looser than what the SDK
 * promises (a free-form map whose keys are in fact reason codes, a `"true"|"false"` query string
 * the SDK takes as a boolean). Every key of `R` must be a property of `T`, so a property renamed or
 * removed in the spec fails to compile here instead of silently coming back.
 */
type Refine<T, R extends { [K in keyof R]: K extends keyof T ? unknown : never }> = Omit<T, keyof R> & R;

/** The query parameters of an operation of the spec. */
type Query<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

/** Why a decision came out the way it did. A closed set. */
export type ReasonCode = Schemas['ReasonCode'];

/** The reason codes whose decisions let the action run. */
export type AllowReasonCode = Extract<ReasonCode, 'allowed' | 'reasoning_missing_soft'>;
/** The reason codes of denials. */
export type DenyReasonCode = Exclude<ReasonCode, AllowReasonCode>;
/**
 * The denials that concern an approval: `approval_required` (a person must approve this exact call;
 * asking again is not a new request), `approval_denied` (a person said no), `approval_expired`
 * (nobody decided in time: not a denial by a person), `approval_cancelled`, `approval_consumed`
 * (the approval was used already) and `approval_mismatch` (the approval named is for another call).
 */
export type ApprovalReasonCode = Extract<ReasonCode, `approval_${string}`>;

/** How much reasoning a rule demands: `none` (recorded if given), `soft` (flagged if missing), `hard` (denied without). */
export type ReasoningPolicy = Schemas['ReasoningPolicy'];

/** How dangerous a tool is; picks the default reasoning policy of a new rule. */
export type RiskLevel = Schemas['RiskLevel'];

/** The `code` of an error body. */
export type ErrorCode = Schemas['ErrorCode'];

/** `{"error": {"code", "message"}}`: the body of every error answer except a rate-limited decision. */
export type ErrorBody = Schemas['Error'];

/** `GET /health` answer. */
export type Health = Schemas['Health'];

/** `GET /.well-known/jwks.json` answer: the Ed25519 public keys that verify decision receipts. */
export type JwkSet = Schemas['JwkSet'];
export type Jwk = Schemas['Jwk'];

/**
 * `POST /v1/validate` body. `arguments` are the tool call's arguments, which rule conditions may
 * test and the tool's `input_schema` checks.
 */
export type ValidateRequest = Schemas['ValidateRequest'];

/** The agent's token bucket after a request. */
export type RateLimitState = Schemas['RateLimitState'];

/** `POST /v1/validate` answer: a decision. `explanation` says why a rule decided, on the denials by a rule. */
export type ValidateResponse = Schemas['ValidateResponse'];

/** Why a rule decided: the rule, its effect, the test that decided, and a sentence. */
export type Explanation = Schemas['Explanation'];

/** How one test of a condition came out: what it compared, what it saw (redacted), whether it held. */
export type ConditionResult = Schemas['ConditionResult'];

/** A decision that lets the action run. */
export type AllowDecision = ValidateResponse & { allowed: true; reason: AllowReasonCode };

/** An agent's rate limit: a token bucket. */
export type RateLimitConfig = Schemas['RateLimitConfig'];

export type Organization = Schemas['Organization'];

/** `GET /v1/admin/me` answer: the organization, the caller's role there and who the caller is (an admin key or a person). */
export type Me = Schemas['Me'];

export type Agent = Schemas['Agent'];
export type CreateAgent = Schemas['CreateAgent'];
export type UpdateAgent = Schemas['UpdateAgent'];
export type RotateKey = Schemas['RotateKey'];

/** Answer to creating an agent or rotating its key. `api_key` is shown this once. */
export type AgentWithKey = Schemas['AgentWithKey'];

export type Tool = Schemas['Tool'];
export type CreateTool = Schemas['CreateTool'];
export type UpdateTool = Schemas['UpdateTool'];

/**
 * Whether a rule allows, denies, or asks a person (`require_approval`) when its conditions hold.
 * Among the enforced rules that apply, deny wins over require_approval, which wins over allow.
 */
export type Effect = Schemas['Effect'];

/** Whether a rule decides (`enforce`) or is only evaluated and logged (`shadow`). */
export type RuleMode = Schemas['RuleMode'];

/**
 * A rule's condition: a test of one value (`{pointer, op, value, on_missing}`), or `{all_of: [...]}`,
 * `{any_of: [...]}`, `{not: ...}`.
 */
export type Condition = Schemas['Condition'];
export type ConditionTest = Schemas['ConditionTest'];
/** Where a test's pointer points: the call's `arguments` (the default), its `context`, or the `request`. */
export type ConditionSource = Schemas['ConditionSource'];
/** A test's operator. */
export type Operator = Schemas['Operator'];
/** What a test means when its pointer finds no value: the rule denies, or does not apply. */
export type OnMissing = Schemas['OnMissing'];

export type Rule = Schemas['Rule'];
export type CreateRule = Schemas['CreateRule'];
export type UpdateRule = Schemas['UpdateRule'];

/** What a rule in shadow mode would have done, had it been enforced. */
export type ShadowResult = Schemas['ShadowResult'];

/** A rule that is not saved, for {@link SimulateRequest} and {@link ReplayRequest}. */
export type DraftRule = Schemas['DraftRule'];

/** `POST /v1/admin/simulate` body: a call as the agent would send it, with optional draft rules. */
export type SimulateRequest = Schemas['SimulateRequest'];

/** `POST /v1/admin/simulate` answer: the decision and every rule's part in it. Nothing is logged or counted. */
export type SimulateResponse = Schemas['SimulateResponse'];

/** One rule's part in a simulated decision. */
export type RuleTrace = Schemas['RuleTrace'];
export type RuleOutcome = Schemas['RuleOutcome'];

/** `POST /v1/admin/simulate/replay` body. */
export type ReplayRequest = Schemas['ReplayRequest'];

/** `POST /v1/admin/simulate/replay` answer: how many calls were replayed, and those whose decision would change. */
export type ReplayResponse = Schemas['ReplayResponse'];
export type ReplayChange = Schemas['ReplayChange'];

/** One audit-log row: one decision. */
export type LogEntry = Schemas['LogEntry'];

/** A page of a list. Pass `next_cursor` back as `cursor` for the next page; null on the last. */
export type AgentList = Schemas['AgentList'];
export type ToolList = Schemas['ToolList'];
export type RuleList = Schemas['RuleList'];
export type LogList = Schemas['LogList'];

/** Page parameters of the list endpoints. */
export type PageParams = Query<'listAgents'>;

/** Filters of `GET /v1/admin/logs`; `shadow: 'deny'` keeps the decisions a shadow rule would have denied. */
export type LogFilters = Refine<Query<'listLogs'>, { allowed?: boolean }>;

/** What an admin did: the `action` of an {@link AdminEvent}. A closed set. */
export type AdminAction = Schemas['AdminEvent']['action'];

/**
 * One change made through the admin API (`GET /v1/admin/events`), naming who acted: `actor_type`,
 * `actor_id` and `actor_name` (a person or an admin key).
 */
export type AdminEvent = Schemas['AdminEvent'];

export type AdminEventList = Schemas['AdminEventList'];

/** Filters of `GET /v1/admin/events`. */
export type EventFilters = Query<'listAdminEvents'>;

/** The first problem found walking an agent's audit hash chain. */
export type BrokenLink = Schemas['BrokenLink'];

/** `GET /v1/admin/audit/verify` answer. `ok` is false when any agent's chain on this page is broken. */
export type AuditVerification = Schemas['AuditVerification'];

/** The verification of one agent's audit chain. */
export type ChainVerification = AuditVerification['agents'][number];

/** Options of `GET /v1/admin/audit/verify`. */
export type VerifyAuditOptions = Query<'verifyAudit'>;

/** Range of `GET /v1/admin/stats` (default: today, UTC). */
export type StatsRange = Query<'getStats'>;

type StatsSchema = Schemas['Stats'];

/** `GET /v1/admin/stats` answer. */
export type Stats = Refine<StatsSchema, {
  /** Denial counts keyed by reason code. */
  denials_by_reason: Partial<Record<ReasonCode, number>>;
}>;

export type ToolCount = StatsSchema['top_tools'][number];
export type AgentCount = StatsSchema['agents'][number];
export type TimelinePoint = StatsSchema['timeline'][number];
/** Decision latency percentiles of one UTC day (nearest rank). */
export type LatencyDay = StatsSchema['latency'][number];

/**
 * Where an approval stands: `pending` (waiting for a person), `approved` (the identical call may run
 * once), `denied`, `expired` (nobody answered in time, or the approved call was not made in time;
 * never reported as denied), `cancelled` (the agent withdrew it), `consumed` (used by the identical call).
 */
export type ApprovalStatus = Schemas['ApprovalStatus'];

/**
 * An approval as the agent that asked for it sees it: on an `approval_*` decision (and on the allow
 * that used one), and from `OakAuth.getApproval()` / `cancelApproval()`.
 */
export type ApprovalTicket = Schemas['ApprovalTicket'];

/** An approval as admins see it, with the call it is for (arguments redacted) and who decided. */
export type Approval = Schemas['Approval'];
export type ApprovalList = Schemas['ApprovalList'];

/** `POST /v1/admin/approvals/{id}/decision` body: `approve` or `deny`, with an optional comment shown to the agent. */
export type ApprovalDecision = Schemas['ApprovalDecision'];

/** Filters of `GET /v1/admin/approvals`. */
export type ApprovalFilters = Query<'listApprovals'>;

/** What a webhook reports: `approval.requested`, `approval.decided`, `approval.expired`, `decision.denied`, `key.rotated`, `agent.changed`, `service.degraded`, `invitation.created`, `quota.threshold`. */
export type WebhookEventType = Schemas['EventType'];

/** A webhook endpoint (never its secret). */
export type Webhook = Schemas['Webhook'];

/** A webhook endpoint with its `whsec_…` secret: the answer to creating it or rotating its secret, only. */
export type WebhookWithSecret = Schemas['WebhookWithSecret'];
export type WebhookList = Schemas['WebhookList'];
export type CreateWebhook = Schemas['CreateWebhook'];
export type UpdateWebhook = Schemas['UpdateWebhook'];
export type RotateWebhookSecret = Schemas['RotateWebhookSecret'];

/** Where a webhook message stands: `pending` (attempts remain), `delivered` (a 2xx answer) or `failed`. */
export type DeliveryStatus = Schemas['DeliveryStatus'];

/** One message to one endpoint, and how its delivery went. */
export type Delivery = Schemas['Delivery'];
export type DeliveryList = Schemas['DeliveryList'];

/** Filters of `GET /v1/admin/webhooks/{id}/deliveries`. */
export type DeliveryFilters = Query<'listWebhookDeliveries'>;

/** A plan's id: `free`, `pro` (self-serve) or `enterprise`. */
export type PlanId = Schemas['PlanId'];

/** A counted quantity with a plan limit: `validations` (a month), `agents`, `members` (with open invitations), `webhook_endpoints`. */
export type Quota = Schemas['Quota'];

/** The organization's billing status as Stripe last told it: `none`, `active`, `past_due`, `canceled`. */
export type BillingStatus = Schemas['BillingStatus'];

/** What a plan allows; `null` is unlimited. */
export type Limits = Schemas['Limits'];

/** One plan as `GET /v1/plans` publishes it. */
export type PlanInfo = Schemas['PlanInfo'];

/** `GET /v1/plans` answer: every plan, cheapest first. */
export type PlanList = Schemas['PlanList'];

/** How much of one limit is used (`limit` null: unlimited). */
export type QuotaUsage = Schemas['QuotaUsage'];
export type UsageQuotas = Schemas['UsageQuotas'];

/** The current calendar month (UTC): `end` is when the validation quota resets. */
export type UsagePeriod = Schemas['Period'];
export type DayUsage = Schemas['DayUsage'];
export type AgentUsage = Schemas['AgentUsage'];

/** `GET /v1/admin/usage` answer: the plan in force and the use of each limit this month, by day and by agent. */
export type Usage = Schemas['Usage'];

/** On a `quota_exceeded` decision: the monthly validation quota, its use and when it resets. */
export type QuotaExceeded = Schemas['QuotaExceeded'];

/** A Stripe-hosted page (Checkout or the Customer Portal) to send the owner to. */
export type BillingRedirect = Schemas['BillingRedirect'];
