// The wire types of the OakAuth API, written from docs/openapi.yaml (and core/src/wire.rs).
// Field names are snake_case, exactly as they travel.

/** Why a decision came out the way it did. A closed set. */
export type ReasonCode =
  | 'allowed'
  | 'reasoning_missing_soft'
  | 'agent_disabled'
  | 'unknown_tool'
  | 'scope_not_granted'
  | 'reasoning_required'
  | 'rate_limited'
  | 'unavailable';

/** The reason codes whose decisions let the action run. */
export type AllowReasonCode = 'allowed' | 'reasoning_missing_soft';
/** The reason codes of denials. */
export type DenyReasonCode = Exclude<ReasonCode, AllowReasonCode>;

/** How much reasoning a rule demands: `none` (recorded if given), `soft` (flagged if missing), `hard` (denied without). */
export type ReasoningPolicy = 'none' | 'soft' | 'hard';

/** How dangerous a tool is; picks the default reasoning policy of a new rule. */
export type RiskLevel = 'read' | 'write' | 'destructive';

/** The `code` of an error body. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error';

/** `{"error": {"code", "message"}}`: the body of every error answer except a rate-limited decision. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** `GET /health` answer. */
export interface Health {
  status: 'ok';
  version: string;
}

/** `POST /v1/validate` body. */
export interface ValidateRequest {
  /** The tool's name, as registered for the agent. */
  tool: string;
  /** The scope of the tool the call needs. */
  scope: string;
  /** Why the agent needs this call (at most 4000 characters). Stored in the audit log with secrets redacted. */
  reasoning?: string | null;
  /** Free-form details (at most 8 KiB as JSON, 8 levels deep). Secrets are redacted before storage. */
  context?: Record<string, unknown> | null;
}

/** The agent's token bucket after a request. */
export interface RateLimitState {
  /** Bucket capacity (the burst). */
  limit: number;
  /** Whole tokens left. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  reset: number;
}

/** `POST /v1/validate` answer: a decision. */
export interface ValidateResponse {
  allowed: boolean;
  reason: ReasonCode;
  /** A sentence explaining the decision, safe to show to a person or a model. */
  message: string;
  /** The audit-log id of this decision. */
  decision_id: string;
  /** The reasoning policy of the rule that matched (`none` when no rule matched). */
  reasoning_required: ReasoningPolicy;
  /** Whether real reasoning was given. */
  reasoning_provided: boolean;
  /** Null when the bucket was not consulted (a disabled agent). */
  rate_limit: RateLimitState | null;
}

/** A decision that lets the action run. */
export type AllowDecision = ValidateResponse & { allowed: true; reason: AllowReasonCode };

/** An agent's rate limit: a token bucket. */
export interface RateLimitConfig {
  /** Burst size, 1 to 100000. */
  capacity: number;
  /** Tokens added per second, above 0 and at most 100000. */
  refill_per_second: number;
}

export interface Organization {
  id: string;
  name: string;
}

/** `GET /v1/admin/me` answer. */
export interface Me {
  organization: Organization;
  key_prefix: string;
}

export interface Agent {
  id: string;
  name: string;
  enabled: boolean;
  /** The visible start of the current key. */
  key_prefix: string;
  rate_limit: RateLimitConfig;
  created_at: string;
  updated_at: string;
}

export interface CreateAgent {
  /** 1 to 100 characters, unique in the organization. */
  name: string;
  /** Default true. */
  enabled?: boolean;
  /** Default: capacity 60, refill 1 per second. */
  rate_limit?: RateLimitConfig;
}

export interface UpdateAgent {
  name?: string;
  enabled?: boolean;
  rate_limit?: RateLimitConfig;
}

export interface RotateKey {
  /** Seconds the previous keys keep working, 0 to 604800 (default 300; 0 revokes them at once). */
  overlap_seconds?: number;
}

/** Answer to creating an agent or rotating its key. `api_key` is shown this once. */
export interface AgentWithKey {
  agent: Agent;
  /** The agent key (`oak_…`). Store it now: it is never shown again. */
  api_key: string;
  /** When the previous key stops working (rotation with an overlap), else null. */
  previous_key_expires_at: string | null;
}

export interface Tool {
  id: string;
  agent_id: string;
  name: string;
  description: string;
  scopes: string[];
  risk_level: RiskLevel;
  created_at: string;
  updated_at: string;
}

export interface CreateTool {
  name: string;
  description?: string;
  /** 1 to 64 distinct scope names. */
  scopes: string[];
  risk_level: RiskLevel;
}

export interface UpdateTool {
  name?: string;
  description?: string;
  /** Replaces the scope list; rules of scopes no longer listed are deleted. */
  scopes?: string[];
  risk_level?: RiskLevel;
}

export interface Rule {
  id: string;
  agent_id: string;
  tool_id: string;
  /** The tool's name. */
  tool: string;
  scope: string;
  require_reasoning: ReasoningPolicy;
  created_at: string;
  updated_at: string;
}

export interface CreateRule {
  /** The tool's name (it must be registered for the agent). */
  tool: string;
  /** One of the tool's scopes. */
  scope: string;
  /** Default from the tool's risk level: read → none, write → soft, destructive → hard. */
  require_reasoning?: ReasoningPolicy;
}

export interface UpdateRule {
  require_reasoning: ReasoningPolicy;
}

/** One audit-log row: one decision. */
export interface LogEntry {
  decision_id: string;
  request_id: string;
  agent_id: string;
  tool: string;
  scope: string;
  allowed: boolean;
  reason: ReasonCode;
  /** As given, with credentials redacted. */
  reasoning: string | null;
  reasoning_required: ReasoningPolicy;
  reasoning_provided: boolean;
  /** As given, with secrets replaced by `[REDACTED]`. */
  context: Record<string, unknown> | null;
  latency_ms: number;
  created_at: string;
}

/** A page of a list. Pass `next_cursor` back as `cursor` for the next page; null on the last. */
export interface AgentList {
  agents: Agent[];
  next_cursor: string | null;
}
export interface ToolList {
  tools: Tool[];
  next_cursor: string | null;
}
export interface RuleList {
  rules: Rule[];
  next_cursor: string | null;
}
export interface LogList {
  logs: LogEntry[];
  next_cursor: string | null;
}

/** Page parameters of the list endpoints. */
export interface PageParams {
  /** Page size, 1 to 200 (default 50). */
  limit?: number;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

/** Filters of `GET /v1/admin/logs`. */
export interface LogFilters extends PageParams {
  agent_id?: string;
  tool?: string;
  scope?: string;
  allowed?: boolean;
  reason?: ReasonCode;
  /** Inclusive lower bound (RFC 3339). */
  since?: string;
  /** Exclusive upper bound (RFC 3339). */
  until?: string;
}

/** What an admin did: the `action` of an {@link AdminEvent}. A closed set. */
export type AdminAction =
  | 'agent.create'
  | 'agent.update'
  | 'agent.enable'
  | 'agent.disable'
  | 'agent.rotate_key'
  | 'agent.delete'
  | 'tool.create'
  | 'tool.update'
  | 'tool.delete'
  | 'rule.create'
  | 'rule.update'
  | 'rule.delete';

/** One change an admin made to an agent, tool or rule (`GET /v1/admin/events`). */
export interface AdminEvent {
  id: string;
  /** The `X-Request-Id` of the admin request that made the change. */
  request_id: string;
  /** The visible prefix of the admin key that acted. */
  actor: string;
  action: AdminAction;
  /** The agent concerned (it may since have been deleted); null when the change concerned no agent. */
  agent_id: string | null;
  /** The id of the agent, tool or rule that changed. */
  target_id: string;
  /** The fields that were set. Never contains a key. */
  detail: Record<string, unknown>;
  created_at: string;
}

export interface AdminEventList {
  /** Newest first. */
  events: AdminEvent[];
  next_cursor: string | null;
}

/** Filters of `GET /v1/admin/events`. */
export interface EventFilters extends PageParams {
  /** Only the changes concerning this agent (deleted agents included). */
  agent_id?: string;
}

/** The first problem found walking an agent's audit hash chain. */
export interface BrokenLink {
  /** The sequence number where the chain breaks. */
  chain_seq: number;
  /** The audit-log row at that place; null when the row is missing. */
  decision_id: string | null;
  /** What is wrong, in a sentence (a modified row, a missing row, a chain that ends before its head…). */
  problem: string;
}

/** The verification of one agent's audit chain. */
export interface ChainVerification {
  agent_id: string;
  ok: boolean;
  /** Rows read and checked. */
  rows_checked: number;
  /** The chain head's sequence number, as held by the agent's Durable Object. */
  head_seq: number;
  /** The first break (the first of `breaks`); null when `ok`. */
  broken: BrokenLink | null;
  /** Every break found, in chain order, at most 100, including integrity alarms. */
  breaks: BrokenLink[];
  /** Breaks found beyond those listed. */
  breaks_omitted: number;
}

/** `GET /v1/admin/audit/verify` answer. `ok` is false when any agent's chain on this page is broken. */
export interface AuditVerification {
  ok: boolean;
  agents: ChainVerification[];
  /** Set while more agents remain to be verified: pass it as `cursor`. */
  next_cursor: string | null;
}

/** Options of `GET /v1/admin/audit/verify`. */
export interface VerifyAuditOptions {
  /** Verify this agent's chain only. Default: one page of the organization's agents, deleted ones included. */
  agent_id?: string;
  /** Agents per page, 1 to 200 (default 50). */
  limit?: number;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

/** Range of `GET /v1/admin/stats` (default: today, UTC). */
export interface StatsRange {
  /** Inclusive (RFC 3339). Default: today's midnight UTC. */
  since?: string;
  /** Exclusive (RFC 3339). Default: now. */
  until?: string;
}

export interface ToolCount {
  tool: string;
  total: number;
  denied: number;
}

export interface AgentCount {
  agent_id: string;
  /** Null when the agent has since been deleted. */
  name: string | null;
  total: number;
  allowed: number;
  denied: number;
}

export interface TimelinePoint {
  start: string;
  allowed: number;
  denied: number;
}

/** `GET /v1/admin/stats` answer. */
export interface Stats {
  since: string;
  until: string;
  total: number;
  allowed: number;
  denied: number;
  /** Denial counts keyed by reason code. */
  denials_by_reason: Partial<Record<ReasonCode, number>>;
  /** Up to 10 tools with the most decisions. */
  top_tools: ToolCount[];
  /** Up to 50 agents with the most decisions. */
  agents: AgentCount[];
  /** Width of each timeline bucket. */
  bucket_seconds: number;
  /** Oldest first; hourly for ranges up to 2 days, daily beyond. */
  timeline: TimelinePoint[];
}
