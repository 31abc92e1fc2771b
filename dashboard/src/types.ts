// The API's shapes, as the TypeScript SDK defines them from docs/openapi.yaml (the build bundles
// the SDK from ../sdk-ts/src), and the part of its admin client the dashboard uses.
import type { OakAuthAdmin } from 'oakauth';

export type {
  AcceptedInvitation,
  Actor,
  AdminKey,
  AuthConfig,
  CreatedAdminKey,
  CreatedInvitation,
  Invitation,
  InvitationPreview,
  InvitationStatus,
  Member,
  OrganizationMembership,
  OrganizationSettings,
  OrganizationUpdate,
  Role,
  Session as UserSession,
  SessionInfo,
  AdminAction,
  AgentUsage,
  BillingRedirect,
  BillingStatus,
  DayUsage,
  PlanId,
  QuotaUsage,
  Usage,
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
  | 'authConfig'
  | 'session'
  | 'logout'
  | 'listSessions'
  | 'revokeSession'
  | 'invitationPreview'
  | 'acceptInvitation'
  | 'listMembers'
  | 'updateMember'
  | 'removeMember'
  | 'endMemberSessions'
  | 'listInvitations'
  | 'createInvitation'
  | 'revokeInvitation'
  | 'listAdminKeys'
  | 'createAdminKey'
  | 'revokeAdminKey'
  | 'organization'
  | 'updateOrganization'
  | 'usage'
  | 'billingCheckout'
  | 'billingPortal'
>;

/** The roles from least to most power: each can do all the one before it can. */
const RANK = { viewer: 0, admin: 1, owner: 2 } as const;

/**
 * Whether `role` has at least `needed`'s power. Only hides what the server would refuse anyway; a
 * role the dashboard does not know (or none) has no power.
 */
export function atLeast(role: string | undefined, needed: keyof typeof RANK): boolean {
  const have = RANK[role as keyof typeof RANK];
  return have !== undefined && have >= RANK[needed];
}
