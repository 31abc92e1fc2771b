// The API's shapes, as the TypeScript SDK defines them from docs/openapi.yaml (the build bundles
// the SDK from ../sdk-ts/src), and the part of its admin client the dashboard uses.
import type { OakAuthAdmin } from 'oakauth';

export type {
  AdminAction,
  AdminEvent,
  Agent,
  AgentWithKey,
  Approval,
  ApprovalStatus,
  AuditVerification,
  BrokenLink,
  ChainVerification,
  Condition,
  ConditionResult,
  ConditionSource,
  ConditionTest,
  CreateRule,
  Delivery,
  DeliveryStatus,
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
  Webhook,
  WebhookEventType,
  WebhookWithSecret,
} from 'oakauth';

/** What the dashboard calls on the SDK's `OakAuthAdmin`. */
export type AdminClient = Pick<
  OakAuthAdmin,
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
  | 'listWebhookDeliveries'
  | 'redeliverWebhook'
>;
