// The API's shapes as docs/openapi.yaml defines them, and the part of the SDK's admin client the dashboard uses.

export type ReasonCode =
  | 'allowed'
  | 'reasoning_missing_soft'
  | 'agent_disabled'
  | 'unknown_tool'
  | 'scope_not_granted'
  | 'reasoning_required'
  | 'rate_limited'
  | 'unavailable';
export type ReasoningPolicy = 'none' | 'soft' | 'hard';
export type RiskLevel = 'read' | 'write' | 'destructive';

export interface RateLimitConfig {
  capacity: number;
  refill_per_second: number;
}
export interface Me {
  organization: { id: string; name: string };
  key_prefix: string;
}
export interface Agent {
  id: string;
  name: string;
  enabled: boolean;
  key_prefix: string;
  rate_limit: RateLimitConfig;
  created_at: string;
  updated_at: string;
}
export interface AgentWithKey {
  agent: Agent;
  api_key: string;
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
export interface Rule {
  id: string;
  agent_id: string;
  tool_id: string;
  tool: string;
  scope: string;
  require_reasoning: ReasoningPolicy;
  created_at: string;
  updated_at: string;
}
export interface LogEntry {
  decision_id: string;
  request_id: string;
  agent_id: string;
  tool: string;
  scope: string;
  allowed: boolean;
  reason: ReasonCode;
  reasoning: string | null;
  reasoning_required: ReasoningPolicy;
  reasoning_provided: boolean;
  context: Record<string, unknown> | null;
  latency_ms: number;
  created_at: string;
}
export interface LogFilters {
  agent_id?: string;
  tool?: string;
  scope?: string;
  allowed?: boolean;
  reason?: ReasonCode;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}
export interface Stats {
  since: string;
  until: string;
  total: number;
  allowed: number;
  denied: number;
  denials_by_reason: Partial<Record<ReasonCode, number>>;
  top_tools: { tool: string; total: number; denied: number }[];
  agents: { agent_id: string; name: string | null; total: number; allowed: number; denied: number }[];
  bucket_seconds: number;
  timeline: { start: string; allowed: number; denied: number }[];
}
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
export interface AdminEvent {
  id: string;
  request_id: string;
  actor: string;
  action: AdminAction;
  agent_id: string | null;
  target_id: string;
  detail: Record<string, unknown>;
  created_at: string;
}
export interface BrokenLink {
  chain_seq: number;
  decision_id: string | null;
  problem: string;
}
export interface ChainVerification {
  agent_id: string;
  ok: boolean;
  rows_checked: number;
  head_seq: number;
  broken: BrokenLink | null;
}
export interface AuditVerification {
  ok: boolean;
  agents: ChainVerification[];
}

/** What the dashboard needs from the SDK's `OakAuthAdmin`; the compiler checks the SDK against it. */
export interface AdminClient {
  me(): Promise<Me>;
  listAgents(q?: { limit?: number; cursor?: string }): Promise<{ agents: Agent[]; next_cursor: string | null }>;
  createAgent(body: { name: string; enabled?: boolean; rate_limit?: RateLimitConfig }): Promise<AgentWithKey>;
  getAgent(id: string): Promise<Agent>;
  updateAgent(id: string, body: { name?: string; enabled?: boolean; rate_limit?: RateLimitConfig }): Promise<Agent>;
  deleteAgent(id: string): Promise<unknown>;
  rotateAgentKey(id: string, body?: { overlap_seconds?: number }): Promise<AgentWithKey>;
  listTools(agentId: string, page?: { limit?: number; cursor?: string }): Promise<{ tools: Tool[]; next_cursor: string | null }>;
  createTool(
    agentId: string,
    body: { name: string; description?: string; scopes: string[]; risk_level: RiskLevel },
  ): Promise<Tool>;
  deleteTool(agentId: string, toolId: string): Promise<unknown>;
  listRules(agentId: string, page?: { limit?: number; cursor?: string }): Promise<{ rules: Rule[]; next_cursor: string | null }>;
  createRule(
    agentId: string,
    body: { tool: string; scope: string; require_reasoning?: ReasoningPolicy },
  ): Promise<Rule>;
  updateRule(agentId: string, ruleId: string, body: { require_reasoning: ReasoningPolicy }): Promise<Rule>;
  deleteRule(agentId: string, ruleId: string): Promise<unknown>;
  listLogs(filters?: LogFilters): Promise<{ logs: LogEntry[]; next_cursor: string | null }>;
  getLog(decisionId: string): Promise<LogEntry>;
  stats(q?: { since?: string; until?: string }): Promise<Stats>;
  listEvents(q?: { agent_id?: string; limit?: number; cursor?: string }): Promise<{ events: AdminEvent[]; next_cursor: string | null }>;
  verifyAudit(q?: { agent_id?: string }): Promise<AuditVerification>;
}
