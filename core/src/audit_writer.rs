//! The agent's audit writer: how decisions become durable, chained audit rows.
//!
//! The logic lives here, over two small traits, so it is tested natively with in-memory
//! backends; the worker's Durable Object implements them with its own storage
//! ([`PendingStore`]) and D1 ([`RowSink`]).
//!
//! - **Group commit.** Rows queue while a batch is being written; one batch is in flight at a
//!   time. A batch is linked into the agent's chain, stored *pending* together with the new chain
//!   head in one atomic write, written to the database, and then its pending copies are removed.
//!   A crash at any step leaves either nothing (the batch was never stored, and never answered) or
//!   pending rows, which a restarted writer writes before any newer row.
//! - **Fail closed.** A batch the database refuses is relinked as `unavailable` denies (what its
//!   callers are answered), stays pending, and goes to the database first once it is back. If even
//!   the relinked copies cannot be stored, the rows stay pending as decided and the callers are
//!   still answered `unavailable` ([`Written::Unconfirmed`]): never an allow without a durable row.
//! - **Conflicts are never hidden.** A row the database already holds at the same place with other
//!   content is an integrity alarm: kept in the object's storage (apart from the database) and
//!   reported by the chain verifier.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_channel::oneshot;
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditRecord, ChainHead};

/// Most rows written to the database in one batch.
pub const MAX_BATCH: usize = 100;
/// Most rows kept waiting for the database during an outage; beyond it, decisions are answered
/// `unavailable` without a row, so memory stays bounded.
pub const MAX_DEFERRED: usize = 5_000;

/// A backend failed; the message is for the worker's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(pub String);

/// A row the database already holds at a decision's place (its id or its chain position) with
/// different content: a write that committed earlier as something else, or a planted row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The row this writer meant to store: kept with the alarm, so the decision is not lost.
    pub record: AuditRecord,
    /// Its hash.
    pub expected_hash: String,
    /// What the database holds instead (its decision id and hash).
    pub found: String,
}

/// The agent object's own durable storage.
#[allow(async_fn_in_trait)]
pub trait PendingStore {
    /// Stores `records` as pending and `head` as the chain head, in one atomic write.
    async fn put_pending(&self, head: &ChainHead, records: &[AuditRecord]) -> Result<(), BackendError>;
    /// Forgets pending rows the database has taken. A failure only means they are written again
    /// (idempotently) later.
    async fn remove_pending(&self, chain_seqs: &[i64]) -> Result<(), BackendError>;
    /// Keeps integrity alarms, apart from the database. A conflicting row counts as written only
    /// once its alarm is kept.
    async fn put_conflicts(&self, conflicts: &[Conflict]) -> Result<(), BackendError>;
}

/// The database the rows end in.
#[allow(async_fn_in_trait)]
pub trait RowSink {
    /// Writes `rows` in one atomic batch. A row already present with the same hash counts as
    /// written; one present with other content is returned as a [`Conflict`] (it can never be
    /// written, so it counts as done too).
    async fn write(&self, rows: &[AuditRecord]) -> Result<Vec<Conflict>, BackendError>;
}

/// What happened to a decision's audit row, and so what its caller is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// The row is in the database, as decided.
    Stored(AuditRecord),
    /// The database refused the row. It was relinked as an `unavailable` deny (what the caller is
    /// answered), is pending, and goes to the database first once it is back.
    Deferred(AuditRecord),
    /// The database refused the row and the relinked copy could not be stored: the row is pending
    /// as decided, and the caller is answered `unavailable`.
    Unconfirmed(AuditRecord),
    /// The row is nowhere (the object's storage failed, or too many rows already wait); the caller
    /// is answered `unavailable` and the chain is as if the decision never happened.
    Lost(String),
}

impl Written {
    /// Whether the caller must be answered `unavailable` whatever was decided.
    pub fn answers_unavailable(&self) -> bool {
        match self {
            Written::Stored(r) | Written::Deferred(r) => r.reason == crate::wire::ReasonCode::Unavailable.as_str(),
            Written::Unconfirmed(_) | Written::Lost(_) => true,
        }
    }
}

/// Starts a task that runs on its own (the worker's `spawn_local`, a test's local pool).
pub type Spawn<'a> = &'a dyn Fn(Pin<Box<dyn Future<Output = ()>>>);

type Waiter = (AuditRecord, oneshot::Sender<Written>);

/// Links audit rows into the agent's chain and writes them in batches (see the module doc).
pub struct AuditWriter<S, D> {
    store: S,
    sink: D,
    /// The last row linked.
    head: RefCell<ChainHead>,
    queue: RefCell<Vec<Waiter>>,
    /// Linked rows, pending in the store, that the database has not taken yet, in chain order.
    deferred: RefCell<Vec<AuditRecord>>,
    flushing: Cell<bool>,
}

impl<S: PendingStore + 'static, D: RowSink + 'static> AuditWriter<S, D> {
    /// A writer continuing from `head`, with `pending` (rows left in the store by a crash or an
    /// outage) to be written before any newer row.
    pub fn new(store: S, sink: D, head: ChainHead, mut pending: Vec<AuditRecord>) -> Self {
        pending.sort_by_key(|r| r.chain_seq);
        AuditWriter {
            store,
            sink,
            head: RefCell::new(head),
            queue: RefCell::new(Vec::new()),
            deferred: RefCell::new(pending),
            flushing: Cell::new(false),
        }
    }

    pub fn head(&self) -> ChainHead {
        self.head.borrow().clone()
    }

    /// Rows waiting for the database.
    pub fn waiting(&self) -> usize {
        self.deferred.borrow().len()
    }

    /// Queues `record` (not yet linked) and resolves once it is linked and stored. When no batch
    /// is being written, `spawn` starts the flush.
    pub async fn write(self: &Rc<Self>, record: AuditRecord, spawn: Spawn<'_>) -> Written {
        if self.deferred.borrow().len() >= MAX_DEFERRED {
            return Written::Lost(format!("{MAX_DEFERRED} audit rows already wait for the database"));
        }
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push((record, tx));
        if !self.flushing.replace(true) {
            let writer = Rc::clone(self);
            spawn(Box::pin(async move { writer.flush().await }));
        }
        rx.await.unwrap_or_else(|_| Written::Lost("audit writer stopped".into()))
    }

    /// Writes waiting rows (before the chain is verified), unless a flush, which does it, runs.
    pub async fn catch_up(&self) -> Result<(), BackendError> {
        if self.flushing.get() {
            return Ok(());
        }
        self.write_deferred().await
    }

    async fn flush(self: Rc<Self>) {
        loop {
            let batch: Vec<Waiter> = {
                let mut queue = self.queue.borrow_mut();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.flushing.set(false);
                return;
            }
            let (records, waiters): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().unzip();
            let outcomes = self.commit(records).await;
            for (outcome, tx) in outcomes.into_iter().zip(waiters) {
                let _ = tx.send(outcome);
            }
        }
    }

    /// Links, stores and writes one batch; one outcome per record, in order.
    async fn commit(&self, mut records: Vec<AuditRecord>) -> Vec<Written> {
        // Rows still waiting from an outage go first, so the chain reaches the database in order.
        let backlog_ok = self.write_deferred().await.is_ok();
        let before = self.head();
        let mut linked = before.clone();
        for r in records.iter_mut() {
            linked.append(r);
        }
        if let Err(e) = self.store.put_pending(&linked, &records).await {
            // Nothing of this batch is stored anywhere: it stays unlinked.
            let why = format!("storing audit rows failed: {}", e.0);
            return records.iter().map(|_| Written::Lost(why.clone())).collect();
        }
        *self.head.borrow_mut() = linked;
        if backlog_ok {
            let written = match self.sink.write(&records).await {
                Ok(conflicts) => self.store.put_conflicts(&conflicts).await,
                Err(e) => Err(e),
            };
            if written.is_ok() {
                let seqs: Vec<i64> = records.iter().map(|r| r.chain_seq).collect();
                let _ = self.store.remove_pending(&seqs).await;
                return records.into_iter().map(Written::Stored).collect();
            }
        }
        // The database refused the batch. Nothing after it is linked yet, so relink it as what its
        // callers are answered: unavailable denies.
        let original = records.clone();
        let relinked = audit::relink_as_unavailable(&before, &mut records);
        if self.store.put_pending(&relinked, &records).await.is_ok() {
            *self.head.borrow_mut() = relinked;
            self.deferred.borrow_mut().extend(records.iter().cloned());
            records.into_iter().map(Written::Deferred).collect()
        } else {
            // The decided rows are still pending as linked and reach the database as decided;
            // their callers are answered unavailable all the same.
            self.deferred.borrow_mut().extend(original.iter().cloned());
            original.into_iter().map(Written::Unconfirmed).collect()
        }
    }

    /// Writes rows that wait for the database, oldest first, in batches; stops at the first
    /// failure.
    async fn write_deferred(&self) -> Result<(), BackendError> {
        loop {
            let chunk: Vec<AuditRecord> = self.deferred.borrow().iter().take(MAX_BATCH).cloned().collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let conflicts = self.sink.write(&chunk).await?;
            self.store.put_conflicts(&conflicts).await?;
            let seqs: Vec<i64> = chunk.iter().map(|r| r.chain_seq).collect();
            let _ = self.store.remove_pending(&seqs).await;
            let written: HashSet<i64> = seqs.into_iter().collect();
            self.deferred.borrow_mut().retain(|r| !written.contains(&r.chain_seq));
        }
    }
}

#[cfg(test)]
mod tests;
