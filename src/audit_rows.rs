//! How audit rows reach D1 from the agents' objects: the Queue that merges many agents' rows into
//! few D1 writes, its consumer, and the D1 write both it and the objects use.
//!
//! - An agent's object hands its committed rows to the `AUDIT_QUEUE` producer ([`QueueRows`]),
//!   one message per shipment (at most [`MAX_MESSAGE_BYTES`] of rows; a shipment that is larger
//!   becomes several messages).
//! - The consumer ([`consume`], the worker's `queue` handler) gathers the rows of every message of
//!   a batch, from many agents, and writes them to D1 in one `batch` per [`MAX_D1_BATCH`] rows
//!   ([`write`]: idempotent by decision id, a different row in a decision's place is reported as a
//!   conflict). Then it tells each agent's object which of its rows D1 has (`/shipped`), and the
//!   object forgets them. A batch D1 refuses is retried by the Queue (with a delay); rows whose
//!   confirmation never comes are written straight to D1 by their object's alarm, so a lost or
//!   dead-lettered message loses nothing (see `oakauth_core::audit_writer`).
//! - Without an `AUDIT_QUEUE` binding the objects write to D1 themselves ([`D1Rows`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use oakauth_core::audit::AuditRecord;
use oakauth_core::audit_writer::{BackendError, Conflict, RowSink, RowTransport};
use serde::{Deserialize, Serialize};
use worker::{Env, MessageBatch, MessageBuilder, MessageExt, QueueContentType, QueueRetryOptionsBuilder, RawMessage};

use crate::db::{self, Arg};

/// The producer binding; absent, objects write to D1 themselves.
pub const QUEUE_BINDING: &str = "AUDIT_QUEUE";
/// Largest message the objects send (Queues accept 128 KB).
pub const MAX_MESSAGE_BYTES: usize = 100_000;
/// Most rows the consumer writes in one D1 `batch`.
pub const MAX_D1_BATCH: usize = 500;
/// How long the Queue waits before a batch D1 refused is delivered again.
const RETRY_DELAY_SECONDS: u32 = 2;

fn backend(e: impl std::fmt::Display) -> BackendError {
    BackendError(e.to_string())
}

#[derive(Deserialize)]
struct Inserted {
    decision_id: String,
}

#[derive(Deserialize)]
struct Present {
    decision_id: String,
    row_hash: Option<String>,
}

/// Writes `rows` to D1 in one atomic batch of inserts that skip any uniqueness conflict and return
/// what they inserted; each row not returned is read back and compared by hash. Idempotent: a row
/// already there with the same hash counts as written; one there with other content is a
/// [`Conflict`].
pub async fn write(env: &Env, rows: &[AuditRecord]) -> Result<Vec<Conflict>, BackendError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let database = db::database(env).map_err(|e| BackendError(e.message))?;
    let sql = format!(
        "INSERT INTO audit_log ({}) VALUES ({}) ON CONFLICT DO NOTHING RETURNING decision_id",
        db::AUDIT_COLUMNS,
        db::AUDIT_PLACEHOLDERS
    );
    let hashes: Vec<String> = rows.iter().map(AuditRecord::hash).collect();
    let mut statements = Vec::with_capacity(rows.len());
    for (r, row_hash) in rows.iter().zip(&hashes) {
        statements.push(db::stmt(&database, &sql, &db::audit_args(r, row_hash)).map_err(|e| BackendError(e.message))?);
    }
    let results = db::idempotent_batch(&database, statements).await.map_err(|e| BackendError(e.message))?;
    let mut conflicts = Vec::new();
    for ((r, row_hash), result) in rows.iter().zip(&hashes).zip(results) {
        let inserted = result.results::<Inserted>().map_err(backend)?;
        if inserted.iter().any(|i| i.decision_id == r.decision_id) {
            continue;
        }
        let present: Vec<Present> = db::all(
            &database,
            "SELECT decision_id, row_hash FROM audit_log
              WHERE decision_id = ?1 OR (agent_id = ?2 AND chain_seq = ?3)",
            &[Arg::from(&r.decision_id), Arg::from(&r.agent_id), Arg::Int(r.chain_seq)],
        )
        .await
        .map_err(|e| BackendError(e.message))?;
        let same = present.len() == 1
            && present[0].decision_id == r.decision_id
            && present[0].row_hash.as_deref() == Some(row_hash.as_str());
        if !same {
            let found = present
                .iter()
                .map(|p| format!("{} {}", p.decision_id, p.row_hash.as_deref().unwrap_or("(no hash)")))
                .collect::<Vec<_>>()
                .join(", ");
            conflicts.push(Conflict { record: r.clone(), expected_hash: row_hash.clone(), found });
        }
    }
    Ok(conflicts)
}

/// D1, written by the agent's object itself (no Queue bound, overdue rows, verification).
pub struct D1Rows(pub Env);

impl RowSink for D1Rows {
    async fn write(&self, rows: &[AuditRecord]) -> Result<Vec<Conflict>, BackendError> {
        write(&self.0, rows).await
    }
}

/// The Queue producer, as the agent's object uses it.
pub struct QueueRows(worker::Queue);

impl QueueRows {
    /// The producer when the deployment binds one.
    pub fn bound(env: &Env) -> Option<Self> {
        env.queue(QUEUE_BINDING).ok().map(QueueRows)
    }
}

impl RowTransport for QueueRows {
    async fn send(&self, rows: &[AuditRecord]) -> Result<(), BackendError> {
        for body in oakauth_core::audit_writer::message_bodies(rows, MAX_MESSAGE_BYTES).map_err(backend)? {
            let message = MessageBuilder::new(body).content_type(QueueContentType::Text).build();
            self.0.send(message).await.map_err(backend)?;
        }
        Ok(())
    }
}

/// What the consumer tells an agent's object: D1 has these rows (conflicts included).
#[derive(Debug, Serialize, Deserialize)]
pub struct Shipped {
    pub chain_seqs: Vec<i64>,
    pub conflicts: Vec<Conflict>,
}

/// One structured log line per consumed batch (for Workers Logs): how many rows of how many
/// agents reached D1 in how many writes.
#[derive(Serialize)]
struct BatchLog<'a> {
    event: &'a str,
    messages: usize,
    rows: usize,
    agents: usize,
    d1_batches: usize,
    outcome: &'a str,
}

#[derive(Deserialize)]
struct ChainEnd {
    agent_id: String,
    head: i64,
}

/// The highest `chain_seq` D1 holds for each of `agents` (absent: none yet).
async fn d1_heads(env: &Env, agents: &[&str]) -> Result<HashMap<String, i64>, BackendError> {
    let database = db::database(env).map_err(|e| BackendError(e.message))?;
    let mut heads = HashMap::new();
    // D1 binds at most 100 parameters per statement.
    for chunk in agents.chunks(100) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT agent_id, MAX(chain_seq) AS head FROM audit_log WHERE agent_id IN ({}) GROUP BY agent_id",
            placeholders.join(", ")
        );
        let args: Vec<Arg> = chunk.iter().map(|a| Arg::from(*a)).collect();
        let ends: Vec<ChainEnd> = db::all(&database, &sql, &args).await.map_err(|e| BackendError(e.message))?;
        heads.extend(ends.into_iter().map(|e| (e.agent_id, e.head)));
    }
    Ok(heads)
}

/// The Queue consumer: writes a batch of messages' rows, from many agents, to D1 in few writes,
/// and confirms them to their objects.
///
/// D1 always holds each agent's chain as a prefix without holes, so rows arrive in chain order
/// even when a message was delayed or lost: a row is written only if D1 has its predecessor or
/// the predecessor is written with it (rows at or below D1's last row are written too, which is
/// how a row D1 already has, or a different row in its place, is recognised). A message with a
/// row left out is delivered again later; by then its object may have written the missing rows
/// itself.
pub async fn consume(batch: MessageBatch<String>, env: &Env) {
    let mut messages: Vec<(RawMessage, Vec<String>)> = Vec::new();
    let mut rows: Vec<AuditRecord> = Vec::new();
    for message in batch.raw_iter() {
        let parsed = message.body().as_string().map(|text| serde_json::from_str::<Vec<AuditRecord>>(&text));
        match parsed {
            Some(Ok(r)) => {
                messages.push((message, r.iter().map(|r| r.decision_id.clone()).collect()));
                rows.extend(r);
            }
            _ => {
                worker::console_error!("audit queue: an unreadable message was dropped (its object writes its rows)");
                message.ack();
            }
        }
    }
    rows.sort_by(|a, b| (a.agent_id.as_str(), a.chain_seq).cmp(&(b.agent_id.as_str(), b.chain_seq)));
    rows.dedup_by(|a, b| a.decision_id == b.decision_id);
    let total = rows.len();
    let retry = || {
        batch.retry_all_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(RETRY_DELAY_SECONDS).build())
    };
    let agents: Vec<&str> = {
        let mut a: Vec<&str> = rows.iter().map(|r| r.agent_id.as_str()).collect();
        a.dedup();
        a
    };
    let heads = match d1_heads(env, &agents).await {
        Ok(h) => h,
        Err(e) => {
            worker::console_error!("audit queue: D1 refused reading chain heads: {}", e.0);
            log(messages.len(), total, 0, 0, "retried");
            retry();
            return;
        }
    };
    // Each agent's rows that keep its chain in D1 without a hole.
    let mut writable: Vec<AuditRecord> = Vec::with_capacity(rows.len());
    let mut next: HashMap<String, i64> = HashMap::new();
    for r in rows {
        let expected =
            next.entry(r.agent_id.clone()).or_insert_with(|| heads.get(&r.agent_id).copied().unwrap_or(0) + 1);
        if r.chain_seq < *expected {
            writable.push(r);
        } else if r.chain_seq == *expected {
            *expected += 1;
            writable.push(r);
        }
    }
    let mut by_agent: BTreeMap<String, Shipped> = BTreeMap::new();
    let mut d1_batches = 0;
    for chunk in writable.chunks(MAX_D1_BATCH) {
        d1_batches += 1;
        match write(env, chunk).await {
            Ok(conflicts) => {
                for r in chunk {
                    by_agent
                        .entry(r.agent_id.clone())
                        .or_insert_with(|| Shipped { chain_seqs: Vec::new(), conflicts: Vec::new() })
                        .chain_seqs
                        .push(r.chain_seq);
                }
                for c in conflicts {
                    if let Some(s) = by_agent.get_mut(&c.record.agent_id) {
                        s.conflicts.push(c);
                    }
                }
            }
            Err(e) => {
                // The Queue delivers the whole batch again; rows already written are recognised.
                worker::console_error!("audit queue: D1 refused a batch of {} rows: {}", chunk.len(), e.0);
                log(messages.len(), total, 0, d1_batches, "retried");
                retry();
                return;
            }
        }
    }
    let agents = by_agent.len();
    let confirmations = by_agent.into_iter().map(|(agent_id, shipped)| async move {
        let answer: Result<serde_json::Value, _> =
            crate::objects::call(env, "AGENT_BUCKET", &agent_id, "/shipped", &shipped).await;
        if let Err(e) = answer {
            // The object writes the rows itself once they are overdue (idempotently).
            worker::console_error!(
                "audit queue: confirming {} rows to {agent_id} failed: {}",
                shipped.chain_seqs.len(),
                e.message
            );
        }
    });
    futures::future::join_all(confirmations).await;
    let written: HashSet<&str> = writable.iter().map(|r| r.decision_id.as_str()).collect();
    let mut held = 0;
    for (message, ids) in &messages {
        if ids.iter().all(|id| written.contains(id.as_str())) {
            message.ack();
        } else {
            held += 1;
            message
                .retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(RETRY_DELAY_SECONDS).build());
        }
    }
    log(messages.len(), writable.len(), agents, d1_batches, if held == 0 { "written" } else { "written, some held" });
}

fn log(messages: usize, rows: usize, agents: usize, d1_batches: usize, outcome: &str) {
    let line = BatchLog { event: "audit_batch", messages, rows, agents, d1_batches, outcome };
    if let Ok(json) = serde_json::to_string(&line) {
        worker::console_log!("{json}");
    }
}
