use futures_core::Stream;
use reqwest::Method;
use serde::{de::DeserializeOwned, Serialize};

use crate::client::{Builder, FromBuilder};
use crate::error::Error;
use crate::http::{seg, Call, Http, Retry};
use crate::wire::plans::{BillingRedirect, CheckoutRequest, PlanId, PlanList, Usage};
use crate::wire::{
    AdminEvent, AdminEventList, Agent, AgentList, AgentWithKey, Approval, ApprovalDecision, ApprovalList,
    ApprovalStatus, AuditVerification, CreateAgent, CreateRule, CreateTool, CreateWebhook, Delivery, DeliveryList,
    DeliveryStatus, Effect, LogEntry, LogList, Me, ReasonCode, ReplayRequest, ReplayResponse, RotateKey,
    RotateWebhookSecret, Rule, RuleList, SimulateRequest, SimulateResponse, Stats, Tool, ToolList, UpdateAgent,
    UpdateRule, UpdateTool, UpdateWebhook, Webhook, WebhookList, WebhookWithSecret,
};

/// The admin client: every endpoint under `/v1/admin`, with an admin key (`oakadm_…`).
///
/// Every call is scoped to the key's organization; another organization's ids answer
/// [`Error::NotFound`]. Cheap to clone.
///
/// ```no_run
/// use oakauth::{Admin, wire::{CreateAgent, CreateTool, CreateRule, RiskLevel}};
///
/// # async fn run() -> Result<(), oakauth::Error> {
/// let admin = Admin::new(std::env::var("OAKAUTH_ADMIN_KEY").unwrap())?;
/// let created = admin
///     .create_agent(&CreateAgent { name: "support-bot".into(), enabled: None, rate_limit: None })
///     .await?;
/// println!("store this key now, it is shown once: {}", created.api_key);
/// let agent = created.agent.id;
/// admin
///     .create_tool(&agent, &CreateTool {
///         name: "tickets".into(),
///         description: None,
///         scopes: vec!["read".into(), "close".into()],
///         risk_level: RiskLevel::Write,
///         input_schema: None,
///     })
///     .await?;
/// admin.create_rule(&agent, &CreateRule::allow("tickets", "read")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    http: Http,
}

impl FromBuilder for Admin {
    fn from_http(http: Http) -> Self {
        Admin { http }
    }
}

/// One page request of a list endpoint: `limit` 1..=200 (the service's default is 50) and the
/// `next_cursor` of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Page size, 1..=200.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Page {
    fn query(&self) -> Vec<(&'static str, String)> {
        params([("limit", self.limit.map(|l| l.to_string())), ("cursor", self.cursor.clone())])
    }
}

/// The query string of the set parameters.
fn params<const N: usize>(pairs: [(&'static str, Option<String>); N]) -> Vec<(&'static str, String)> {
    pairs.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

/// Filters for the audit log. Unset fields do not filter.
///
/// ```
/// let query = oakauth::LogQuery {
///     tool: Some("database".into()),
///     allowed: Some(false),
///     since: Some("2026-01-01T00:00:00Z".into()),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only this agent's decisions.
    pub agent_id: Option<String>,
    /// Only decisions about this tool (by name).
    pub tool: Option<String>,
    /// Only decisions about this scope.
    pub scope: Option<String>,
    /// Only allows (`true`) or only denies (`false`).
    pub allowed: Option<bool>,
    /// Only decisions with this reason.
    pub reason: Option<ReasonCode>,
    /// `Some(Effect::Deny)`: only decisions that a rule in `shadow` mode would have denied
    /// (`shadow=deny`), to see what enforcing it would change.
    pub shadow: Option<Effect>,
    /// Inclusive lower bound, RFC 3339.
    pub since: Option<String>,
    /// Exclusive upper bound, RFC 3339.
    pub until: Option<String>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl LogQuery {
    fn query(&self) -> Vec<(&'static str, String)> {
        params([
            ("agent_id", self.agent_id.clone()),
            ("tool", self.tool.clone()),
            ("scope", self.scope.clone()),
            ("allowed", self.allowed.map(|a| a.to_string())),
            ("reason", self.reason.map(|r| r.as_str().to_owned())),
            ("shadow", self.shadow.map(|e| e.as_str().to_owned())),
            ("since", self.since.clone()),
            ("until", self.until.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ])
    }
}

/// Filters for the admin events. Unset fields do not filter.
///
/// ```
/// let query = oakauth::EventQuery { agent_id: Some("agt_0123".into()), limit: Some(20), ..Default::default() };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events about this agent (its own changes and those of its keys, tools and rules).
    pub agent_id: Option<String>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl EventQuery {
    fn query(&self) -> Vec<(&'static str, String)> {
        params([
            ("agent_id", self.agent_id.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ])
    }
}

/// Filters for the approvals. Unset fields do not filter.
///
/// ```
/// use oakauth::wire::ApprovalStatus;
///
/// let query = oakauth::ApprovalQuery { status: Some(ApprovalStatus::Pending), ..Default::default() };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalQuery {
    /// Only approvals with this status as of now (a pending approval past its expiry is `expired`).
    pub status: Option<ApprovalStatus>,
    /// Only this agent's approvals.
    pub agent_id: Option<String>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ApprovalQuery {
    fn query(&self) -> Vec<(&'static str, String)> {
        params([
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("agent_id", self.agent_id.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ])
    }
}

/// Filters for a webhook endpoint's delivery log. Unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only deliveries with this status.
    pub status: Option<DeliveryStatus>,
    /// Page size, 1..=200.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl DeliveryQuery {
    fn query(&self) -> Vec<(&'static str, String)> {
        params([
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ])
    }
}

// Whether a call may be sent again after a timeout or a 5xx. Creating something twice is not
// harmless, so creates and rotations are retried only when they never reached the server.
const READ: Retry = Retry::Always;
const WRITE_ONCE: Retry = Retry::OnlyIfUnsent;
const IDEMPOTENT: Retry = Retry::Always;
/// A POST that only computes an answer (simulate, replay): it writes nothing, so it is retried like a read.
const COMPUTE: Retry = Retry::Always;

impl Admin {
    /// An admin client with an admin key (`oakadm_…`) and the default settings (see [`Builder`]):
    /// the base URL comes from `OAKAUTH_BASE_URL`.
    pub fn new(admin_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder(admin_key).build()
    }

    /// A builder for an admin client, to change the base URL, timeout, retries or HTTP client.
    ///
    /// ```
    /// let admin = oakauth::Admin::builder("oakadm_example").base_url("https://oakauth.example.com").build().unwrap();
    ///
    /// // A service on this machine (scripts/dev.sh) speaks plain http: allow it explicitly.
    /// let local = oakauth::Admin::builder("oakadm_example")
    ///     .base_url("http://127.0.0.1:8787")
    ///     .allow_insecure_loopback(true)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn builder(admin_key: impl Into<String>) -> Builder<Admin> {
        Builder::new(admin_key.into())
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: Vec<(&'static str, String)>) -> Result<T, Error> {
        self.http.json(Call::new(Method::GET, path, READ).query(query)).await
    }

    async fn create<T: DeserializeOwned, B: Serialize>(&self, path: String, body: &B) -> Result<T, Error> {
        self.http.json(Call::new(Method::POST, path, WRITE_ONCE).body(body)).await
    }

    async fn update<T: DeserializeOwned, B: Serialize>(&self, path: String, body: &B) -> Result<T, Error> {
        self.http.json(Call::new(Method::PATCH, path, IDEMPOTENT).body(body)).await
    }

    async fn delete(&self, path: String) -> Result<(), Error> {
        self.http.empty(Call::new(Method::DELETE, path, IDEMPOTENT)).await
    }

    /// Every item of a list endpoint from `first_cursor` on, fetched page by page (of the query's
    /// `limit`, else 200) as the stream is read.
    fn every<L: Listed>(
        &self,
        path: String,
        mut query: Vec<(&'static str, String)>,
        first_cursor: Option<String>,
    ) -> impl Stream<Item = Result<L::Item, Error>> + Send + 'static {
        if !query.iter().any(|(k, _)| *k == "limit") {
            query.push(("limit", "200".into()));
        }
        let admin = self.clone();
        paginate(first_cursor, move |cursor| {
            let (admin, path, mut query) = (admin.clone(), path.clone(), query.clone());
            query.extend(cursor.map(|c| ("cursor", c)));
            async move { Ok(admin.get::<L>(&path, query).await?.split()) }
        })
    }

    /// The organization of this admin key (`GET /v1/admin/me`).
    pub async fn me(&self) -> Result<Me, Error> {
        self.get("/v1/admin/me", Vec::new()).await
    }

    // Agents

    /// One page of agents, oldest first.
    pub async fn list_agents(&self, page: &Page) -> Result<AgentList, Error> {
        self.get("/v1/admin/agents", page.query()).await
    }

    /// Every agent, oldest first, fetched page by page as the stream is read.
    pub fn agents(&self) -> impl Stream<Item = Result<Agent, Error>> + Send + 'static {
        self.every::<AgentList>("/v1/admin/agents".into(), Vec::new(), None)
    }

    /// Creates an agent. Its key is in the answer (`api_key`) and never shown again.
    pub async fn create_agent(&self, body: &CreateAgent) -> Result<AgentWithKey, Error> {
        self.create("/v1/admin/agents".into(), body).await
    }

    /// One agent.
    pub async fn get_agent(&self, agent_id: &str) -> Result<Agent, Error> {
        self.get(&agent_path(agent_id, ""), Vec::new()).await
    }

    /// Renames, enables or disables an agent, or changes its rate limit; effective on its next request.
    pub async fn update_agent(&self, agent_id: &str, body: &UpdateAgent) -> Result<Agent, Error> {
        self.update(agent_path(agent_id, ""), body).await
    }

    /// Deletes an agent with its keys, tools and rules; its audit-log rows are kept.
    pub async fn delete_agent(&self, agent_id: &str) -> Result<(), Error> {
        self.delete(agent_path(agent_id, "")).await
    }

    /// Issues a new key for the agent; the previous one keeps working for `overlap_seconds`
    /// (default 300, 0 revokes it at once). The new key is in the answer and never shown again.
    pub async fn rotate_key(&self, agent_id: &str, body: &RotateKey) -> Result<AgentWithKey, Error> {
        self.create(agent_path(agent_id, "/rotate-key"), body).await
    }

    // Audit log and stats

    /// One page of the audit log, newest first. Pass `next_cursor` back as `cursor` for the
    /// next (older) page, or use [`logs`](Self::logs).
    pub async fn list_logs(&self, query: &LogQuery) -> Result<LogList, Error> {
        self.get("/v1/admin/logs", query.query()).await
    }

    /// Every log entry matching `query`, newest first, fetched page by page (of `query.limit`,
    /// default 200) as the stream is read.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    ///
    /// # async fn run(admin: oakauth::Admin) -> Result<(), oakauth::Error> {
    /// let denied: Vec<_> = admin
    ///     .logs(oakauth::LogQuery { allowed: Some(false), ..Default::default() })
    ///     .try_collect()
    ///     .await?;
    /// for entry in denied {
    ///     println!("{} {}:{} {:?}", entry.created_at, entry.tool, entry.scope, entry.reasoning);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn logs(&self, query: LogQuery) -> impl Stream<Item = Result<LogEntry, Error>> + Send + 'static {
        let first = query.cursor.clone();
        self.every::<LogList>("/v1/admin/logs".into(), LogQuery { cursor: None, ..query }.query(), first)
    }

    /// One decision's full record.
    pub async fn get_log(&self, decision_id: &str) -> Result<LogEntry, Error> {
        self.get(&format!("/v1/admin/logs/{}", seg(decision_id)), Vec::new()).await
    }

    // Admin events and audit verification

    /// One page of admin events (who created, changed, enabled, disabled, rotated or deleted
    /// which agent, tool or rule), newest first. Pass `next_cursor` back as `cursor` for the
    /// next (older) page, or use [`events`](Self::events).
    ///
    /// ```no_run
    /// # async fn run(admin: oakauth::Admin) -> Result<(), oakauth::Error> {
    /// let page = admin.list_events(&oakauth::EventQuery { limit: Some(20), ..Default::default() }).await?;
    /// for event in &page.events {
    ///     println!("{} {} {} {}", event.created_at, event.actor, event.action, event.target_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_events(&self, query: &EventQuery) -> Result<AdminEventList, Error> {
        self.get("/v1/admin/events", query.query()).await
    }

    /// Every admin event matching `query`, newest first, fetched page by page (of `query.limit`,
    /// default 200) as the stream is read.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    ///
    /// # async fn run(admin: oakauth::Admin, agent_id: String) -> Result<(), oakauth::Error> {
    /// let history: Vec<_> = admin
    ///     .events(oakauth::EventQuery { agent_id: Some(agent_id), ..Default::default() })
    ///     .try_collect()
    ///     .await?;
    /// for event in history {
    ///     println!("{} {} did {} to {}: {}", event.created_at, event.actor, event.action, event.target_id, event.detail);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self, query: EventQuery) -> impl Stream<Item = Result<AdminEvent, Error>> + Send + 'static {
        let first = query.cursor.clone();
        self.every::<AdminEventList>("/v1/admin/events".into(), EventQuery { cursor: None, ..query }.query(), first)
    }

    /// Verifies the audit log's tamper-evident hash chains: one agent's (`Some(agent_id)`), or
    /// those of every agent of the organization, deleted agents included (`None`: every page of
    /// the service's answer is read, so `next_cursor` of the result is always `None`). Each
    /// agent's result says how many rows were checked and, when its chain is broken, every break
    /// (`breaks`, the first also as `broken`, a [`BrokenLink`](crate::BrokenLink)): the sequence
    /// number, the decision id of the row there (when there is a row) and what is wrong. `ok` is
    /// false when any chain is broken. An unknown agent is [`Error::NotFound`].
    ///
    /// ```no_run
    /// # async fn run(admin: oakauth::Admin) -> Result<(), oakauth::Error> {
    /// let report = admin.verify_audit(None).await?;
    /// for agent in &report.agents {
    ///     match &agent.broken {
    ///         None => println!("{}: intact, {} rows", agent.agent_id, agent.rows_checked),
    ///         Some(link) => println!(
    ///             "{}: broken at row {} ({}): {}",
    ///             agent.agent_id,
    ///             link.chain_seq,
    ///             link.decision_id.as_deref().unwrap_or("no row"),
    ///             link.problem
    ///         ),
    ///     }
    /// }
    /// assert_eq!(report.ok, report.agents.iter().all(|a| a.ok));
    /// # Ok(()) }
    /// ```
    pub async fn verify_audit(&self, agent_id: Option<&str>) -> Result<AuditVerification, Error> {
        if let Some(a) = agent_id {
            return self.get("/v1/admin/audit/verify", vec![("agent_id", a.to_owned())]).await;
        }
        let mut agents = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = cursor.map(|c| ("cursor", c)).into_iter().collect();
            let page: AuditVerification = self.get("/v1/admin/audit/verify", q).await?;
            agents.extend(page.agents);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        Ok(AuditVerification { ok: agents.iter().all(|a| a.ok), agents, next_cursor: None })
    }

    // Approvals

    /// One page of approvals, newest first, each with the call it is for (tool, scope, redacted
    /// arguments, reasoning, agent). Pass `next_cursor` back as `cursor` for the next page, or use
    /// [`approvals`](Self::approvals).
    pub async fn list_approvals(&self, query: &ApprovalQuery) -> Result<ApprovalList, Error> {
        self.get("/v1/admin/approvals", query.query()).await
    }

    /// Every approval matching `query`, newest first, fetched page by page as the stream is read.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use oakauth::wire::ApprovalStatus;
    ///
    /// # async fn run(admin: oakauth::Admin) -> Result<(), oakauth::Error> {
    /// let pending: Vec<_> = admin
    ///     .approvals(oakauth::ApprovalQuery { status: Some(ApprovalStatus::Pending), ..Default::default() })
    ///     .try_collect()
    ///     .await?;
    /// for a in pending {
    ///     println!("{} {}:{} {:?} asked by {} until {}", a.id, a.tool, a.scope, a.arguments, a.agent_id, a.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn approvals(&self, query: ApprovalQuery) -> impl Stream<Item = Result<Approval, Error>> + Send + 'static {
        let first = query.cursor.clone();
        self.every::<ApprovalList>("/v1/admin/approvals".into(), ApprovalQuery { cursor: None, ..query }.query(), first)
    }

    /// One approval, with the call it is for.
    pub async fn get_approval(&self, approval_id: &str) -> Result<Approval, Error> {
        self.get(&approval_path(approval_id, ""), Vec::new()).await
    }

    /// Approves or denies a pending approval, with an optional comment the agent sees. Who
    /// decided (the admin key's prefix) is recorded in the approval and the admin events. An
    /// approval that is no longer pending is [`Error::Conflict`]. Not retried once it may have
    /// reached the service.
    ///
    /// ```no_run
    /// use oakauth::wire::{ApprovalDecision, Decision};
    ///
    /// # async fn run(admin: oakauth::Admin, approval_id: &str) -> Result<(), oakauth::Error> {
    /// let decided = admin
    ///     .decide_approval(approval_id, &ApprovalDecision { decision: Decision::Deny, comment: Some("not this month".into()) })
    ///     .await?;
    /// assert_eq!(decided.status.as_str(), "denied");
    /// # Ok(()) }
    /// ```
    pub async fn decide_approval(&self, approval_id: &str, body: &ApprovalDecision) -> Result<Approval, Error> {
        self.create(approval_path(approval_id, "/decision"), body).await
    }

    // Webhooks

    /// One page of webhook endpoints, oldest first.
    pub async fn list_webhooks(&self, page: &Page) -> Result<WebhookList, Error> {
        self.get("/v1/admin/webhooks", page.query()).await
    }

    /// Every webhook endpoint, oldest first, fetched page by page as the stream is read.
    pub fn webhooks(&self) -> impl Stream<Item = Result<Webhook, Error>> + Send + 'static {
        self.every::<WebhookList>("/v1/admin/webhooks".into(), Vec::new(), None)
    }

    /// Registers an endpoint for some event types. Its signing secret (`whsec_…`) is in the
    /// answer and never shown again. The URL must be `https` and public (see `docs/openapi.yaml`).
    pub async fn create_webhook(&self, body: &CreateWebhook) -> Result<WebhookWithSecret, Error> {
        self.create("/v1/admin/webhooks".into(), body).await
    }

    /// One endpoint (never its secret).
    pub async fn get_webhook(&self, webhook_id: &str) -> Result<Webhook, Error> {
        self.get(&webhook_path(webhook_id, ""), Vec::new()).await
    }

    /// Changes an endpoint's URL, event types or description, or enables or disables it
    /// (enabling one that a `410 Gone` disabled clears `disabled_reason`).
    pub async fn update_webhook(&self, webhook_id: &str, body: &UpdateWebhook) -> Result<Webhook, Error> {
        self.update(webhook_path(webhook_id, ""), body).await
    }

    /// Deletes an endpoint and its delivery log; nothing more is sent to it.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<(), Error> {
        self.delete(webhook_path(webhook_id, "")).await
    }

    /// Gives the endpoint a new secret, in the answer only; the previous one keeps signing too
    /// for `overlap_seconds` (default 86400), so every delivery then carries both signatures.
    pub async fn rotate_webhook_secret(
        &self,
        webhook_id: &str,
        body: &RotateWebhookSecret,
    ) -> Result<WebhookWithSecret, Error> {
        self.create(webhook_path(webhook_id, "/rotate-secret"), body).await
    }

    /// One page of the endpoint's delivery log, newest first: each message's status, attempts,
    /// last response code or error, and payload.
    pub async fn list_deliveries(&self, webhook_id: &str, query: &DeliveryQuery) -> Result<DeliveryList, Error> {
        self.get(&webhook_path(webhook_id, "/deliveries"), query.query()).await
    }

    /// Every delivery of the endpoint matching `query`, newest first, fetched page by page as
    /// the stream is read.
    pub fn deliveries(
        &self,
        webhook_id: &str,
        query: DeliveryQuery,
    ) -> impl Stream<Item = Result<Delivery, Error>> + Send + 'static {
        let first = query.cursor.clone();
        let query = DeliveryQuery { cursor: None, ..query }.query();
        self.every::<DeliveryList>(webhook_path(webhook_id, "/deliveries"), query, first)
    }

    /// Sends a message again, now, with a fresh series of attempts (the same `webhook-id`, so
    /// receivers can tell). A disabled endpoint is [`Error::Conflict`]: enable it first.
    pub async fn redeliver(&self, webhook_id: &str, delivery_id: &str) -> Result<Delivery, Error> {
        let path = webhook_path(webhook_id, &format!("/deliveries/{}/redeliver", seg(delivery_id)));
        self.http.json(Call::new(Method::POST, path, WRITE_ONCE)).await
    }

    // Simulation

    /// Decides a call as `/v1/validate` would, with the agent's saved rules or with draft rules
    /// (`rules`), and says what every rule of the call's tool and scope did (`trace`). Nothing is
    /// counted against the rate limit or written to the audit log.
    ///
    /// ```no_run
    /// use oakauth::wire::{Condition, DraftRule, Operator, SimulateRequest};
    /// use oakauth::ValidateRequest;
    /// use serde_json::json;
    ///
    /// # async fn run(admin: oakauth::Admin, agent_id: String) -> Result<(), oakauth::Error> {
    /// let arguments = json!({"amount": 900}).as_object().cloned().unwrap();
    /// let answer = admin
    ///     .simulate(&SimulateRequest {
    ///         agent_id,
    ///         request: ValidateRequest::new("payments", "send").with_arguments(arguments),
    ///         rules: Some(vec![DraftRule {
    ///             id: None,
    ///             tool: "payments".into(),
    ///             scope: "send".into(),
    ///             effect: None,
    ///             require_reasoning: None,
    ///             conditions: Some(vec![Condition::test("/amount", Operator::Lt, json!(500))]),
    ///             mode: None,
    ///         }]),
    ///         client_ip: None,
    ///         at: None,
    ///     })
    ///     .await?;
    /// println!("{} {}", answer.reason.as_str(), answer.explanation.map(|e| e.message).unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn simulate(&self, body: &SimulateRequest) -> Result<SimulateResponse, Error> {
        self.http.json(Call::new(Method::POST, "/v1/admin/simulate", COMPUTE).body(body)).await
    }

    /// Decides the agent's latest audited calls (`limit`, default 100) again with a draft rule set
    /// in place of its saved rules, and lists the calls whose decision would change. Nothing is
    /// written.
    pub async fn replay(&self, body: &ReplayRequest) -> Result<ReplayResponse, Error> {
        self.http.json(Call::new(Method::POST, "/v1/admin/simulate/replay", COMPUTE).body(body)).await
    }

    /// Counts over `[since, until)` (RFC 3339; defaults: today's midnight UTC, and now).
    pub async fn stats(&self, since: Option<&str>, until: Option<&str>) -> Result<Stats, Error> {
        let mut q = Vec::new();
        if let Some(s) = since {
            q.push(("since", s.to_owned()));
        }
        if let Some(u) = until {
            q.push(("until", u.to_owned()));
        }
        self.get("/v1/admin/stats", q).await
    }

    // Plans, usage and billing

    /// Every plan and its limits (`None`: unlimited), cheapest first (`GET /v1/plans`, public).
    pub async fn plans(&self) -> Result<PlanList, Error> {
        self.get("/v1/plans", Vec::new()).await
    }

    /// The plan in force, the billing status and this calendar month's use of each limit, with
    /// validations by day and by agent (`GET /v1/admin/usage`, any role).
    pub async fn usage(&self) -> Result<Usage, Error> {
        self.get("/v1/admin/usage", Vec::new()).await
    }

    /// Starts a subscription to `plan` ([`PlanId::Pro`]) with Stripe Checkout and returns the page
    /// to send the owner to (`POST /v1/admin/billing/checkout`, owners only). Without Stripe on
    /// the deployment: [`Error::NotFound`] with code `billing_not_configured`; an organization that
    /// already subscribes: [`Error::Conflict`] (use [`billing_portal`](Self::billing_portal)).
    pub async fn billing_checkout(&self, plan: PlanId) -> Result<BillingRedirect, Error> {
        self.create("/v1/admin/billing/checkout".into(), &CheckoutRequest { plan }).await
    }

    /// Stripe's Customer Portal for the organization: change or cancel the subscription
    /// (`POST /v1/admin/billing/portal`, owners only). [`Error::Conflict`] before the first
    /// Checkout.
    pub async fn billing_portal(&self) -> Result<BillingRedirect, Error> {
        self.create("/v1/admin/billing/portal".into(), &serde_json::json!({})).await
    }
}

/// `/v1/admin/agents/{agent_id}` followed by `rest`.
fn agent_path(agent_id: &str, rest: &str) -> String {
    format!("/v1/admin/agents/{}{rest}", seg(agent_id))
}

/// `/v1/admin/approvals/{approval_id}` followed by `rest`.
fn approval_path(approval_id: &str, rest: &str) -> String {
    format!("/v1/admin/approvals/{}{rest}", seg(approval_id))
}

/// `/v1/admin/webhooks/{webhook_id}` followed by `rest`.
fn webhook_path(webhook_id: &str, rest: &str) -> String {
    format!("/v1/admin/webhooks/{}{rest}", seg(webhook_id))
}

/// The six methods of a kind of thing that belongs to an agent (its tools, its rules), written
/// once: list a page, stream them all, create, get, update, delete. `$what` is the path segment
/// and the plural in the docs; the last three arguments document create, update and delete.
macro_rules! agent_children {
    ($what:literal: $item:ty, $list:ty, $create:ty, $update:ty,
     [$list_fn:ident, $all_fn:ident, $create_fn:ident, $get_fn:ident, $update_fn:ident, $delete_fn:ident],
     [$create_doc:literal, $update_doc:literal, $delete_doc:literal]) => {
        impl Admin {
            #[doc = concat!("One page of the agent's ", $what, ", oldest first.")]
            pub async fn $list_fn(&self, agent_id: &str, page: &Page) -> Result<$list, Error> {
                self.get(&agent_path(agent_id, concat!("/", $what)), page.query()).await
            }

            #[doc = concat!("Every one of the agent's ", $what, ", fetched page by page as the stream is read.")]
            pub fn $all_fn(&self, agent_id: &str) -> impl Stream<Item = Result<$item, Error>> + Send + 'static {
                self.every::<$list>(agent_path(agent_id, concat!("/", $what)), Vec::new(), None)
            }

            #[doc = $create_doc]
            pub async fn $create_fn(&self, agent_id: &str, body: &$create) -> Result<$item, Error> {
                self.create(agent_path(agent_id, concat!("/", $what)), body).await
            }

            #[doc = concat!("One of the agent's ", $what, ", by id.")]
            pub async fn $get_fn(&self, agent_id: &str, id: &str) -> Result<$item, Error> {
                self.get(&agent_path(agent_id, &format!(concat!("/", $what, "/{}"), seg(id))), Vec::new()).await
            }

            #[doc = $update_doc]
            pub async fn $update_fn(&self, agent_id: &str, id: &str, body: &$update) -> Result<$item, Error> {
                self.update(agent_path(agent_id, &format!(concat!("/", $what, "/{}"), seg(id))), body).await
            }

            #[doc = $delete_doc]
            pub async fn $delete_fn(&self, agent_id: &str, id: &str) -> Result<(), Error> {
                self.delete(agent_path(agent_id, &format!(concat!("/", $what, "/{}"), seg(id)))).await
            }
        }
    };
}

agent_children!("tools": Tool, ToolList, CreateTool, UpdateTool,
    [list_tools, tools, create_tool, get_tool, update_tool, delete_tool],
    ["Registers a tool for the agent, with its scopes and risk level.",
     "Changes a tool. Replacing `scopes` deletes the rules of scopes no longer listed.", "Deletes a tool and its rules."]);
agent_children!("rules": Rule, RuleList, CreateRule, UpdateRule,
    [list_rules, rules, create_rule, get_rule, update_rule, delete_rule],
    ["Adds a rule for one of the agent's tools (by name) and scopes: an allow (the default) or a deny, \
      with optional conditions on the call's arguments, in `enforce` or `shadow` mode.",
     "Changes a rule: its effect, reasoning requirement, conditions (replaced as a whole), mode or description.",
     "Deletes a rule; from the next request on, the scope is decided by the rules left."]);

/// A page of a list endpoint: its items and the cursor of the next page.
trait Listed: DeserializeOwned + Send + 'static {
    type Item: Send + 'static;
    fn split(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! listed {
    ($($list:ty => $field:ident: $item:ty),* $(,)?) => {$(
        impl Listed for $list {
            type Item = $item;
            fn split(self) -> (Vec<$item>, Option<String>) { (self.$field, self.next_cursor) }
        }
    )*};
}

listed!(AgentList => agents: Agent, ToolList => tools: Tool, RuleList => rules: Rule, LogList => logs: LogEntry,
    AdminEventList => events: AdminEvent, ApprovalList => approvals: Approval, WebhookList => webhooks: Webhook,
    DeliveryList => deliveries: Delivery);

/// Turns "fetch the page after this cursor" into a stream of items that stops after the page
/// without a `next_cursor`, or after the first error.
fn paginate<T, F, Fut>(
    first_cursor: Option<String>,
    mut fetch: F,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), Error>> + Send + 'static,
{
    enum State {
        Next(Option<String>),
        Done,
    }
    let pages = futures_util::stream::unfold(State::Next(first_cursor), move |state| {
        let next = match state {
            State::Next(cursor) => Some(fetch(cursor)),
            State::Done => None,
        };
        async move {
            match next?.await {
                Ok((items, Some(cursor))) => Some((Ok(items), State::Next(Some(cursor)))),
                Ok((items, None)) => Some((Ok(items), State::Done)),
                Err(e) => Some((Err(e), State::Done)),
            }
        }
    });
    use futures_util::StreamExt;
    pages.flat_map(|page| {
        let items: Vec<Result<T, Error>> = match page {
            Ok(items) => items.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(items)
    })
}
