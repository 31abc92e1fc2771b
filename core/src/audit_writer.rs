//! The agent's audit writer: how decisions become durable, chained audit rows, and how those rows
//! reach the database without the database on the answer's path.
//!
//! The logic lives here, over two small traits, so it is tested natively with in-memory
//! backends; the worker's Durable Object implements them with its own storage ([`LocalStore`])
//! and D1 ([`RowSink`]).
//!
//! - **Durable before the answer, in the object.** Rows queue while a commit is in flight; one
//!   commit runs at a time. A commit links its rows into the agent's chain and stores them with the
//!   new chain head (and whatever else the store keeps with it: the agent's bucket) in *one*
//!   atomic write of the object's storage. Each caller is answered once its row is committed, so
//!   decisions that arrive together share one storage write.
//! - **The database in the background.** Committed rows wait in a backlog, in chain order, until
//!   the database has them. A commit starts a shipping task unless one is pending; it waits
//!   [`SHIP_LINGER_MS`] (so the decisions made meanwhile travel with it) and hands them on, oldest first, in
//!   batches of at most [`MAX_BATCH`]: to a [`RowTransport`] when there is one (the worker's
//!   Queue, whose consumer writes many agents' rows in one database batch and then calls
//!   [`AuditWriter::confirm`]), or straight to the database ([`RowSink`]). The writer forgets a row
//!   only once the database has it, so a transport that loses or delays rows costs nothing but
//!   time: rows still unconfirmed one alarm period after they were sent are written straight to
//!   the database by the next alarm (idempotently). A refused hand-over stays in the backlog and
//!   the writer asks to be woken (the object's alarm) after a back-off. A database outage
//!   therefore denies nothing; only a full backlog ([`MAX_BACKLOG`]) or a storage failure does
//!   ([`Written::Lost`]).
//! - **Small writes.** The rows not yet in the database are kept *inline*, in the same value as
//!   the chain head, while they are few (at most [`MAX_INLINE`]); past that they move to a *spill*
//!   entry of their own, written in the same atomic write, and removed once the database has them.
//!   In steady state a commit is one storage row written, whatever the number of decisions in it.
//! - **Crashes.** A restarted writer gets back the head and every row of the inline value and the
//!   spill entries; rows the database already has are recognised by decision id and hash (the
//!   sink's idempotency), so nothing is lost and nothing is written twice.
//! - **A wake-up always pending.** While rows wait, an alarm is armed ([`Commit::arm_alarm_ms`],
//!   [`LocalStore::arm_alarm`]), so a crash or an idle object still ships them.
//! - **Conflicts are never hidden.** A row the database already holds at the same place with other
//!   content is an integrity alarm: kept in the object's storage (apart from the database) and
//!   reported by the chain verifier.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_channel::oneshot;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditRecord, ChainHead};

/// Most rows written to the database in one batch.
pub const MAX_BATCH: usize = 100;
/// Most rows kept waiting for the database; beyond it, decisions are answered `unavailable`
/// without a row, so memory and storage stay bounded (a minute of an agent at ~330 decisions/s).
pub const MAX_BACKLOG: usize = 20_000;
/// Most rows kept inline, in the value written with the chain head on every commit.
pub const MAX_INLINE: usize = 16;
/// When the object wakes to ship rows that still wait (ms after the commit that left them).
pub const SHIP_ALARM_MS: i64 = 5_000;
/// How long a shipment waits after the commit that started it, so that the rows of the decisions
/// made meanwhile travel with it: one Queue message (and one consumer write, one confirmation)
/// per agent per this interval at most, instead of one per commit. Part of the log list's lag.
pub const SHIP_LINGER_MS: i64 = 200;
/// Back-off after the database refused a batch: this, doubled per failure, at most
/// [`MAX_RETRY_MS`].
pub const FIRST_RETRY_MS: i64 = 500;
pub const MAX_RETRY_MS: i64 = 10_000;

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

/// One atomic write of the object's storage.
#[derive(Debug)]
pub struct Commit<'a> {
    /// The chain head after this commit's rows.
    pub head: &'a ChainHead,
    /// The rows kept with the head: every row not yet in the database that is not in a spill
    /// entry (may include rows the database already took; they are written again idempotently
    /// after a restart).
    pub inline: &'a [AuditRecord],
    /// Rows moving to a spill entry of their own, named by the first row's `chain_seq`.
    pub spill: Option<&'a [AuditRecord]>,
    /// Set when no wake-up is pending: arm the object's alarm this many ms from now.
    pub arm_alarm_ms: Option<i64>,
}

/// The agent object's own durable storage.
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    /// Stores `commit` in one atomic write (and arms the alarm when asked).
    async fn commit(&self, commit: &Commit<'_>) -> Result<(), BackendError>;
    /// Forgets spill entries (by their first `chain_seq`) whose rows the database has. A failure
    /// only means their rows are written again (idempotently) after a restart.
    async fn remove_spills(&self, first_seqs: &[i64]) -> Result<(), BackendError>;
    /// Keeps integrity alarms, apart from the database. A conflicting row counts as written only
    /// once its alarm is kept.
    async fn put_conflicts(&self, conflicts: &[Conflict]) -> Result<(), BackendError>;
    /// Arms the object's alarm `after_ms` from now; it calls [`AuditWriter::on_alarm`].
    async fn arm_alarm(&self, after_ms: i64) -> Result<(), BackendError>;
    /// Resolves `ms` from now (the object's timer; no storage is touched). A shipment waits
    /// [`SHIP_LINGER_MS`] on it before it starts.
    async fn linger(&self, ms: i64);
}

/// Carries rows to the database later, merged with other agents' rows (the worker's Queue).
/// Whoever writes them calls [`AuditWriter::confirm`].
#[allow(async_fn_in_trait)]
pub trait RowTransport {
    /// Accepts `rows` (in chain order) for delivery; an error means they were not accepted.
    async fn send(&self, rows: &[AuditRecord]) -> Result<(), BackendError>;
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
    /// The row is committed in the object's storage, linked as shown; it reaches the database in
    /// the background.
    Durable(Box<AuditRecord>),
    /// The row is nowhere (the object's storage failed, or the backlog is full); the caller is
    /// answered `unavailable` and the chain is as if the decision never happened.
    Lost(String),
}

impl Written {
    /// Whether the caller must be answered `unavailable` whatever was decided.
    pub fn answers_unavailable(&self) -> bool {
        match self {
            Written::Durable(r) => r.reason == crate::wire::ReasonCode::Unavailable.as_str(),
            Written::Lost(_) => true,
        }
    }
}

/// Splits rows into message bodies (JSON arrays, in order) of at most `max_bytes` each, for a
/// transport with a message size limit; a single row larger than that is a message of its own.
pub fn message_bodies(rows: &[AuditRecord], max_bytes: usize) -> Result<Vec<String>, serde_json::Error> {
    let mut out = Vec::new();
    let mut current = String::from("[");
    for r in rows {
        let json = serde_json::to_string(r)?;
        if current.len() > 1 && current.len() + json.len() + 2 > max_bytes {
            current.push(']');
            out.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > 1 {
        current.push(']');
        out.push(current);
    }
    Ok(out)
}

/// What a restarted object found in its storage.
#[derive(Debug, Default)]
pub struct Restored {
    pub head: ChainHead,
    /// The inline rows and every spill entry's rows, in any order (duplicates allowed).
    pub rows: Vec<AuditRecord>,
    /// The spill entries' first and last `chain_seq`.
    pub spills: Vec<(i64, i64)>,
}

/// Starts a task that runs on its own (the worker's `spawn_local`, a test's local pool).
pub type Spawn<'a> = &'a dyn Fn(Pin<Box<dyn Future<Output = ()>>>);

type Waiter = (AuditRecord, oneshot::Sender<Written>);

/// A committed row the database has not confirmed.
struct Waiting {
    record: AuditRecord,
    /// The alarm period in which it was handed to the transport (None: not yet).
    sent_in: Option<u64>,
}

/// Links audit rows into the agent's chain, commits them locally and ships them to the database
/// (see the module doc).
pub struct AuditWriter<S, D, T> {
    store: S,
    sink: D,
    transport: Option<T>,
    /// The last row linked.
    head: RefCell<ChainHead>,
    queue: RefCell<Vec<Waiter>>,
    /// Committed rows the database has not confirmed yet, in chain order.
    backlog: RefCell<VecDeque<Waiting>>,
    /// Alarm periods so far: rows sent in an earlier period than the current one are overdue.
    period: Cell<u64>,
    /// Spill entries in the store: first and last `chain_seq`, in order.
    spills: RefCell<Vec<(i64, i64)>>,
    committing: Cell<bool>,
    shipping: Cell<bool>,
    /// A shipment is waiting out [`SHIP_LINGER_MS`] or running: commits do not start another.
    ship_scheduled: Cell<bool>,
    /// The database refused the last batch: shipping waits for the alarm.
    failures: Cell<u32>,
    alarm_armed: Cell<bool>,
    /// Callers of [`AuditWriter::catch_up`] waiting for the running shipment.
    shipped: RefCell<Vec<oneshot::Sender<()>>>,
}

impl<S: LocalStore + 'static, D: RowSink + 'static, T: RowTransport + 'static> AuditWriter<S, D, T> {
    /// A writer continuing from what the store held; rows go to the database through `transport`
    /// when there is one, else straight to `sink`.
    pub fn new(store: S, sink: D, transport: Option<T>, restored: Restored) -> Self {
        let Restored { head, mut rows, mut spills } = restored;
        rows.sort_by_key(|r| r.chain_seq);
        rows.dedup_by_key(|r| r.chain_seq);
        spills.sort();
        let waiting = !rows.is_empty();
        AuditWriter {
            store,
            sink,
            transport,
            head: RefCell::new(head),
            queue: RefCell::new(Vec::new()),
            backlog: RefCell::new(rows.into_iter().map(|record| Waiting { record, sent_in: None }).collect()),
            period: Cell::new(0),
            spills: RefCell::new(spills),
            committing: Cell::new(false),
            shipping: Cell::new(false),
            ship_scheduled: Cell::new(false),
            failures: Cell::new(0),
            // Rows restored from storage had their wake-up armed when they were committed.
            alarm_armed: Cell::new(waiting),
            shipped: RefCell::new(Vec::new()),
        }
    }

    pub fn head(&self) -> ChainHead {
        self.head.borrow().clone()
    }

    /// Rows waiting for the database.
    pub fn waiting(&self) -> usize {
        self.backlog.borrow().len()
    }

    /// Whether rows of organization `org_id` wait for the database (an agent's rows all belong
    /// to its organization, also once the agent is deleted).
    pub fn waits_for(&self, org_id: &str) -> bool {
        self.backlog.borrow().iter().any(|w| w.record.org_id == org_id)
    }

    /// A committed row the database may not have yet, by decision id.
    pub fn waiting_row(&self, decision_id: &str) -> Option<AuditRecord> {
        self.backlog.borrow().iter().find(|w| w.record.decision_id == decision_id).map(|w| w.record.clone())
    }

    /// Queues `record` (not yet linked) and resolves once it is linked and committed in the
    /// store. `spawn` starts the commit when none runs, and then shipping to the database.
    pub async fn write(self: &Rc<Self>, record: AuditRecord, spawn: Spawn<'_>) -> Written {
        if self.backlog.borrow().len() + self.queue.borrow().len() >= MAX_BACKLOG {
            return Written::Lost(format!("{MAX_BACKLOG} audit rows already wait for the database"));
        }
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push((record, tx));
        if !self.committing.replace(true) {
            let writer = Rc::clone(self);
            spawn(Box::pin(async move { writer.commit_queued().await }));
        }
        let written = rx.await.unwrap_or_else(|_| Written::Lost("audit writer stopped".into()));
        // After a refusal, the alarm ships (with back-off), not every commit.
        if matches!(written, Written::Durable(_)) && self.failures.get() == 0 && !self.ship_scheduled.replace(true) {
            let writer = Rc::clone(self);
            spawn(Box::pin(async move { writer.ship_soon().await }));
        }
        written
    }

    /// Ships the waiting rows [`SHIP_LINGER_MS`] from now, and again (after the same wait) while
    /// rows committed during a shipment are still unsent. Leaves the rows to whoever ships
    /// already (the alarm, [`Self::catch_up`]) and, after a refusal, to the alarm's back-off.
    async fn ship_soon(&self) {
        loop {
            self.store.linger(SHIP_LINGER_MS).await;
            if self.failures.get() > 0 || self.shipping.replace(true) {
                break;
            }
            if self.ship_claimed().await.is_err() {
                let _ = self.arm_retry().await;
                break;
            }
            if !self.backlog.borrow().iter().any(|w| w.sent_in.is_none()) {
                break;
            }
        }
        self.ship_scheduled.set(false);
    }

    /// Writes every waiting row straight to the database now (before the chain is verified);
    /// waits for a shipment in progress. Fails when the database refuses.
    pub async fn catch_up(&self) -> Result<(), BackendError> {
        while self.shipping.get() {
            let (tx, rx) = oneshot::channel();
            self.shipped.borrow_mut().push(tx);
            let _ = rx.await;
        }
        self.shipping.set(true);
        let result = self.write_direct(|_| true).await;
        self.finish_shipping(result)
    }

    /// The database has `chain_seqs` (written by the transport's consumer), and these were
    /// conflicts there: keep the alarms, forget the rows.
    pub async fn confirm(&self, chain_seqs: &[i64], conflicts: &[Conflict]) -> Result<(), BackendError> {
        self.store.put_conflicts(conflicts).await?;
        self.forget(chain_seqs).await;
        Ok(())
    }

    /// The object's alarm: writes overdue rows (sent an alarm period ago and still unconfirmed,
    /// or never sent) straight to the database, hands on new ones, and arms the next wake-up
    /// while rows still wait.
    pub async fn on_alarm(&self) -> Result<(), BackendError> {
        self.alarm_armed.set(false);
        if self.shipping.replace(true) {
            // The running shipment arms the alarm again if it fails.
            return Ok(());
        }
        let current = self.period.get();
        self.period.set(current + 1);
        let direct = self.transport.is_none() || self.failures.get() > 0;
        let mut result = self.write_direct(|w| direct || w.sent_in.is_some_and(|p| p < current)).await;
        if result.is_ok() {
            result = self.send_unsent().await;
        }
        let result = self.finish_shipping(result);
        match &result {
            Err(_) => self.arm_retry().await?,
            Ok(()) if !self.backlog.borrow().is_empty() && !self.alarm_armed.get() => {
                self.store.arm_alarm(SHIP_ALARM_MS).await?;
                self.alarm_armed.set(true);
            }
            Ok(()) => {}
        }
        result
    }

    async fn commit_queued(self: Rc<Self>) {
        loop {
            let batch: Vec<Waiter> = {
                let mut queue = self.queue.borrow_mut();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.committing.set(false);
                return;
            }
            let (records, waiters): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().unzip();
            let outcomes = self.commit(records).await;
            for (outcome, tx) in outcomes.into_iter().zip(waiters) {
                let _ = tx.send(outcome);
            }
        }
    }

    /// Links and commits one batch; one outcome per record, in order.
    async fn commit(&self, mut records: Vec<AuditRecord>) -> Vec<Written> {
        let mut head = self.head();
        for r in records.iter_mut() {
            head.append(r);
        }
        let spilled_through = self.spills.borrow().last().map_or(0, |s| s.1);
        let mut inline: Vec<AuditRecord> = self
            .backlog
            .borrow()
            .iter()
            .filter(|w| w.record.chain_seq > spilled_through)
            .map(|w| w.record.clone())
            .collect();
        inline.extend(records.iter().cloned());
        let spill = inline.len() > MAX_INLINE;
        let arm = !self.alarm_armed.get();
        let commit = Commit {
            head: &head,
            inline: if spill { &[] } else { &inline },
            spill: spill.then_some(inline.as_slice()),
            arm_alarm_ms: arm.then_some(SHIP_ALARM_MS),
        };
        if let Err(e) = self.store.commit(&commit).await {
            // Nothing of this batch is stored anywhere: it stays unlinked.
            let why = format!("storing audit rows failed: {}", e.0);
            return records.iter().map(|_| Written::Lost(why.clone())).collect();
        }
        if arm {
            self.alarm_armed.set(true);
        }
        *self.head.borrow_mut() = head;
        if spill {
            self.spills.borrow_mut().push((inline[0].chain_seq, inline[inline.len() - 1].chain_seq));
        }
        self.backlog.borrow_mut().extend(records.iter().map(|r| Waiting { record: r.clone(), sent_in: None }));
        records.into_iter().map(|r| Written::Durable(Box::new(r))).collect()
    }

    /// Hands waiting rows on (to the transport, or straight to the database), oldest first; the
    /// caller set `shipping`.
    async fn ship_claimed(&self) -> Result<(), BackendError> {
        let result =
            if self.transport.is_some() { self.send_unsent().await } else { self.write_direct(|_| true).await };
        self.finish_shipping(result)
    }

    /// Ends a shipment: on a refusal, counts it and arms the retry with back-off; wakes
    /// [`Self::catch_up`] callers.
    fn finish_shipping(&self, result: Result<(), BackendError>) -> Result<(), BackendError> {
        self.shipping.set(false);
        for tx in self.shipped.borrow_mut().drain(..) {
            let _ = tx.send(());
        }
        match result {
            Ok(()) => {
                self.failures.set(0);
                Ok(())
            }
            Err(e) => {
                let failures = self.failures.get().saturating_add(1);
                self.failures.set(failures);
                Err(e)
            }
        }
    }

    /// The back-off after `failures` refusals in a row.
    pub fn retry_delay_ms(failures: u32) -> i64 {
        (FIRST_RETRY_MS << failures.saturating_sub(1).min(8)).min(MAX_RETRY_MS)
    }

    /// Arms the retry after a refusal (the caller logs the refusal).
    pub async fn arm_retry(&self) -> Result<(), BackendError> {
        self.store.arm_alarm(Self::retry_delay_ms(self.failures.get().max(1))).await?;
        self.alarm_armed.set(true);
        Ok(())
    }

    /// Hands rows not yet sent to the transport, in batches, marking them sent.
    async fn send_unsent(&self) -> Result<(), BackendError> {
        let Some(transport) = &self.transport else {
            return Ok(());
        };
        loop {
            let chunk: Vec<AuditRecord> = self
                .backlog
                .borrow()
                .iter()
                .filter(|w| w.sent_in.is_none())
                .take(MAX_BATCH)
                .map(|w| w.record.clone())
                .collect();
            let Some(last) = chunk.last().map(|r| r.chain_seq) else {
                return Ok(());
            };
            transport.send(&chunk).await?;
            let period = self.period.get();
            for w in self.backlog.borrow_mut().iter_mut() {
                if w.sent_in.is_none() && w.record.chain_seq <= last {
                    w.sent_in = Some(period);
                }
            }
        }
    }

    /// Writes the waiting rows `due` picks straight to the database, oldest first, in batches;
    /// stops at the first refusal.
    async fn write_direct(&self, due: impl Fn(&Waiting) -> bool) -> Result<(), BackendError> {
        let mut after = i64::MIN;
        loop {
            let chunk: Vec<AuditRecord> = self
                .backlog
                .borrow()
                .iter()
                .filter(|w| w.record.chain_seq > after && due(w))
                .take(MAX_BATCH)
                .map(|w| w.record.clone())
                .collect();
            let Some(last) = chunk.last().map(|r| r.chain_seq) else {
                return Ok(());
            };
            let conflicts = self.sink.write(&chunk).await?;
            self.store.put_conflicts(&conflicts).await?;
            let seqs: Vec<i64> = chunk.iter().map(|r| r.chain_seq).collect();
            self.forget(&seqs).await;
            after = last;
        }
    }

    /// Forgets rows the database has, and removes spill entries none of whose rows still wait.
    async fn forget(&self, chain_seqs: &[i64]) {
        if chain_seqs.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<i64> = chain_seqs.iter().copied().collect();
        let remaining: Vec<i64> = {
            let mut backlog = self.backlog.borrow_mut();
            backlog.retain(|w| !gone.contains(&w.record.chain_seq));
            backlog.iter().map(|w| w.record.chain_seq).collect()
        };
        let done: Vec<i64> = {
            let mut spills = self.spills.borrow_mut();
            let still_waiting = |&(first, last): &(i64, i64)| {
                let i = remaining.partition_point(|s| *s < first);
                remaining.get(i).is_some_and(|s| *s <= last)
            };
            let done = spills.iter().filter(|s| !still_waiting(s)).map(|s| s.0).collect();
            spills.retain(still_waiting);
            done
        };
        if !done.is_empty() {
            let _ = self.store.remove_spills(&done).await;
        }
    }
}

#[cfg(test)]
mod tests;
