// The API's shapes, as the TypeScript SDK defines them from docs/openapi.yaml (the build bundles
// the SDK from ../sdk-ts/src), and the part of its admin client the dashboard uses.
import type { components, operations } from '../../sdk-ts/src/generated/openapi';
import type { DashboardAdmin } from './api';

export type {
  AdminAction,
  AdminEvent,
  Agent,
  AgentWithKey,
  AuditVerification,
  BrokenLink,
  ChainVerification,
  Condition,
  ConditionResult,
  ConditionSource,
  ConditionTest,
  CreateRule,
  Effect,
  Explanation,
  LogEntry,
  LogFilters,
  Me,
  OnMissing,
  Operator,
  RateLimitConfig,
  ReasonCode,
  ReasoningPolicy,
  RiskLevel,
  Rule,
  RuleMode,
  RuleTrace,
  ShadowResult,
  SimulateRequest,
  SimulateResponse,
  Stats,
  Tool,
} from 'oakauth';

type Schemas = components['schemas'];

// Approvals and webhooks (issue 15). The SDK's generated contract has these shapes but its types and
// admin client do not name them yet: they are taken from the same generated file, so they follow the spec.

/** `pending`, `approved`, `denied`, `expired`, `cancelled` or `consumed`. */
export type ApprovalStatus = Schemas['ApprovalStatus'];
/** An approval as admins see it, with the call it is for (arguments redacted). */
export type Approval = Schemas['Approval'];
export type ApprovalList = Schemas['ApprovalList'];
/** `POST /v1/admin/approvals/{id}/decision` body. */
export type ApprovalDecision = Schemas['ApprovalDecision'];
/** Filters of `GET /v1/admin/approvals`. */
export type ApprovalFilters = NonNullable<operations['listApprovals']['parameters']['query']>;

/** What a webhook endpoint can be sent. */
export type EventType = Schemas['EventType'];
/** An endpoint (never its secret). */
export type Webhook = Schemas['Webhook'];
/** An endpoint just created or given a new secret: `secret` (`whsec_…`) is in this answer only. */
export type WebhookWithSecret = Schemas['WebhookWithSecret'];
export type WebhookList = Schemas['WebhookList'];
export type CreateWebhook = Schemas['CreateWebhook'];
export type UpdateWebhook = Schemas['UpdateWebhook'];
export type RotateWebhookSecret = Schemas['RotateWebhookSecret'];
export type DeliveryStatus = Schemas['DeliveryStatus'];
/** One message to an endpoint and how its attempts went. */
export type Delivery = Schemas['Delivery'];
export type DeliveryList = Schemas['DeliveryList'];
/** Filters of `GET /v1/admin/webhooks/{id}/deliveries`. */
export type DeliveryFilters = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>;
/** Page parameters of the list endpoints. */
export type PageParams = NonNullable<operations['listWebhooks']['parameters']['query']>;

/** What the dashboard calls on the SDK's `OakAuthAdmin` (with the approval and webhook routes of api.ts). */
export type AdminClient = Pick<
  DashboardAdmin,
  | 'me'
  | 'listAgents'
  | 'createAgent'
  | 'getAgent'
  | 'updateAgent'
  | 'deleteAgent'
  | 'rotateAgentKey'
  | 'listTools'
  | 'createTool'
  | 'deleteTool'
  | 'listRules'
  | 'createRule'
  | 'updateRule'
  | 'deleteRule'
  | 'listLogs'
  | 'getLog'
  | 'stats'
  | 'listEvents'
  | 'verifyAuditAll'
  | 'simulate'
  | 'listApprovals'
  | 'getApproval'
  | 'decideApproval'
  | 'listWebhooks'
  | 'createWebhook'
  | 'getWebhook'
  | 'updateWebhook'
  | 'deleteWebhook'
  | 'rotateWebhookSecret'
  | 'listDeliveries'
  | 'redeliver'
>;
