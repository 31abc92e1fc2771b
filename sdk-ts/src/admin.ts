import { OakAuthMalformedResponseError } from './errors.js';
import { Http, clientHttp, fromEnv, type FetchLike, type RequestAuth, type RetryPolicy } from './http.js';
import type {
  AcceptedInvitation,
  AdminKeyList,
  AuthConfig,
  BearerSession,
  CreatedAdminKey,
  CreatedInvitation,
  InvitationList,
  InvitationPreview,
  Member,
  MemberList,
  NewAdminKey,
  NewInvitation,
  OrganizationSettings,
  OrganizationUpdate,
  Role,
  SessionInfo,
  SessionList,
} from './accounts.js';
import type {
  AdminEvent,
  AdminEventList,
  Agent,
  Approval,
  ApprovalDecision,
  BillingRedirect,
  PlanId,
  PlanList,
  Usage,
  ApprovalFilters,
  ApprovalList,
  CreateWebhook,
  Delivery,
  DeliveryFilters,
  DeliveryList,
  RotateWebhookSecret,
  UpdateWebhook,
  Webhook,
  WebhookList,
  WebhookWithSecret,
  AgentList,
  AgentWithKey,
  AuditVerification,
  CreateAgent,
  CreateRule,
  CreateTool,
  EventFilters,
  LogEntry,
  LogFilters,
  LogList,
  Me,
  PageParams,
  ReplayRequest,
  ReplayResponse,
  RotateKey,
  Rule,
  RuleList,
  SimulateRequest,
  SimulateResponse,
  Stats,
  StatsRange,
  Tool,
  ToolList,
  UpdateAgent,
  UpdateRule,
  UpdateTool,
  VerifyAuditOptions,
} from './types.js';

export interface OakAuthAdminOptions {
  /**
   * The admin key (`oakadm_…`), or a person's bearer session token (`oaks_…`, from
   * {@link OakAuthAdmin.createToken}). Default: the `OAKAUTH_ADMIN_KEY` environment variable, unless
   * `session` is given.
   */
  adminKey?: string;
  /**
   * A signed-in person's session. Without `adminKey`, requests carry the browser's session cookie
   * (`credentials: 'include'`), and every write carries `csrfToken` as `X-CSRF-Token` (the
   * `csrf_token` of {@link OakAuthAdmin.session}). With `adminKey` (an `oaks_…` token), only
   * `organizationId` applies. `organizationId` is sent as `OakAuth-Organization`: the organization to
   * act in, needed when the person belongs to several.
   */
  session?: AdminSession;
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
  /** Milliseconds each attempt may take. Default 10000. */
  timeout?: number;
  /** Retries after a connection failure, a timeout or a 5xx of a read, update or delete. Default 2. */
  retries?: number;
  /** The fetch to use. Default: the platform's `fetch`. */
  fetch?: FetchLike;
}

/** How a person's requests say who they are, besides the cookie or bearer token. */
export interface AdminSession {
  /** The organization to act in (`org_…`), sent as `OakAuth-Organization`. */
  organizationId?: string;
  /** The session's CSRF token, sent as `X-CSRF-Token` on writes made with the cookie. */
  csrfToken?: string;
}

/**
 * A client for the admin API (`/v1/admin/…`), scoped to the admin key's organization. Methods
 * return the API's answers as they are (snake_case) and throw the same error classes as {@link OakAuth}.
 */
export class OakAuthAdmin {
  readonly #http: Http;

  constructor(options: OakAuthAdminOptions = {}) {
    const session = options.session;
    let key = options.adminKey;
    let auth: RequestAuth | undefined;
    if (session) {
      const headers: Record<string, string> = {};
      if (session.organizationId) headers['OakAuth-Organization'] = session.organizationId;
      auth = { headers };
      if (key === undefined) {
        auth.credentials = 'include';
        if (session.csrfToken) auth.writeHeaders = { 'X-CSRF-Token': session.csrfToken };
      }
    } else {
      key ??= fromEnv('OAKAUTH_ADMIN_KEY');
    }
    this.#http = clientHttp(key, 'OakAuthAdmin: an admin key is required (the adminKey option or OAKAUTH_ADMIN_KEY), or a session', options, auth);
  }

  /** The base URL this client talks to. */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** The organization of the admin key. */
  async me(): Promise<Me> {
    return this.#json('GET', '/v1/admin/me');
  }

  /** A page of agents, oldest first. */
  async listAgents(page: PageParams = {}): Promise<AgentList> {
    return this.#list('/v1/admin/agents', 'agents', page);
  }

  /** Creates an agent. Its key is in the answer and never shown again. */
  async createAgent(body: CreateAgent): Promise<AgentWithKey> {
    return this.#json('POST', '/v1/admin/agents', { body });
  }

  async getAgent(id: string): Promise<Agent> {
    return this.#json('GET', `/v1/admin/agents/${seg(id)}`);
  }

  /** Renames, enables or disables an agent, or changes its rate limit. Takes effect on the next request. */
  async updateAgent(id: string, body: UpdateAgent): Promise<Agent> {
    return this.#json('PATCH', `/v1/admin/agents/${seg(id)}`, { body });
  }

  /** Deletes an agent with its keys, tools and rules; its audit-log rows are kept. */
  async deleteAgent(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/agents/${seg(id)}`, { retry: 'always' });
  }

  /** Issues a new key; the previous ones keep working for `overlap_seconds` (default 300; 0 revokes them at once). */
  async rotateAgentKey(id: string, body: RotateKey = {}): Promise<AgentWithKey> {
    return this.#json('POST', `/v1/admin/agents/${seg(id)}/rotate-key`, { body });
  }

  /** A page of the agent's tools, oldest first. */
  async listTools(agentId: string, page: PageParams = {}): Promise<ToolList> {
    return this.#list(`/v1/admin/agents/${seg(agentId)}/tools`, 'tools', page);
  }

  /**
   * Registers a tool for the agent, with its scopes, risk level and optionally the JSON Schema of its
   * arguments (`input_schema`): calls whose arguments do not conform are denied (`invalid_arguments`).
   */
  async createTool(agentId: string, body: CreateTool): Promise<Tool> {
    return this.#json('POST', `/v1/admin/agents/${seg(agentId)}/tools`, { body });
  }

  async getTool(agentId: string, toolId: string): Promise<Tool> {
    return this.#json('GET', `/v1/admin/agents/${seg(agentId)}/tools/${seg(toolId)}`);
  }

  /**
   * Changes a tool. Replacing `scopes` deletes the rules of scopes no longer listed. `input_schema:
   * null` removes the schema; leaving it out keeps it.
   */
  async updateTool(agentId: string, toolId: string, body: UpdateTool): Promise<Tool> {
    return this.#json('PATCH', `/v1/admin/agents/${seg(agentId)}/tools/${seg(toolId)}`, { body });
  }

  /** Deletes a tool and its rules. */
  async deleteTool(agentId: string, toolId: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/agents/${seg(agentId)}/tools/${seg(toolId)}`, { retry: 'always' });
  }

  /** A page of the agent's rules, oldest first. */
  async listRules(agentId: string, page: PageParams = {}): Promise<RuleList> {
    return this.#list(`/v1/admin/agents/${seg(agentId)}/rules`, 'rules', page);
  }

  /**
   * Adds a rule for a tool's scope (`tool` is the tool's name): an `effect` (default `allow`),
   * `conditions` on the call's arguments, context or request, a `mode` (`enforce`, the default, or
   * `shadow`), a description and a reasoning requirement. Several rules may exist for one tool and
   * scope. A malformed condition throws {@link OakAuthValidationError} naming it (`conditions[0]…`).
   */
  async createRule(agentId: string, body: CreateRule): Promise<Rule> {
    return this.#json('POST', `/v1/admin/agents/${seg(agentId)}/rules`, { body });
  }

  async getRule(agentId: string, ruleId: string): Promise<Rule> {
    return this.#json('GET', `/v1/admin/agents/${seg(agentId)}/rules/${seg(ruleId)}`);
  }

  /** Changes a rule's effect, conditions, mode, description or reasoning requirement; fields left out stay. */
  async updateRule(agentId: string, ruleId: string, body: UpdateRule): Promise<Rule> {
    return this.#json('PATCH', `/v1/admin/agents/${seg(agentId)}/rules/${seg(ruleId)}`, { body });
  }

  /** Deletes a rule; the scope is denied from the next request on. */
  async deleteRule(agentId: string, ruleId: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/agents/${seg(agentId)}/rules/${seg(ruleId)}`, { retry: 'always' });
  }

  /** One page of the audit log, newest first. Pass `next_cursor` back as `cursor` for the next (older) page. */
  async listLogs(filters: LogFilters = {}): Promise<LogList> {
    return this.#list('/v1/admin/logs', 'logs', filters);
  }

  /**
   * Every audit-log entry that matches the filters, newest first, fetching page after page as the
   * loop asks for more (`limit` sets the page size).
   *
   * ```ts
   * for await (const entry of admin.logs({ agent_id, allowed: false })) console.log(entry.reason);
   * ```
   */
  async *logs(filters: LogFilters = {}): AsyncGenerator<LogEntry, void, undefined> {
    let cursor = filters.cursor;
    for (;;) {
      const page = await this.listLogs({ ...filters, cursor });
      yield* page.logs;
      if (page.next_cursor === null || page.logs.length === 0) return;
      cursor = page.next_cursor;
    }
  }

  /** One decision's full record. */
  async getLog(decisionId: string): Promise<LogEntry> {
    return this.#json('GET', `/v1/admin/logs/${seg(decisionId)}`);
  }

  /**
   * Decides a call as `/v1/validate` would, with the agent's saved rules or with draft `rules` in
   * their place, and shows every rule's part (`trace`). Nothing is counted against the rate limit
   * and nothing is logged. Throws {@link OakAuthNotFoundError} for an unknown agent.
   *
   * ```ts
   * const sim = await admin.simulate({ agent_id, request: { tool: 'payments', scope: 'send', arguments: { amount: 900 } } });
   * console.log(sim.allowed, sim.reason, sim.explanation?.message);
   * ```
   */
  async simulate(body: SimulateRequest): Promise<SimulateResponse> {
    // Writes nothing, so it is safe to repeat.
    return this.#json('POST', '/v1/admin/simulate', { body, retry: 'always' });
  }

  /**
   * Replays the agent's latest audited calls (`limit`, default 100, at most 1000) against draft
   * `rules` and lists the calls whose decision would change. A change from a row whose stored
   * arguments were cut or redacted is marked `approximate`.
   */
  async replay(body: ReplayRequest): Promise<ReplayResponse> {
    return this.#json('POST', '/v1/admin/simulate/replay', { body, retry: 'always' });
  }

  /** Counts over a time range (default: today, UTC). */
  async stats(range: StatsRange = {}): Promise<Stats> {
    return this.#json('GET', '/v1/admin/stats', { query: { since: range.since, until: range.until } });
  }

  /**
   * One page of what admins did (creates, updates, enables, disables, key rotations and deletes of
   * agents, tools and rules), newest first. Pass `next_cursor` back as `cursor` for the next (older) page.
   */
  async listEvents(filters: EventFilters = {}): Promise<AdminEventList> {
    return this.#list('/v1/admin/events', 'events', filters);
  }

  /**
   * Every admin event that matches the filters, newest first, fetching page after page as the loop
   * asks for more (`limit` sets the page size).
   *
   * ```ts
   * for await (const event of admin.events({ agent_id })) console.log(event.created_at, event.actor, event.action);
   * ```
   */
  async *events(filters: EventFilters = {}): AsyncGenerator<AdminEvent, void, undefined> {
    let cursor = filters.cursor;
    for (;;) {
      const page = await this.listEvents({ ...filters, cursor });
      yield* page.events;
      if (page.next_cursor === null || page.events.length === 0) return;
      cursor = page.next_cursor;
    }
  }

  /**
   * Verifies the audit log's tamper-evident hash chains: one agent's (`agent_id`, 404 when it has
   * neither an agent nor log rows in this organization) or every agent's. Each result names the
   * first broken link; `ok` is true only when every chain is intact.
   */
  async verifyAudit(options: VerifyAuditOptions = {}): Promise<AuditVerification> {
    const path = '/v1/admin/audit/verify';
    const agentId = options.agent_id;
    if (agentId !== undefined && (typeof agentId !== 'string' || agentId === '')) {
      throw new TypeError(`OakAuthAdmin: not an agent id: ${JSON.stringify(agentId)}`);
    }
    const report = await this.#json<AuditVerification>('GET', path, { query: { agent_id: agentId, limit: options.limit, cursor: options.cursor } });
    // A report that does not add up must not read as "intact".
    const chains: unknown = report.agents;
    const consistent =
      typeof report.ok === 'boolean' &&
      Array.isArray(chains) &&
      chains.every(
        (c) =>
          typeof c === 'object' &&
          c !== null &&
          typeof c.agent_id === 'string' &&
          typeof c.ok === 'boolean' &&
          (c.ok ? c.broken === null : typeof c.broken === 'object' && c.broken !== null),
      ) &&
      report.ok === report.agents.every((c) => c.ok) &&
      (report.next_cursor === null || typeof report.next_cursor === 'string');
    if (!consistent) {
      throw new OakAuthMalformedResponseError(`OakAuth answered GET ${path} with a report that is not the documented shape or contradicts itself`, 200, JSON.stringify(report), undefined);
    }
    return report;
  }

  /** Verifies every agent's chain, following `next_cursor` page by page; `ok` covers them all. */
  async verifyAuditAll(options: { limit?: number } = {}): Promise<AuditVerification> {
    const agents: AuditVerification['agents'] = [];
    let cursor: string | undefined;
    do {
      const page = await this.verifyAudit({ limit: options.limit, cursor });
      agents.push(...page.agents);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return { ok: agents.every((c) => c.ok), agents, next_cursor: null };
  }

  /**
   * One page of the organization's approvals, newest first, with the call each is for (tool,
   * scope, redacted arguments, reasoning, agent). `status: 'pending'` is the inbox; a pending
   * approval past its expiry lists as `expired`.
   */
  async listApprovals(filters: ApprovalFilters = {}): Promise<ApprovalList> {
    return this.#list('/v1/admin/approvals', 'approvals', filters);
  }

  /** One approval, with the call it is for and, once decided, who decided and their comment. */
  async getApproval(id: string): Promise<Approval> {
    return this.#json('GET', `/v1/admin/approvals/${seg(id)}`);
  }

  /**
   * Approves or denies a pending approval, with an optional comment that the agent sees. Once
   * approved, the identical call is allowed once. The decider (this admin key's prefix) is recorded
   * in the approval and in the admin events. Throws {@link OakAuthConflictError} when the approval
   * is no longer pending (decided, expired or cancelled).
   *
   * ```ts
   * await admin.decideApproval(id, { decision: 'deny', comment: 'not this vendor' });
   * ```
   */
  async decideApproval(id: string, body: ApprovalDecision): Promise<Approval> {
    return this.#json('POST', `/v1/admin/approvals/${seg(id)}/decision`, { body });
  }

  /** One page of the organization's webhook endpoints, oldest first. */
  async listWebhooks(page: PageParams = {}): Promise<WebhookList> {
    return this.#list('/v1/admin/webhooks', 'webhooks', page);
  }

  /**
   * Registers a webhook endpoint for some event types. Its `secret` (`whsec_…`) is in the answer and
   * never shown again: keep it to verify deliveries (`verifyWebhook` in `oakauth/webhooks`).
   */
  async createWebhook(body: CreateWebhook): Promise<WebhookWithSecret> {
    return this.#json('POST', '/v1/admin/webhooks', { body });
  }

  async getWebhook(id: string): Promise<Webhook> {
    return this.#json('GET', `/v1/admin/webhooks/${seg(id)}`);
  }

  /** Changes an endpoint's URL, event types, description, or enables it again (clearing `disabled_reason`). */
  async updateWebhook(id: string, body: UpdateWebhook): Promise<Webhook> {
    return this.#json('PATCH', `/v1/admin/webhooks/${seg(id)}`, { body });
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/webhooks/${seg(id)}`, { retry: 'always' });
  }

  /**
   * Issues a new secret, shown once in the answer. For `overlap_seconds` (default 86400) deliveries
   * carry the signatures of both secrets, so receivers can switch at their own pace.
   */
  async rotateWebhookSecret(id: string, body: RotateWebhookSecret = {}): Promise<WebhookWithSecret> {
    return this.#json('POST', `/v1/admin/webhooks/${seg(id)}/rotate-secret`, { body });
  }

  /** One page of an endpoint's delivery log, newest first: each message's status, attempts, last response code and error. */
  async listWebhookDeliveries(id: string, filters: DeliveryFilters = {}): Promise<DeliveryList> {
    return this.#list(`/v1/admin/webhooks/${seg(id)}/deliveries`, 'deliveries', filters);
  }

  /** Sends a message again now, with a fresh series of attempts and the same `webhook-id`. */
  async redeliverWebhook(id: string, deliveryId: string): Promise<Delivery> {
    return this.#json('POST', `/v1/admin/webhooks/${seg(id)}/deliveries/${seg(deliveryId)}/redeliver`);
  }

  // People: sign-in, sessions (/v1/auth/…)

  /** Whether people can sign in with single sign-on, and whether sign-up is open. Needs no credentials. */
  async authConfig(): Promise<AuthConfig> {
    return this.#json('GET', '/v1/auth/config');
  }

  /** The signed-in person, this session, its CSRF token and the person's organizations with their role in each. */
  async session(): Promise<SessionInfo> {
    return this.#json('GET', '/v1/auth/session');
  }

  /** Ends this session (the cookie or bearer token stops working at once). */
  async logout(): Promise<void> {
    await this.#http.request('POST', '/v1/auth/logout', { retry: 'connect-only' });
  }

  /** The person's live sessions (the dashboard's cookies and bearer tokens); `current` marks this one. */
  async listSessions(): Promise<SessionList> {
    return this.#json('GET', '/v1/auth/sessions');
  }

  /** Ends one of the person's own sessions. */
  async revokeSession(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/auth/sessions/${seg(id)}`, { retry: 'always' });
  }

  /** Issues a bearer session token (`oaks_…`) for a script or the CLI, labelled `name`; the token is shown once. */
  async createToken(name?: string): Promise<BearerSession> {
    return this.#json('POST', '/v1/auth/tokens', { body: { name: name ?? null } });
  }

  /** What an invitation link offers (organization, e-mail address, role, status). Needs no credentials. */
  async invitationPreview(token: string): Promise<InvitationPreview> {
    return this.#json('GET', `/v1/auth/invitations/${seg(token)}`);
  }

  /**
   * Accepts an invitation as the signed-in person. Throws {@link OakAuthConflictError} when it was
   * used already, and an error with status 410 when it expired or was revoked.
   */
  async acceptInvitation(token: string): Promise<AcceptedInvitation> {
    return this.#json('POST', `/v1/auth/invitations/${seg(token)}/accept`);
  }

  // People in the organization (/v1/admin/…)

  /** The organization's members and their roles. */
  async listMembers(): Promise<MemberList> {
    return this.#json('GET', '/v1/admin/members');
  }

  /** Changes a member's role (owners only). The last owner cannot be demoted (409 `last_owner`). */
  async updateMember(userId: string, role: Role): Promise<Member> {
    return this.#json('PATCH', `/v1/admin/members/${seg(userId)}`, { body: { role } });
  }

  /** Removes a member and ends their sessions (owners only). */
  async removeMember(userId: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/members/${seg(userId)}`, { retry: 'always' });
  }

  /** Ends all of a member's sessions; they must sign in again (owners only). */
  async endMemberSessions(userId: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/members/${seg(userId)}/sessions`, { retry: 'always' });
  }

  /** One page of the organization's invitations, newest first. */
  async listInvitations(page: PageParams = {}): Promise<InvitationList> {
    return this.#list('/v1/admin/invitations', 'invitations', page);
  }

  /** Invites someone by e-mail address and role. The token and link are in the answer and never shown again. */
  async createInvitation(body: NewInvitation): Promise<CreatedInvitation> {
    return this.#json('POST', '/v1/admin/invitations', { body });
  }

  /** Revokes a pending invitation: its link stops working. */
  async revokeInvitation(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/invitations/${seg(id)}`, { retry: 'always' });
  }

  /** The organization's admin keys (never the keys themselves; owners only). */
  async listAdminKeys(): Promise<AdminKeyList> {
    return this.#json('GET', '/v1/admin/keys');
  }

  /** Creates a named, role-scoped admin key, optionally expiring. The secret is in the answer and never shown again. */
  async createAdminKey(body: NewAdminKey): Promise<CreatedAdminKey> {
    return this.#json('POST', '/v1/admin/keys', { body });
  }

  /** Revokes an admin key; it stops working on the next request. */
  async revokeAdminKey(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/keys/${seg(id)}`, { retry: 'always' });
  }

  /** The organization's settings. */
  async organization(): Promise<OrganizationSettings> {
    return this.#json('GET', '/v1/admin/organization');
  }

  /** Renames the organization or changes whether members must sign in with a second factor (owners only). */
  async updateOrganization(body: OrganizationUpdate): Promise<OrganizationSettings> {
    return this.#json('PATCH', '/v1/admin/organization', { body });
  }

  // Plans, usage and billing

  /** `GET /v1/plans`: every plan and its limits (`null`: unlimited), cheapest first. Public: any credentials do. */
  async plans(): Promise<PlanList> {
    const list = await this.#json<PlanList>('GET', '/v1/plans');
    if (!Array.isArray(list.plans)) {
      throw new OakAuthMalformedResponseError('OakAuth answered GET /v1/plans without a {plans} list', 200, JSON.stringify(list), undefined);
    }
    return list;
  }

  /**
   * `GET /v1/admin/usage`: the plan in force, the billing status and this calendar month's use of
   * each limit (`used` / `limit`, `null` unlimited), with validations by day and by agent. Any role.
   */
  async usage(): Promise<Usage> {
    return this.#json('GET', '/v1/admin/usage');
  }

  /**
   * `POST /v1/admin/billing/checkout`: starts a subscription to `plan` (`pro`) with Stripe Checkout
   * and returns the page to send the owner to. Owners only. Throws {@link OakAuthNotFoundError}
   * (`billing_not_configured`) when the deployment has no Stripe, {@link OakAuthConflictError}
   * when the organization already subscribes (use {@link billingPortal}).
   */
  async billingCheckout(plan: PlanId): Promise<BillingRedirect> {
    if (typeof plan !== 'string' || (plan as string) === '') throw new TypeError('OakAuthAdmin.billingCheckout: plan must be a plan id such as "pro"');
    return this.#json('POST', '/v1/admin/billing/checkout', { body: { plan } });
  }

  /**
   * `POST /v1/admin/billing/portal`: Stripe's Customer Portal for the organization (change or
   * cancel the subscription, invoices); returns the page to send the owner to. Owners only. Throws
   * {@link OakAuthConflictError} before the organization's first Checkout.
   */
  async billingPortal(): Promise<BillingRedirect> {
    return this.#json('POST', '/v1/admin/billing/portal', { body: {} });
  }

  async #json<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | boolean | undefined>; retry?: RetryPolicy } = {},
  ): Promise<T> {
    // Creating something is not repeated after it may have reached the service.
    const retry: RetryPolicy = options.retry ?? (method === 'POST' ? 'connect-only' : 'always');
    const answer = await this.#http.request(method, path, { body: options.body, query: options.query, retry });
    const body = answer.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OakAuthMalformedResponseError(`OakAuth answered ${method} ${path} with HTTP ${answer.status} and no JSON object`, answer.status, answer.text, answer.requestId);
    }
    return body as T;
  }

  async #list<T>(path: string, key: string, params: PageParams | LogFilters | EventFilters | ApprovalFilters | DeliveryFilters): Promise<T> {
    const query: Record<string, string | number | boolean | undefined> = {};
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new TypeError(`OakAuthAdmin: the ${name} filter must be a string, number or boolean`);
      }
      query[name] = value;
    }
    const page = await this.#json<Record<string, unknown>>('GET', path, { query });
    const next = page.next_cursor;
    if (!Array.isArray(page[key]) || (next !== null && typeof next !== 'string')) {
      throw new OakAuthMalformedResponseError(`OakAuth answered GET ${path} without a {${key}, next_cursor} page`, 200, JSON.stringify(page), undefined);
    }
    return page as T;
  }
}

/** One path segment; ids never contain a slash, but a caller's string must not change the route. */
function seg(id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(`OakAuthAdmin: not an id: ${JSON.stringify(id)}`);
  }
  return encodeURIComponent(id);
}
