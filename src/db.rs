//! Thin helpers over D1: binding values, reading rows, and telling a uniqueness conflict from a
//! real failure.

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::http::{ApiError, ApiResult};

pub fn database(env: &Env) -> ApiResult<D1Database> {
    env.d1("DB").map_err(ApiError::internal)
}

/// A value to bind. Integers are bound as JS numbers (exact up to 2^53, which covers our
/// millisecond timestamps and counters).
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Real(f64),
    Null,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}
impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}
impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Int(b as i64)
    }
}
impl From<f64> for Arg<'_> {
    fn from(n: f64) -> Self {
        Arg::Real(n)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Arg::Null, Arg::Int)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

impl Arg<'_> {
    fn to_js(&self) -> JsValue {
        match self {
            Arg::Text(s) => JsValue::from_str(s),
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Real(n) => JsValue::from_f64(*n),
            Arg::Null => JsValue::NULL,
        }
    }
}

/// Prepares `sql` with positional `?N` arguments.
pub fn stmt(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<D1PreparedStatement> {
    let values: Vec<JsValue> = args.iter().map(Arg::to_js).collect();
    db.prepare(sql).bind(&values).map_err(ApiError::internal)
}

/// Prepares each of `sqls` with the same arguments.
pub fn stmts(db: &D1Database, sqls: &[&str], args: &[Arg<'_>]) -> ApiResult<Vec<D1PreparedStatement>> {
    sqls.iter().map(|sql| stmt(db, sql, args)).collect()
}

/// Waits before the second and third try of an idempotent query (a read, or an audit insert that
/// ignores rows already written). D1 can fail one transiently (a connection reset, a busy
/// database); a query that fails three times is an error.
const RETRY_DELAYS_MS: [u64; 2] = [20, 100];

/// Runs the idempotent `read` up to three times, returning the first success or the last error.
async fn with_retry<T, F, Fut>(mut read: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = worker::Result<T>>,
{
    for delay_ms in RETRY_DELAYS_MS {
        if let Ok(value) = read().await {
            return Ok(value);
        }
        worker::Delay::from(std::time::Duration::from_millis(delay_ms)).await;
    }
    read().await.map_err(ApiError::internal)
}

pub async fn first<T: DeserializeOwned>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Option<T>> {
    let statement = stmt(db, sql, args)?;
    with_retry(|| statement.first::<T>(None)).await
}

pub async fn all<T: DeserializeOwned>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Vec<T>> {
    let statement = stmt(db, sql, args)?;
    let result = with_retry(|| statement.all()).await?;
    result.results::<T>().map_err(ApiError::internal)
}

/// Runs statements atomically, in order.
pub async fn batch(db: &D1Database, statements: Vec<D1PreparedStatement>) -> ApiResult<Vec<worker::D1Result>> {
    db.batch(statements).await.map_err(map_write_error)
}

/// Runs idempotent statements (reads, `INSERT OR IGNORE`) together, retried like [`first`].
pub async fn idempotent_batch(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> ApiResult<Vec<worker::D1Result>> {
    with_retry(|| db.batch(statements.clone())).await
}

/// A UNIQUE violation is the caller's conflict, and so is a NOT NULL violation (a guarded insert
/// found that what it refers to changed concurrently); anything else is ours.
fn map_write_error(e: worker::Error) -> ApiError {
    let text = e.to_string();
    if text.contains("UNIQUE constraint failed") {
        ApiError::conflict("a resource with that name already exists")
    } else if text.contains("NOT NULL constraint failed") {
        ApiError::conflict("what this change refers to was changed at the same time; read it again and retry")
    } else {
        ApiError::internal(e)
    }
}

/// The audit_log columns a decision's row is written with, in [`audit_args`] order. The one place
/// that lists them: writes use it, reads select it (with `seq`) into [`AuditRow`].
pub const AUDIT_COLUMNS: &str = "decision_id, org_id, request_id, agent_id, tool, scope, allowed, reason, reasoning, \
     reasoning_required, reasoning_provided, context, latency_ms, created_at, chain_seq, prev_hash, row_hash, \
     arguments, explanation, shadow";

/// An audit_log row as read: `SELECT seq, {AUDIT_COLUMNS}`.
#[derive(serde::Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub decision_id: String,
    pub org_id: String,
    pub request_id: String,
    pub agent_id: String,
    pub tool: String,
    pub scope: String,
    pub allowed: i64,
    pub reason: String,
    pub reasoning: Option<String>,
    pub reasoning_required: String,
    pub reasoning_provided: i64,
    pub context: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
    /// Null only on rows written before the chain existed.
    pub chain_seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
    pub arguments: Option<String>,
    pub explanation: Option<String>,
    pub shadow: Option<String>,
}

/// A row not yet in D1 (the agent's object holds it), shaped as D1 returns rows (no `seq` yet).
impl From<oakauth_core::audit::StoredRow> for AuditRow {
    fn from(s: oakauth_core::audit::StoredRow) -> Self {
        let r = s.record;
        AuditRow {
            seq: 0,
            decision_id: r.decision_id,
            org_id: r.org_id,
            request_id: r.request_id,
            agent_id: r.agent_id,
            tool: r.tool,
            scope: r.scope,
            allowed: i64::from(r.allowed),
            reason: r.reason,
            reasoning: r.reasoning,
            reasoning_required: r.reasoning_required,
            reasoning_provided: i64::from(r.reasoning_provided),
            context: r.context,
            latency_ms: r.latency_ms,
            created_at: r.created_at,
            chain_seq: Some(r.chain_seq),
            prev_hash: Some(r.prev_hash),
            row_hash: Some(s.row_hash),
            arguments: r.arguments,
            explanation: r.explanation,
            shadow: r.shadow,
        }
    }
}

impl From<AuditRow> for oakauth_core::audit::StoredRow {
    fn from(r: AuditRow) -> Self {
        oakauth_core::audit::StoredRow {
            row_hash: r.row_hash.unwrap_or_default(),
            record: oakauth_core::audit::AuditRecord {
                decision_id: r.decision_id,
                org_id: r.org_id,
                request_id: r.request_id,
                agent_id: r.agent_id,
                tool: r.tool,
                scope: r.scope,
                allowed: r.allowed == 1,
                reason: r.reason,
                reasoning: r.reasoning,
                reasoning_required: r.reasoning_required,
                reasoning_provided: r.reasoning_provided == 1,
                context: r.context,
                arguments: r.arguments,
                explanation: r.explanation,
                shadow: r.shadow,
                latency_ms: r.latency_ms,
                created_at: r.created_at,
                chain_seq: r.chain_seq.unwrap_or(0),
                prev_hash: r.prev_hash.unwrap_or_default(),
            },
        }
    }
}
pub const AUDIT_PLACEHOLDERS: &str =
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20";

/// The values of [`AUDIT_COLUMNS`] for one row.
pub fn audit_args<'a>(r: &'a oakauth_core::audit::AuditRecord, row_hash: &'a str) -> Vec<Arg<'a>> {
    vec![
        Arg::from(&r.decision_id),
        Arg::from(&r.org_id),
        Arg::from(&r.request_id),
        Arg::from(&r.agent_id),
        Arg::from(&r.tool),
        Arg::from(&r.scope),
        Arg::from(r.allowed),
        Arg::from(r.reason.as_str()),
        Arg::from(r.reasoning.as_deref()),
        Arg::from(r.reasoning_required.as_str()),
        Arg::from(r.reasoning_provided),
        Arg::from(r.context.as_deref()),
        Arg::Int(r.latency_ms),
        Arg::Int(r.created_at),
        Arg::Int(r.chain_seq),
        Arg::from(&r.prev_hash),
        Arg::from(row_hash),
        Arg::from(r.arguments.as_deref()),
        Arg::from(r.explanation.as_deref()),
        Arg::from(r.shadow.as_deref()),
    ]
}
