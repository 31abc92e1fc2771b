//! The admin API: everything under `/v1/admin/`, authenticated by an admin key or a person's
//! session and scoped to that organization. Another organization's ids answer 404, exactly like
//! ids that do not exist. Every route has a minimum role ([`required_role`]), checked before it
//! runs; cookie-authenticated writes also pass the CSRF check.

mod agents;
pub use agents::notify_system_change;
mod approvals;
mod audit;
mod logs;
mod people;
mod rules;
mod simulate;
mod stats;
mod tools;
mod usage;
mod webhooks;

use oakauth_core::accounts::Role;
use oakauth_core::wire::accounts::ActorKind;
use oakauth_core::wire::{AdminAction, Me, Organization};
use std::rc::Rc;

use worker::{Context, D1Database, Env, Method, Request, Response};

use crate::auth::{self, AdminContext};
use crate::db;
use crate::http::{json_response, query_param, ApiError, ApiResult};

pub struct Admin {
    pub ctx: AdminContext,
    pub db: D1Database,
    pub request_id: String,
    pub env: Env,
    /// Keeps background work (propagation retries) running after the answer.
    pub background: Rc<Context>,
}

/// Waits before each inline try to tell an agent's object about a change, and then before each
/// background retry.
const NOTIFY_INLINE_DELAYS_MS: [u64; 3] = [0, 20, 100];
const NOTIFY_BACKGROUND_DELAYS_MS: [u64; 5] = [250, 500, 1_000, 2_000, 4_000];

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await;
    }
}

/// Tells the agent's object that its configuration changed in D1, so the next decision reloads
/// it ([`Admin::changed`]; billing calls it after a plan change). Never fails: the notice is tried
/// three times inline, then retried in the background for about 8 s; the object's cache expires
/// after [`crate::agent_object::CONFIG_TTL_MS`] in any case.
pub async fn tell_agent(env: &Env, background: &Rc<Context>, agent_id: &str) {
    for delay in NOTIFY_INLINE_DELAYS_MS {
        sleep_ms(delay).await;
        if crate::agent_object::invalidate(env, agent_id).await.is_ok() {
            return;
        }
    }
    worker::console_error!(
        "change to agent {agent_id} committed; telling its object failed, retrying in the background"
    );
    let (env, agent_id) = (env.clone(), agent_id.to_string());
    background.wait_until(async move {
        for delay in NOTIFY_BACKGROUND_DELAYS_MS {
            sleep_ms(delay).await;
            if crate::agent_object::invalidate(&env, &agent_id).await.is_ok() {
                return;
            }
        }
        worker::console_error!("agent {agent_id}: change not propagated; its cached configuration expires within 60 s");
    });
}

impl Admin {
    /// Tells the agent's object that its configuration changed in D1, so the next decision
    /// reloads it. Called after every committed change to an agent, its keys, tools or rules.
    ///
    /// The change is committed whatever happens here, so it never turns into an error answer
    /// (which would hide a newly issued key, or make an admin retry a change that took effect):
    /// see [`tell_agent`].
    pub async fn changed(&self, agent_id: &str) {
        tell_agent(&self.env, &self.background, agent_id).await;
    }

    /// Commits a change to an agent (its statements and their admin event, atomically), then
    /// tells the agent's object.
    pub async fn commit(&self, agent_id: &str, statements: Vec<worker::D1PreparedStatement>) -> ApiResult<()> {
        db::batch(&self.db, statements).await?;
        self.changed(agent_id).await;
        Ok(())
    }

    /// Sends a webhook event of this organization (never fails the request).
    pub async fn notify(&self, event: oakauth_core::webhook::EventType, data: serde_json::Value) {
        crate::webhooks::emit(&self.env, &self.ctx.org_id, event, data, now_ms()).await;
    }

    /// [`Admin::event`], written only if `exists` (`(sql, id, at)`: a `SELECT` whose `?10`,
    /// `?11`, `?12` are bound to `id`, `at` and the actor's label, [`AdminContext::actor_label`]) finds a row when the
    /// batch runs: for changes that may lose a race, so that only the winner's event is kept.
    pub fn event_if(
        &self,
        action: AdminAction,
        agent_id: Option<&str>,
        target_id: &str,
        detail: serde_json::Value,
        exists: (&str, &str, i64),
    ) -> ApiResult<worker::D1PreparedStatement> {
        self.event_statement(action, agent_id, target_id, detail, Some(exists))
    }

    /// The statement that records an admin action; run it in the same batch as the change so
    /// the change and its record land together or not at all.
    pub fn event(
        &self,
        action: AdminAction,
        agent_id: Option<&str>,
        target_id: &str,
        detail: serde_json::Value,
    ) -> ApiResult<worker::D1PreparedStatement> {
        self.event_statement(action, agent_id, target_id, detail, None)
    }

    fn event_statement(
        &self,
        action: AdminAction,
        agent_id: Option<&str>,
        target_id: &str,
        detail: serde_json::Value,
        exists: Option<(&str, &str, i64)>,
    ) -> ApiResult<worker::D1PreparedStatement> {
        let actor = EventActor {
            label: self.ctx.actor_label(),
            kind: self.ctx.actor.kind,
            id: Some(&self.ctx.actor.id),
            name: Some(&self.ctx.actor.name),
        };
        let event =
            EventRecord { org_id: &self.ctx.org_id, request_id: &self.request_id, actor, action, agent_id, target_id };
        event_insert(&self.db, &event, detail, exists)
    }
}

/// Who an admin event names: `label` goes to `admin_events.actor` (a key's prefix, a person's
/// address, or the part of OakAuth that acted).
pub struct EventActor<'a> {
    pub label: &'a str,
    pub kind: ActorKind,
    pub id: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// One admin event, apart from its detail.
pub struct EventRecord<'a> {
    pub org_id: &'a str,
    pub request_id: &'a str,
    pub actor: EventActor<'a>,
    pub action: AdminAction,
    pub agent_id: Option<&'a str>,
    pub target_id: &'a str,
}

/// The statement that records an admin event done by OakAuth itself (actor type `system`,
/// `actor` and `actor_name` both `system`, e.g. `billing`), written only if `exists` finds a row
/// (as in [`Admin::event_if`]).
pub fn system_event(
    db: &D1Database,
    (org_id, request_id, system): (&str, &str, &str),
    (action, agent_id, target_id): (AdminAction, Option<&str>, &str),
    detail: serde_json::Value,
    exists: Option<(&str, &str, i64)>,
) -> ApiResult<worker::D1PreparedStatement> {
    let actor = EventActor { label: system, kind: ActorKind::System, id: None, name: Some(system) };
    event_insert(db, &EventRecord { org_id, request_id, actor, action, agent_id, target_id }, detail, exists)
}

/// The one `INSERT INTO admin_events`; see [`Admin::event_if`] for `exists`.
fn event_insert(
    db: &D1Database,
    event: &EventRecord<'_>,
    detail: serde_json::Value,
    exists: Option<(&str, &str, i64)>,
) -> ApiResult<worker::D1PreparedStatement> {
    let id = oakauth_core::ids::new_id("evt")?;
    let detail = detail.to_string();
    let mut sql =
        "INSERT INTO admin_events (id, org_id, request_id, actor, action, agent_id, target_id, detail, created_at,
                                       actor_type, actor_id, actor_name)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?13, ?14, ?15"
            .to_string();
    let mut args = vec![
        db::Arg::from(&id),
        db::Arg::from(event.org_id),
        db::Arg::from(event.request_id),
        db::Arg::from(event.actor.label),
        db::Arg::from(event.action.as_str()),
        db::Arg::from(event.agent_id),
        db::Arg::from(event.target_id),
        db::Arg::from(&detail),
        db::Arg::Int(now_ms()),
    ];
    let (subject, at) = exists.map(|(_, subject, at)| (subject, at)).unwrap_or(("", 0));
    args.extend([db::Arg::from(subject), db::Arg::Int(at), db::Arg::from(event.actor.label)]);
    let actor_type = match event.actor.kind {
        ActorKind::Key => "key",
        ActorKind::User => "user",
        ActorKind::System => "system",
    };
    args.extend([db::Arg::from(actor_type), db::Arg::from(event.actor.id), db::Arg::from(event.actor.name)]);
    if let Some((condition, _, _)) = exists {
        sql.push_str(&format!(" WHERE EXISTS ({condition})"));
    }
    db::stmt(db, &sql, &args)
}

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// The `cursor` query parameter: the `seq` of the last row of the previous page.
fn cursor_param(url: &worker::Url) -> ApiResult<Option<i64>> {
    match query_param(url, "cursor")? {
        None => Ok(None),
        Some(c) => match c.parse::<i64>() {
            Ok(n) if n >= 0 && c.len() <= 16 => Ok(Some(n)),
            _ => Err(ApiError::invalid_request("cursor is not a cursor this API returned")),
        },
    }
}

/// The one row `sql` finds for `id`, an id of ours with `prefix` (checked before any query), or
/// 404 "no such `what`".
async fn find_one<T: serde::de::DeserializeOwned>(
    admin: &Admin,
    (prefix, what): (&str, &str),
    id: &str,
    sql: &str,
    args: &[db::Arg<'_>],
) -> ApiResult<T> {
    let missing = || ApiError::not_found(format!("no such {what}"));
    if !oakauth_core::ids::is_id(prefix, id) {
        return Err(missing());
    }
    db::first::<T>(&admin.db, sql, args).await?.ok_or_else(missing)
}

/// One page of a list ordered by `seq_column`, after the request's `cursor`, of its `limit`
/// rows: `select` is a `SELECT … WHERE …` whose arguments are `args` (`?1`…); the page bounds
/// are added here. Returns the rows and the next page's cursor.
async fn page<T: serde::de::DeserializeOwned>(
    admin: &Admin,
    req: &Request,
    select: &str,
    seq_column: &str,
    mut args: Vec<db::Arg<'_>>,
    seq: impl Fn(&T) -> i64,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let url = req.url()?;
    let limit = oakauth_core::limits::page_size(query_param(&url, "limit")?.as_deref())?;
    let after = cursor_param(&url)?.unwrap_or(0);
    let n = args.len();
    let sql = format!("{select} AND {seq_column} > ?{} ORDER BY {seq_column} LIMIT ?{}", n + 1, n + 2);
    args.push(db::Arg::Int(after));
    args.push(db::Arg::Int(limit as i64 + 1));
    let rows: Vec<T> = db::all(&admin.db, &sql, &args).await?;
    Ok(next_cursor(rows, limit, seq))
}

/// One page of an agent's tools or rules, after making sure the agent is the organization's.
/// `select` ends in `FROM <table> <alias>`; `alias` is that alias with its dot (or empty).
async fn agent_page<T: serde::de::DeserializeOwned>(
    admin: &Admin,
    agent_id: &str,
    req: &Request,
    (select, alias): (&str, &str),
    seq: impl Fn(&T) -> i64,
) -> ApiResult<(Vec<T>, Option<String>)> {
    agents::find(admin, agent_id).await?;
    let select = format!("{select} WHERE {alias}agent_id = ?1 AND {alias}org_id = ?2");
    let args = vec![db::Arg::from(agent_id), db::Arg::from(&admin.ctx.org_id)];
    page(admin, req, &select, &format!("{alias}seq"), args, seq).await
}

/// Trims a `limit + 1` page to `limit` rows and returns the cursor for the next page, if any.
fn next_cursor<T>(mut rows: Vec<T>, limit: u32, seq: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        let next = rows.last().map(|r| seq(r).to_string());
        (rows, next)
    } else {
        (rows, None)
    }
}

/// One admin operation, with its path parameters.
enum Endpoint<'a> {
    WhoAmI,
    ListAgents,
    CreateAgent,
    GetAgent(&'a str),
    UpdateAgent(&'a str),
    DeleteAgent(&'a str),
    RotateKey(&'a str),
    ListTools(&'a str),
    CreateTool(&'a str),
    GetTool(&'a str, &'a str),
    UpdateTool(&'a str, &'a str),
    DeleteTool(&'a str, &'a str),
    ListRules(&'a str),
    CreateRule(&'a str),
    GetRule(&'a str, &'a str),
    UpdateRule(&'a str, &'a str),
    DeleteRule(&'a str, &'a str),
    ListLogs,
    GetLog(&'a str),
    Stats,
    Events,
    VerifyAudit,
    Simulate,
    Replay,
    ListApprovals,
    GetApproval(&'a str),
    DecideApproval(&'a str),
    ListWebhooks,
    CreateWebhook,
    GetWebhook(&'a str),
    UpdateWebhook(&'a str),
    DeleteWebhook(&'a str),
    RotateWebhookSecret(&'a str),
    ListDeliveries(&'a str),
    Redeliver(&'a str, &'a str),
    ListMembers,
    UpdateMember(&'a str),
    RemoveMember(&'a str),
    EndMemberSessions(&'a str),
    ListInvitations,
    CreateInvitation,
    RevokeInvitation(&'a str),
    ListKeys,
    CreateKey,
    RevokeKey(&'a str),
    GetOrganization,
    UpdateOrganization,
    Usage,
    BillingCheckout,
    BillingPortal,
}

/// The least role each route needs. Exhaustive, without a wildcard: a new route does not compile
/// until it is given one. docs/openapi.yaml states the same per operation (`x-oakauth-role`), and
/// tests/e2e/roles.test.mjs walks every route with every role.
fn required_role(endpoint: &Endpoint<'_>) -> Role {
    use Endpoint::*;
    match endpoint {
        WhoAmI | ListAgents | GetAgent(_) | ListTools(_) | GetTool(..) | ListRules(_) | GetRule(..) | ListLogs
        | GetLog(_) | Stats | Events | VerifyAudit | Simulate | Replay | ListApprovals | GetApproval(_)
        | ListMembers | GetOrganization | Usage => Role::Viewer,
        CreateAgent
        | UpdateAgent(_)
        | DeleteAgent(_)
        | RotateKey(_)
        | CreateTool(_)
        | UpdateTool(..)
        | DeleteTool(..)
        | CreateRule(_)
        | UpdateRule(..)
        | DeleteRule(..)
        | DecideApproval(_)
        | ListWebhooks
        | CreateWebhook
        | GetWebhook(_)
        | UpdateWebhook(_)
        | DeleteWebhook(_)
        | RotateWebhookSecret(_)
        | ListDeliveries(_)
        | Redeliver(..)
        | ListInvitations
        | CreateInvitation
        | RevokeInvitation(_) => Role::Admin,
        UpdateMember(_) | RemoveMember(_) | EndMemberSessions(_) | ListKeys | CreateKey | RevokeKey(_)
        | UpdateOrganization | BillingCheckout | BillingPortal => Role::Owner,
    }
}

/// The route table: each path (after `/v1/admin/`) and method, once.
fn endpoint<'a>(method: &Method, segments: &[&'a str]) -> Option<Endpoint<'a>> {
    use Endpoint::*;
    use Method::{Delete, Get, Patch, Post};
    Some(match (method, segments) {
        (Get, ["me"]) => WhoAmI,
        (Get, ["agents"]) => ListAgents,
        (Post, ["agents"]) => CreateAgent,
        (Get, ["agents", id]) => GetAgent(id),
        (Patch, ["agents", id]) => UpdateAgent(id),
        (Delete, ["agents", id]) => DeleteAgent(id),
        (Post, ["agents", id, "rotate-key"]) => RotateKey(id),
        (Get, ["agents", id, "tools"]) => ListTools(id),
        (Post, ["agents", id, "tools"]) => CreateTool(id),
        (Get, ["agents", id, "tools", tool]) => GetTool(id, tool),
        (Patch, ["agents", id, "tools", tool]) => UpdateTool(id, tool),
        (Delete, ["agents", id, "tools", tool]) => DeleteTool(id, tool),
        (Get, ["agents", id, "rules"]) => ListRules(id),
        (Post, ["agents", id, "rules"]) => CreateRule(id),
        (Get, ["agents", id, "rules", rule]) => GetRule(id, rule),
        (Patch, ["agents", id, "rules", rule]) => UpdateRule(id, rule),
        (Delete, ["agents", id, "rules", rule]) => DeleteRule(id, rule),
        (Get, ["logs"]) => ListLogs,
        (Get, ["logs", id]) => GetLog(id),
        (Get, ["stats"]) => Stats,
        (Get, ["events"]) => Events,
        (Get, ["audit", "verify"]) => VerifyAudit,
        (Post, ["simulate"]) => Simulate,
        (Post, ["simulate", "replay"]) => Replay,
        (Get, ["approvals"]) => ListApprovals,
        (Get, ["approvals", id]) => GetApproval(id),
        (Post, ["approvals", id, "decision"]) => DecideApproval(id),
        (Get, ["webhooks"]) => ListWebhooks,
        (Post, ["webhooks"]) => CreateWebhook,
        (Get, ["webhooks", id]) => GetWebhook(id),
        (Patch, ["webhooks", id]) => UpdateWebhook(id),
        (Delete, ["webhooks", id]) => DeleteWebhook(id),
        (Post, ["webhooks", id, "rotate-secret"]) => RotateWebhookSecret(id),
        (Get, ["webhooks", id, "deliveries"]) => ListDeliveries(id),
        (Post, ["webhooks", id, "deliveries", d, "redeliver"]) => Redeliver(id, d),
        (Get, ["members"]) => ListMembers,
        (Patch, ["members", id]) => UpdateMember(id),
        (Delete, ["members", id]) => RemoveMember(id),
        (Delete, ["members", id, "sessions"]) => EndMemberSessions(id),
        (Get, ["invitations"]) => ListInvitations,
        (Post, ["invitations"]) => CreateInvitation,
        (Delete, ["invitations", id]) => RevokeInvitation(id),
        (Get, ["keys"]) => ListKeys,
        (Post, ["keys"]) => CreateKey,
        (Delete, ["keys", id]) => RevokeKey(id),
        (Get, ["organization"]) => GetOrganization,
        (Patch, ["organization"]) => UpdateOrganization,
        (Get, ["usage"]) => Usage,
        (Post, ["billing", "checkout"]) => BillingCheckout,
        (Post, ["billing", "portal"]) => BillingPortal,
        _ => return None,
    })
}

/// Serves the admin API. Unknown paths are 404; known paths with another method 405, with the
/// methods the table lists for the path.
pub async fn handle(
    req: Request,
    method: Method,
    env: &Env,
    background: Rc<Context>,
    segments: &[&str],
    request_id: &str,
    facts: &crate::observe::Facts,
) -> ApiResult<Response> {
    let Some(endpoint) = endpoint(&method, segments) else {
        let allow: Vec<&str> = [Method::Get, Method::Post, Method::Patch, Method::Delete]
            .iter()
            .filter(|m| endpoint(m, segments).is_some())
            .map(|m| m.as_ref())
            .collect();
        return Err(if allow.is_empty() {
            ApiError::not_found("no such route")
        } else {
            ApiError::method_not_allowed(&allow)
        });
    };
    let ctx = auth::admin(&req, env).await?;
    facts.org(&ctx.org_id);
    if let Some(session) = ctx.cookie_session() {
        if crate::people::is_write(&method) {
            crate::people::check_csrf(&req, env, session)?;
        }
    }
    let needed = required_role(&endpoint);
    if !ctx.role.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "this needs the {} role; you are {} in this organization",
            needed.as_str(),
            ctx.role.as_str()
        )));
    }
    let admin = Admin { ctx, db: db::database(env)?, request_id: request_id.to_string(), env: env.clone(), background };
    use Endpoint::*;
    match endpoint {
        WhoAmI => Ok(json_response(
            200,
            &Me {
                organization: Organization { id: admin.ctx.org_id.clone(), name: admin.ctx.org_name.clone() },
                key_prefix: admin.ctx.actor.key_prefix.clone(),
                role: admin.ctx.role,
                actor: admin.ctx.actor.clone(),
            },
        )),
        ListAgents => agents::list(&admin, &req).await,
        CreateAgent => agents::create(&admin, req, env).await,
        GetAgent(id) => agents::get(&admin, id).await,
        UpdateAgent(id) => agents::update(&admin, id, req).await,
        DeleteAgent(id) => agents::delete(&admin, id).await,
        RotateKey(id) => agents::rotate_key(&admin, id, req, env).await,
        ListTools(id) => tools::list(&admin, id, &req).await,
        CreateTool(id) => tools::create(&admin, id, req).await,
        GetTool(id, tool) => tools::get(&admin, id, tool).await,
        UpdateTool(id, tool) => tools::update(&admin, id, tool, req).await,
        DeleteTool(id, tool) => tools::delete(&admin, id, tool).await,
        ListRules(id) => rules::list(&admin, id, &req).await,
        CreateRule(id) => rules::create(&admin, id, req).await,
        GetRule(id, rule) => rules::get(&admin, id, rule).await,
        UpdateRule(id, rule) => rules::update(&admin, id, rule, req).await,
        DeleteRule(id, rule) => rules::delete(&admin, id, rule).await,
        ListLogs => logs::list(&admin, &req).await,
        GetLog(id) => logs::get(&admin, id).await,
        Stats => stats::get(&admin, &req).await,
        Events => audit::events(&admin, &req).await,
        VerifyAudit => audit::verify(&admin, &req, env).await,
        Simulate => simulate::simulate(&admin, req).await,
        Replay => simulate::replay(&admin, req).await,
        ListApprovals => approvals::list(&admin, &req).await,
        GetApproval(id) => approvals::get(&admin, id).await,
        DecideApproval(id) => approvals::decide(&admin, id, req).await,
        ListWebhooks => webhooks::list(&admin, &req).await,
        CreateWebhook => webhooks::create(&admin, req).await,
        GetWebhook(id) => webhooks::get(&admin, id).await,
        UpdateWebhook(id) => webhooks::update(&admin, id, req).await,
        DeleteWebhook(id) => webhooks::delete(&admin, id).await,
        RotateWebhookSecret(id) => webhooks::rotate_secret(&admin, id, req).await,
        ListDeliveries(id) => webhooks::deliveries(&admin, id, &req).await,
        Redeliver(id, d) => webhooks::redeliver(&admin, id, d).await,
        ListMembers => people::list_members(&admin).await,
        UpdateMember(id) => people::update_member(&admin, id, req).await,
        RemoveMember(id) => people::remove_member(&admin, id).await,
        EndMemberSessions(id) => people::end_member_sessions(&admin, id).await,
        ListInvitations => people::list_invitations(&admin, &req).await,
        CreateInvitation => people::create_invitation(&admin, req).await,
        RevokeInvitation(id) => people::revoke_invitation(&admin, id).await,
        ListKeys => people::list_keys(&admin).await,
        CreateKey => people::create_key(&admin, req).await,
        RevokeKey(id) => people::revoke_key(&admin, id).await,
        GetOrganization => people::get_organization(&admin).await,
        UpdateOrganization => people::update_organization(&admin, req).await,
        Usage => usage::get(&admin).await,
        BillingCheckout => crate::billing::checkout(&admin, req).await,
        BillingPortal => crate::billing::portal(&admin, req).await,
    }
}
