use futures_core::Stream;
use reqwest::Method;

use crate::client::{Builder, FromBuilder};
use crate::error::Error;
use crate::http::{seg, Http, Retry};
use crate::wire::{
    AdminEvent, AdminEventList, Agent, AgentList, AgentWithKey, AuditVerification, CreateAgent, CreateRule, CreateTool,
    LogEntry, LogList, Me, ReasonCode, RotateKey, Rule, RuleList, Stats, Tool, ToolList, UpdateAgent, UpdateRule,
    UpdateTool,
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
///     })
///     .await?;
/// admin
///     .create_rule(&agent, &CreateRule { tool: "tickets".into(), scope: "read".into(), require_reasoning: None })
///     .await?;
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
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            q.push(("cursor", cursor.clone()));
        }
        q
    }
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
        let mut q = Vec::new();
        let mut put = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        };
        put("agent_id", &self.agent_id);
        put("tool", &self.tool);
        put("scope", &self.scope);
        put("since", &self.since);
        put("until", &self.until);
        put("cursor", &self.cursor);
        if let Some(allowed) = self.allowed {
            q.push(("allowed", allowed.to_string()));
        }
        if let Some(reason) = self.reason {
            q.push(("reason", reason.as_str().to_owned()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        q
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
        let mut q = Vec::new();
        if let Some(agent_id) = &self.agent_id {
            q.push(("agent_id", agent_id.clone()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            q.push(("cursor", cursor.clone()));
        }
        q
    }
}

// Whether a call may be sent again after a timeout or a 5xx. Creating something twice is not
// harmless, so creates and rotations are retried only when they never reached the server.
const READ: Retry = Retry::Always;
const WRITE_ONCE: Retry = Retry::OnlyIfUnsent;
const IDEMPOTENT: Retry = Retry::Always;

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

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, Error> {
        self.http.json(Method::GET, path, query, None::<&()>, READ).await
    }

    /// The organization of this admin key (`GET /v1/admin/me`).
    pub async fn me(&self) -> Result<Me, Error> {
        self.get("/v1/admin/me", &[]).await
    }

    // Agents

    /// One page of agents, oldest first.
    pub async fn list_agents(&self, page: &Page) -> Result<AgentList, Error> {
        self.get("/v1/admin/agents", &page.query()).await
    }

    /// Every agent, oldest first, fetched page by page as the stream is read.
    pub fn agents(&self) -> impl Stream<Item = Result<Agent, Error>> + Send + 'static {
        let admin = self.clone();
        paginate(None, move |cursor| {
            let admin = admin.clone();
            async move {
                let list = admin.list_agents(&Page { limit: Some(200), cursor }).await?;
                Ok((list.agents, list.next_cursor))
            }
        })
    }

    /// Creates an agent. Its key is in the answer (`api_key`) and never shown again.
    pub async fn create_agent(&self, body: &CreateAgent) -> Result<AgentWithKey, Error> {
        self.http.json(Method::POST, "/v1/admin/agents", &[], Some(body), WRITE_ONCE).await
    }

    /// One agent.
    pub async fn get_agent(&self, agent_id: &str) -> Result<Agent, Error> {
        self.get(&format!("/v1/admin/agents/{}", seg(agent_id)), &[]).await
    }

    /// Renames, enables or disables an agent, or changes its rate limit; effective on its next request.
    pub async fn update_agent(&self, agent_id: &str, body: &UpdateAgent) -> Result<Agent, Error> {
        let path = format!("/v1/admin/agents/{}", seg(agent_id));
        self.http.json(Method::PATCH, &path, &[], Some(body), IDEMPOTENT).await
    }

    /// Deletes an agent with its keys, tools and rules; its audit-log rows are kept.
    pub async fn delete_agent(&self, agent_id: &str) -> Result<(), Error> {
        let path = format!("/v1/admin/agents/{}", seg(agent_id));
        self.http.empty(Method::DELETE, &path, None::<&()>, IDEMPOTENT).await
    }

    /// Issues a new key for the agent; the previous one keeps working for `overlap_seconds`
    /// (default 300, 0 revokes it at once). The new key is in the answer and never shown again.
    pub async fn rotate_key(&self, agent_id: &str, body: &RotateKey) -> Result<AgentWithKey, Error> {
        let path = format!("/v1/admin/agents/{}/rotate-key", seg(agent_id));
        self.http.json(Method::POST, &path, &[], Some(body), WRITE_ONCE).await
    }

    // Tools

    /// One page of the agent's tools, oldest first.
    pub async fn list_tools(&self, agent_id: &str, page: &Page) -> Result<ToolList, Error> {
        self.get(&format!("/v1/admin/agents/{}/tools", seg(agent_id)), &page.query()).await
    }

    /// Every tool of the agent, fetched page by page as the stream is read.
    pub fn tools(&self, agent_id: &str) -> impl Stream<Item = Result<Tool, Error>> + Send + 'static {
        let admin = self.clone();
        let agent_id = agent_id.to_owned();
        paginate(None, move |cursor| {
            let (admin, agent_id) = (admin.clone(), agent_id.clone());
            async move {
                let list = admin.list_tools(&agent_id, &Page { limit: Some(200), cursor }).await?;
                Ok((list.tools, list.next_cursor))
            }
        })
    }

    /// Registers a tool for the agent, with its scopes and risk level.
    pub async fn create_tool(&self, agent_id: &str, body: &CreateTool) -> Result<Tool, Error> {
        let path = format!("/v1/admin/agents/{}/tools", seg(agent_id));
        self.http.json(Method::POST, &path, &[], Some(body), WRITE_ONCE).await
    }

    /// One tool of the agent.
    pub async fn get_tool(&self, agent_id: &str, tool_id: &str) -> Result<Tool, Error> {
        self.get(&format!("/v1/admin/agents/{}/tools/{}", seg(agent_id), seg(tool_id)), &[]).await
    }

    /// Changes a tool. Replacing `scopes` deletes the rules of scopes no longer listed.
    pub async fn update_tool(&self, agent_id: &str, tool_id: &str, body: &UpdateTool) -> Result<Tool, Error> {
        let path = format!("/v1/admin/agents/{}/tools/{}", seg(agent_id), seg(tool_id));
        self.http.json(Method::PATCH, &path, &[], Some(body), IDEMPOTENT).await
    }

    /// Deletes a tool and its rules.
    pub async fn delete_tool(&self, agent_id: &str, tool_id: &str) -> Result<(), Error> {
        let path = format!("/v1/admin/agents/{}/tools/{}", seg(agent_id), seg(tool_id));
        self.http.empty(Method::DELETE, &path, None::<&()>, IDEMPOTENT).await
    }

    // Rules

    /// One page of the agent's rules, oldest first.
    pub async fn list_rules(&self, agent_id: &str, page: &Page) -> Result<RuleList, Error> {
        self.get(&format!("/v1/admin/agents/{}/rules", seg(agent_id)), &page.query()).await
    }

    /// Every rule of the agent, fetched page by page as the stream is read.
    pub fn rules(&self, agent_id: &str) -> impl Stream<Item = Result<Rule, Error>> + Send + 'static {
        let admin = self.clone();
        let agent_id = agent_id.to_owned();
        paginate(None, move |cursor| {
            let (admin, agent_id) = (admin.clone(), agent_id.clone());
            async move {
                let list = admin.list_rules(&agent_id, &Page { limit: Some(200), cursor }).await?;
                Ok((list.rules, list.next_cursor))
            }
        })
    }

    /// Grants the agent a scope of one of its tools (named by the tool's name).
    pub async fn create_rule(&self, agent_id: &str, body: &CreateRule) -> Result<Rule, Error> {
        let path = format!("/v1/admin/agents/{}/rules", seg(agent_id));
        self.http.json(Method::POST, &path, &[], Some(body), WRITE_ONCE).await
    }

    /// One rule of the agent.
    pub async fn get_rule(&self, agent_id: &str, rule_id: &str) -> Result<Rule, Error> {
        self.get(&format!("/v1/admin/agents/{}/rules/{}", seg(agent_id), seg(rule_id)), &[]).await
    }

    /// Changes a rule's reasoning requirement.
    pub async fn update_rule(&self, agent_id: &str, rule_id: &str, body: &UpdateRule) -> Result<Rule, Error> {
        let path = format!("/v1/admin/agents/{}/rules/{}", seg(agent_id), seg(rule_id));
        self.http.json(Method::PATCH, &path, &[], Some(body), IDEMPOTENT).await
    }

    /// Deletes a rule; the scope is denied from the next request on.
    pub async fn delete_rule(&self, agent_id: &str, rule_id: &str) -> Result<(), Error> {
        let path = format!("/v1/admin/agents/{}/rules/{}", seg(agent_id), seg(rule_id));
        self.http.empty(Method::DELETE, &path, None::<&()>, IDEMPOTENT).await
    }

    // Audit log and stats

    /// One page of the audit log, newest first. Pass `next_cursor` back as `cursor` for the
    /// next (older) page, or use [`logs`](Self::logs).
    pub async fn list_logs(&self, query: &LogQuery) -> Result<LogList, Error> {
        self.get("/v1/admin/logs", &query.query()).await
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
        let admin = self.clone();
        let first_cursor = query.cursor.clone();
        paginate(first_cursor, move |cursor| {
            let admin = admin.clone();
            let mut query = query.clone();
            query.limit = query.limit.or(Some(200));
            query.cursor = cursor;
            async move {
                let list = admin.list_logs(&query).await?;
                Ok((list.logs, list.next_cursor))
            }
        })
    }

    /// One decision's full record.
    pub async fn get_log(&self, decision_id: &str) -> Result<LogEntry, Error> {
        self.get(&format!("/v1/admin/logs/{}", seg(decision_id)), &[]).await
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
        self.get("/v1/admin/events", &query.query()).await
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
        let admin = self.clone();
        let first_cursor = query.cursor.clone();
        paginate(first_cursor, move |cursor| {
            let admin = admin.clone();
            let mut query = query.clone();
            query.limit = query.limit.or(Some(200));
            query.cursor = cursor;
            async move {
                let list = admin.list_events(&query).await?;
                Ok((list.events, list.next_cursor))
            }
        })
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
            return self.get("/v1/admin/audit/verify", &[("agent_id", a.to_owned())]).await;
        }
        let mut agents = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q: Vec<(&str, String)> = cursor.map(|c| ("cursor", c)).into_iter().collect();
            let page: AuditVerification = self.get("/v1/admin/audit/verify", &q).await?;
            agents.extend(page.agents);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        Ok(AuditVerification { ok: agents.iter().all(|a| a.ok), agents, next_cursor: None })
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
        self.get("/v1/admin/stats", &q).await
    }
}

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
