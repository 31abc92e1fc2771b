//! The audit writer against in-memory backends: group commit, refusals, double faults, crashes at
//! every step, idempotency and conflicts.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use super::*;
use crate::audit::{StoredRow, Verifier};

/// A switch a backend can wait on: closed, its operations hang until it is opened; dropped
/// operations that never finish model a crash.
#[derive(Default)]
struct Gate {
    closed: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Gate {
    fn close(&self) {
        self.closed.set(true);
    }
    fn open(&self) {
        self.closed.set(false);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
    async fn pass(&self) {
        std::future::poll_fn(|cx| {
            if self.closed.get() {
                self.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }
}

/// The object's storage: the inline value (head and rows), spill entries, conflicts, the alarm.
#[derive(Default)]
struct Store {
    head: RefCell<ChainHead>,
    inline: RefCell<Vec<AuditRecord>>,
    spills: RefCell<BTreeMap<i64, Vec<AuditRecord>>>,
    conflicts: RefCell<Vec<Conflict>>,
    /// Every commit's size: (rows in the inline value, rows in its spill entry).
    commits: RefCell<Vec<(usize, usize)>>,
    alarm: Cell<Option<i64>>,
    /// The next this many commits fail.
    fail_commits: Cell<u32>,
    /// Commit number n (1-based) is applied, then hangs (a crash right after the write).
    hang_after_commit_number: Cell<Option<u32>>,
    hang_before_remove: Cell<bool>,
    gate: Gate,
    /// The timer a shipment lingers on: open (no wait) unless a test closes it.
    timer: Gate,
    /// Lingers asked for, in ms.
    lingers: RefCell<Vec<i64>>,
}

#[derive(Clone, Default)]
struct MemStore(Rc<Store>);

impl MemStore {
    /// What a restarted object reads back.
    fn restored(&self) -> Restored {
        let s = &self.0;
        let mut rows = s.inline.borrow().clone();
        let mut spills = Vec::new();
        for (first, spilled) in s.spills.borrow().iter() {
            rows.extend(spilled.iter().cloned());
            spills.push((*first, spilled.last().unwrap().chain_seq));
        }
        Restored { head: s.head.borrow().clone(), rows, spills }
    }
    /// Rows kept in storage that the database may not have.
    fn kept(&self) -> usize {
        self.0.inline.borrow().len() + self.0.spills.borrow().values().map(Vec::len).sum::<usize>()
    }
}

impl LocalStore for MemStore {
    async fn commit(&self, commit: &Commit<'_>) -> Result<(), BackendError> {
        let s = &self.0;
        if s.fail_commits.get() > 0 {
            s.fail_commits.set(s.fail_commits.get() - 1);
            return Err(BackendError("storage refused".into()));
        }
        s.commits.borrow_mut().push((commit.inline.len(), commit.spill.map_or(0, <[_]>::len)));
        *s.head.borrow_mut() = commit.head.clone();
        *s.inline.borrow_mut() = commit.inline.to_vec();
        if let Some(spill) = commit.spill {
            s.spills.borrow_mut().insert(spill[0].chain_seq, spill.to_vec());
        }
        if let Some(ms) = commit.arm_alarm_ms {
            s.alarm.set(Some(ms));
        }
        if s.hang_after_commit_number.get() == Some(s.commits.borrow().len() as u32) {
            s.gate.close();
        }
        s.gate.pass().await;
        Ok(())
    }
    async fn remove_spills(&self, first_seqs: &[i64]) -> Result<(), BackendError> {
        if self.0.hang_before_remove.get() {
            self.0.gate.close();
            self.0.gate.pass().await;
        }
        for seq in first_seqs {
            self.0.spills.borrow_mut().remove(seq);
        }
        Ok(())
    }
    async fn put_conflicts(&self, conflicts: &[Conflict]) -> Result<(), BackendError> {
        self.0.conflicts.borrow_mut().extend_from_slice(conflicts);
        Ok(())
    }
    async fn arm_alarm(&self, after_ms: i64) -> Result<(), BackendError> {
        self.0.alarm.set(Some(after_ms));
        Ok(())
    }
    async fn linger(&self, ms: i64) {
        self.0.lingers.borrow_mut().push(ms);
        self.0.timer.pass().await;
    }
}

/// The database: rows unique by decision id and by chain position, batches atomic.
#[derive(Default)]
struct Db {
    rows: RefCell<Vec<StoredRow>>,
    down: Cell<bool>,
    batches: RefCell<Vec<usize>>,
    /// Commits, then hangs (the answer is lost in a crash).
    hang_after_commit: Cell<bool>,
    gate: Gate,
}

#[derive(Clone, Default)]
struct MemDb(Rc<Db>);

impl RowSink for MemDb {
    async fn write(&self, rows: &[AuditRecord]) -> Result<Vec<Conflict>, BackendError> {
        let db = &self.0;
        db.gate.pass().await;
        if db.down.get() {
            return Err(BackendError("database unavailable".into()));
        }
        db.batches.borrow_mut().push(rows.len());
        let mut conflicts = Vec::new();
        for r in rows {
            let hash = r.hash();
            let existing = db
                .rows
                .borrow()
                .iter()
                .find(|s| {
                    s.record.decision_id == r.decision_id
                        || (s.record.agent_id == r.agent_id && s.record.chain_seq == r.chain_seq)
                })
                .cloned();
            match existing {
                Some(s) if s.record.decision_id == r.decision_id && s.row_hash == hash => {}
                Some(s) => conflicts.push(Conflict {
                    record: r.clone(),
                    expected_hash: hash,
                    found: format!("{} {}", s.record.decision_id, s.row_hash),
                }),
                None => db.rows.borrow_mut().push(StoredRow { row_hash: hash, record: r.clone() }),
            }
        }
        if db.hang_after_commit.get() {
            db.gate.close();
            db.gate.pass().await;
        }
        Ok(conflicts)
    }
}

/// The transport (a Queue): keeps what it accepted until the test's consumer takes it.
#[derive(Default)]
struct Queue {
    messages: RefCell<Vec<Vec<AuditRecord>>>,
    refuse: Cell<bool>,
}

#[derive(Clone, Default)]
struct MemQueue(Rc<Queue>);

impl RowTransport for MemQueue {
    async fn send(&self, rows: &[AuditRecord]) -> Result<(), BackendError> {
        if self.0.refuse.get() {
            return Err(BackendError("queue refused".into()));
        }
        self.0.messages.borrow_mut().push(rows.to_vec());
        Ok(())
    }
}

type Writer = AuditWriter<MemStore, MemDb, MemQueue>;

struct Harness {
    pool: LocalPool,
    store: MemStore,
    db: MemDb,
    queue: Option<MemQueue>,
    writer: Rc<Writer>,
    results: Rc<RefCell<BTreeMap<String, Written>>>,
}

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        decision_id: format!("dec_{i}"),
        org_id: "org_1".into(),
        request_id: format!("req_{i}"),
        agent_id: "agt_1".into(),
        tool: "payments".into(),
        scope: "send".into(),
        allowed: true,
        reason: "allowed".into(),
        reasoning: Some(format!("pay invoice {i}")),
        reasoning_required: "hard".into(),
        reasoning_provided: true,
        context: None,
        arguments: None,
        explanation: None,
        shadow: None,
        latency_ms: 1,
        created_at: 1_000 + i as i64,
        chain_seq: 0,
        prev_hash: String::new(),
    }
}

impl Harness {
    fn new() -> Self {
        let (store, db) = (MemStore::default(), MemDb::default());
        let writer = Rc::new(AuditWriter::new(store.clone(), db.clone(), None, Restored::default()));
        Harness { pool: LocalPool::new(), store, db, queue: None, writer, results: Rc::default() }
    }

    /// A writer that hands rows to a queue.
    fn with_queue() -> Self {
        let mut h = Harness::new();
        let queue = MemQueue::default();
        h.writer = Rc::new(AuditWriter::new(h.store.clone(), h.db.clone(), Some(queue.clone()), Restored::default()));
        h.queue = Some(queue);
        h
    }

    /// The queue's consumer: writes every message taken off the queue in one database batch, and
    /// confirms the rows to the writer. Returns the batch size.
    fn consume(&mut self) -> usize {
        let messages: Vec<Vec<AuditRecord>> = self.queue.as_ref().unwrap().0.messages.borrow_mut().drain(..).collect();
        let rows: Vec<AuditRecord> = messages.into_iter().flatten().collect();
        if rows.is_empty() {
            return 0;
        }
        let (db, writer) = (self.db.clone(), Rc::clone(&self.writer));
        let n = rows.len();
        self.pool
            .spawner()
            .spawn_local(async move {
                let conflicts = db.write(&rows).await.expect("the database takes the batch");
                let seqs: Vec<i64> = rows.iter().map(|r| r.chain_seq).collect();
                writer.confirm(&seqs, &conflicts).await.expect("confirm");
            })
            .expect("spawn");
        self.run();
        n
    }

    /// The object restarts after a crash: everything in flight is gone; a new writer starts from
    /// what the store holds.
    fn restart(&mut self) {
        self.pool = LocalPool::new();
        self.store.0.hang_after_commit_number.set(None);
        self.store.0.hang_before_remove.set(false);
        self.store.0.gate.open();
        self.db.0.hang_after_commit.set(false);
        self.db.0.gate.open();
        // A restarted object sends everything again; the old queue's messages may still arrive.
        self.writer =
            Rc::new(AuditWriter::new(self.store.clone(), self.db.clone(), self.queue.clone(), self.store.restored()));
    }

    /// Starts writing decision `i`; its outcome lands in `results` under its decision id.
    fn start(&self, i: usize) {
        let writer = Rc::clone(&self.writer);
        let results = Rc::clone(&self.results);
        let spawner = self.pool.spawner();
        self.pool
            .spawner()
            .spawn_local(async move {
                let spawn = |task: Pin<Box<dyn Future<Output = ()>>>| spawner.spawn_local(task).expect("spawn");
                let written = writer.write(record(i), &spawn).await;
                results.borrow_mut().insert(format!("dec_{i}"), written);
            })
            .expect("spawn");
    }

    fn run(&mut self) {
        self.pool.run_until_stalled();
    }

    fn write_all(&mut self, range: std::ops::Range<usize>) {
        for i in range {
            self.start(i);
        }
        self.run();
    }

    fn outcome(&self, i: usize) -> Written {
        self.results.borrow().get(&format!("dec_{i}")).cloned().unwrap_or_else(|| panic!("dec_{i} not answered"))
    }

    /// The object's alarm fires: the writer ships what waits. Returns whether shipping succeeded.
    fn alarm(&mut self) -> Result<(), BackendError> {
        self.store.0.alarm.set(None);
        let writer = Rc::clone(&self.writer);
        let result = Rc::new(RefCell::new(None));
        let out = Rc::clone(&result);
        self.pool
            .spawner()
            .spawn_local(async move { *out.borrow_mut() = Some(writer.on_alarm().await) })
            .expect("spawn");
        self.run();
        let outcome = result.borrow_mut().take().expect("the alarm finished");
        outcome
    }

    /// The database's rows, in chain order, verified against the writer's head.
    fn verified_rows(&self) -> Vec<AuditRecord> {
        let mut rows = self.db.0.rows.borrow().clone();
        rows.sort_by_key(|r| r.record.chain_seq);
        let mut verifier = Verifier::default();
        for r in &rows {
            verifier.push(r);
        }
        let report = verifier.finish(&self.writer.head());
        assert!(report.breaks.is_empty(), "chain breaks: {:?}", report.breaks);
        rows.into_iter().map(|r| r.record).collect()
    }
}

fn durable(w: &Written) -> &AuditRecord {
    match w {
        Written::Durable(r) => r,
        other => panic!("expected Durable, got {other:?}"),
    }
}

#[test]
fn decisions_are_answered_once_committed_locally_and_share_one_commit() {
    let mut h = Harness::new();
    h.db.0.gate.close();
    h.write_all(0..5);
    for i in 0..5 {
        assert!(durable(&h.outcome(i)).allowed, "answered while the database has nothing");
    }
    assert_eq!(*h.store.0.commits.borrow(), vec![(5, 0)], "five concurrent decisions, one storage write");
    assert!(h.db.0.rows.borrow().is_empty());
    h.write_all(5..8);
    assert_eq!(h.store.0.commits.borrow()[1], (8, 0), "rows the database has not taken stay inline");
    h.db.0.gate.open();
    h.run();
    assert_eq!(*h.db.0.batches.borrow(), vec![5, 3], "shipped in the background, oldest first");
    let seqs: Vec<i64> = h.verified_rows().iter().map(|r| r.chain_seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert_eq!(h.writer.waiting(), 0);
    for i in 0..8 {
        assert_eq!(durable(&h.outcome(i)), &h.verified_rows()[i], "the answer is what the row says");
    }
}

#[test]
fn the_first_commit_arms_one_wake_up_and_an_idle_alarm_does_not_rearm() {
    let mut h = Harness::new();
    h.write_all(0..1);
    assert_eq!(h.store.0.alarm.get(), Some(SHIP_ALARM_MS));
    h.store.0.alarm.set(None);
    h.write_all(1..2);
    assert_eq!(h.store.0.alarm.get(), None, "already armed: no second alarm write");
    assert!(h.alarm().is_ok());
    assert_eq!(h.store.0.alarm.get(), None, "nothing waits: nothing armed");
    h.write_all(2..3);
    assert_eq!(h.store.0.alarm.get(), Some(SHIP_ALARM_MS), "the next commit arms it again");
    assert_eq!(h.verified_rows().len(), 3);
}

#[test]
fn while_the_database_is_down_decisions_stand_and_their_rows_arrive_in_order_once_it_is_back() {
    let mut h = Harness::new();
    h.db.0.down.set(true);
    h.write_all(0..3);
    for i in 0..3 {
        let w = h.outcome(i);
        assert!(!w.answers_unavailable(), "a database outage denies nothing: {w:?}");
    }
    assert_eq!(h.store.0.alarm.get(), Some(FIRST_RETRY_MS), "a refusal arms the retry");
    // Rows keep arriving during the outage: past MAX_INLINE they move to spill entries.
    for round in 0..4 {
        h.write_all(3 + round * 10..13 + round * 10);
    }
    assert!(h.store.0.commits.borrow().iter().any(|c| c.1 > 0), "rows spilled: {:?}", h.store.0.commits.borrow());
    assert!(h.store.0.commits.borrow().iter().all(|c| c.0 <= MAX_INLINE), "the inline value stays small");
    assert_eq!(h.writer.waiting(), 43);
    assert_eq!(h.store.kept(), 43, "every waiting row is in storage");
    let mut delays = Vec::new();
    for _ in 0..6 {
        assert!(h.alarm().is_err());
        delays.push(h.store.0.alarm.get().unwrap());
    }
    assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000], "back-off doubles, capped");

    h.db.0.down.set(false);
    assert!(h.alarm().is_ok());
    let rows = h.verified_rows();
    assert_eq!(rows.len(), 43);
    assert_eq!(
        rows.iter().map(|r| r.decision_id.clone()).collect::<Vec<_>>(),
        (0..43).map(|i| format!("dec_{i}")).collect::<Vec<_>>()
    );
    assert!(h.store.0.spills.borrow().is_empty(), "spill entries are removed once shipped");
    assert_eq!(h.writer.waiting(), 0);
    h.write_all(43..44);
    assert_eq!(h.store.0.commits.borrow().last().unwrap(), &(1, 0), "shipped rows leave the inline value");
}

#[test]
fn a_batch_the_object_cannot_store_is_lost_and_leaves_the_chain_untouched() {
    let mut h = Harness::new();
    h.store.0.fail_commits.set(1);
    h.write_all(0..1);
    assert!(matches!(h.outcome(0), Written::Lost(_)));
    assert!(h.outcome(0).answers_unavailable());
    assert_eq!(h.writer.head(), ChainHead::default());
    h.write_all(1..2);
    assert_eq!(durable(&h.outcome(1)).chain_seq, 1);
    assert_eq!(h.verified_rows().len(), 1);
}

#[test]
fn a_crash_at_any_step_loses_nothing_and_duplicates_nothing() {
    type Crash = fn(&Harness);
    // Each arms a crash in the next batch (twenty rows: enough to spill).
    let crashes: [(&str, Crash); 4] = [
        ("after the commit, before the answer", |h| {
            h.store.0.hang_after_commit_number.set(Some(h.store.0.commits.borrow().len() as u32 + 1))
        }),
        ("after the database committed, before it answered", |h| h.db.0.hang_after_commit.set(true)),
        ("after the database answered, before spill entries were removed", |h| h.store.0.hang_before_remove.set(true)),
        ("while the database is down", |h| h.db.0.down.set(true)),
    ];
    for (name, crash) in crashes {
        let mut h = Harness::new();
        h.write_all(0..3);
        crash(&h);
        h.write_all(3..23);
        h.restart();
        h.db.0.down.set(false);
        // The alarm armed before the crash wakes the restarted object.
        assert!(h.store.0.alarm.get().is_some(), "{name}: a wake-up is pending");
        assert!(h.alarm().is_ok(), "{name}");
        h.write_all(23..24);
        let rows = h.verified_rows();
        let ids: Vec<&str> = rows.iter().map(|r| r.decision_id.as_str()).collect();
        let answered = h.results.borrow().len();
        assert!(ids.len() >= answered, "{name}: every answered decision has its row: {ids:?}");
        assert!(h.store.0.conflicts.borrow().is_empty(), "{name}: a replayed row is not a conflict");
        assert!(h.store.0.spills.borrow().is_empty(), "{name}: nothing is left spilled");
        for (id, w) in h.results.borrow().iter() {
            let row = rows.iter().find(|r| &r.decision_id == id).unwrap_or_else(|| panic!("{name}: {id} has no row"));
            assert_eq!(durable(w), row, "{name}: {id}: the answer is what the row says");
        }
    }
}

#[test]
fn a_row_already_written_with_the_same_content_is_not_written_twice() {
    let mut h = Harness::new();
    h.write_all(0..2);
    assert_eq!(h.verified_rows().len(), 2);
    // The object restarts with the shipped rows still in its inline value.
    assert_eq!(h.store.0.inline.borrow().len(), 2);
    h.restart();
    assert!(h.alarm().is_ok());
    h.write_all(2..3);
    assert_eq!(h.verified_rows().len(), 3);
    assert_eq!(h.db.0.batches.borrow().iter().sum::<usize>(), 5, "the two replayed rows were recognised");
    assert!(h.store.0.conflicts.borrow().is_empty());
}

#[test]
fn a_different_row_already_at_a_decisions_place_is_an_integrity_alarm() {
    let mut h = Harness::new();
    h.write_all(0..1);
    // A row planted at the next chain position, and one under the next decision's id.
    let mut planted = record(99);
    planted.chain_seq = 2;
    planted.prev_hash = h.writer.head().hash;
    let mut same_id = record(2);
    same_id.allowed = false;
    same_id.chain_seq = 50;
    for r in [planted, same_id] {
        h.db.0.rows.borrow_mut().push(StoredRow { row_hash: r.hash(), record: r });
    }
    h.write_all(1..3);
    let conflicts = h.store.0.conflicts.borrow().clone();
    let ids: Vec<&str> = conflicts.iter().map(|c| c.record.decision_id.as_str()).collect();
    assert_eq!(ids, ["dec_1", "dec_2"], "both conflicts are reported, not silently kept");
    assert!(conflicts[0].found.starts_with("dec_99 "));
    assert_eq!(conflicts[0].record.chain_seq, 2);
    assert_eq!(conflicts[0].expected_hash, conflicts[0].record.hash());
}

#[test]
fn past_the_backlog_bound_decisions_are_lost_not_queued() {
    let mut h = Harness::new();
    let mut head = ChainHead::default();
    let rows: Vec<AuditRecord> = (0..MAX_BACKLOG)
        .map(|i| {
            let mut r = record(1000 + i);
            head.append(&mut r);
            r
        })
        .collect();
    h.db.0.down.set(true);
    let restored = Restored { head, spills: vec![(1, MAX_BACKLOG as i64)], rows };
    h.writer = Rc::new(AuditWriter::new(h.store.clone(), h.db.clone(), None, restored));
    h.write_all(0..1);
    assert!(matches!(h.outcome(0), Written::Lost(_)));
}

#[test]
fn catching_up_ships_the_backlog_and_a_waiting_row_is_readable_until_then() {
    let mut h = Harness::new();
    h.db.0.down.set(true);
    h.write_all(0..3);
    assert_eq!(h.writer.waiting(), 3);
    assert_eq!(h.writer.waiting_row("dec_1").map(|r| r.chain_seq), Some(2));
    assert!(h.writer.waits_for("org_1") && !h.writer.waits_for("org_2"), "the rows name their organization");
    assert!(futures::executor::block_on(h.writer.catch_up()).is_err(), "the database still refuses");
    h.db.0.down.set(false);
    futures::executor::block_on(h.writer.catch_up()).expect("catch up");
    assert_eq!(h.writer.waiting(), 0);
    assert_eq!(h.writer.waiting_row("dec_1"), None);
    assert!(!h.writer.waits_for("org_1"));
    assert_eq!(h.verified_rows().len(), 3);
}

#[test]
fn through_a_queue_rows_are_forgotten_only_once_the_consumer_confirms_them() {
    let mut h = Harness::with_queue();
    h.write_all(0..3);
    h.write_all(3..5);
    assert!(h.db.0.rows.borrow().is_empty(), "the writer does not write to the database itself");
    assert_eq!(h.queue.as_ref().unwrap().0.messages.borrow().len(), 2, "one message per shipment");
    assert_eq!(h.writer.waiting(), 5, "sent is not confirmed");
    assert_eq!(h.consume(), 5, "the consumer writes both messages' rows in one batch");
    assert_eq!(*h.db.0.batches.borrow(), vec![5]);
    assert_eq!(h.writer.waiting(), 0);
    assert_eq!(h.verified_rows().len(), 5);
    assert!(h.alarm().is_ok());
    assert_eq!(h.db.0.batches.borrow().len(), 1, "nothing overdue: the alarm writes nothing");
}

#[test]
fn a_shipment_lingers_so_the_decisions_made_meanwhile_travel_in_one_message() {
    let mut h = Harness::with_queue();
    h.store.0.timer.close();
    // Three commits one after the other (as at concurrency 1), all while the shipment lingers.
    h.write_all(0..1);
    h.write_all(1..2);
    h.write_all(2..3);
    for i in 0..3 {
        durable(&h.outcome(i));
    }
    assert_eq!(h.store.0.commits.borrow().len(), 3, "each answered after its own commit");
    assert!(h.queue.as_ref().unwrap().0.messages.borrow().is_empty(), "nothing sent while lingering");
    assert_eq!(*h.store.0.lingers.borrow(), vec![SHIP_LINGER_MS], "one shipment scheduled for the three");
    h.store.0.timer.open();
    h.run();
    let sizes: Vec<usize> = h.queue.as_ref().unwrap().0.messages.borrow().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3], "one message with the three rows");
    assert_eq!(h.consume(), 3);
    assert_eq!(h.writer.waiting(), 0);
    // The next commit schedules the next shipment.
    h.write_all(3..4);
    assert_eq!(h.store.0.lingers.borrow().len(), 2);
    assert_eq!(h.queue.as_ref().unwrap().0.messages.borrow().len(), 1);
    assert_eq!(h.consume(), 1);
    assert_eq!(h.verified_rows().len(), 4);
}

#[test]
fn rows_committed_while_a_shipment_runs_go_with_it_without_waiting_for_the_alarm() {
    let mut h = Harness::new();
    h.db.0.gate.close();
    h.write_all(0..2);
    // The shipment of rows 0 and 1 hangs in the database; rows 2 and 3 commit meanwhile.
    h.write_all(2..4);
    assert_eq!(h.db.0.batches.borrow().len(), 0);
    h.db.0.gate.open();
    h.run();
    assert_eq!(
        *h.db.0.batches.borrow(),
        vec![2, 2],
        "the running shipment takes the late rows too: no commit needed, nothing left for the alarm"
    );
    assert_eq!(h.writer.waiting(), 0);
    assert_eq!(h.verified_rows().len(), 4);
}

#[test]
fn rows_a_queue_loses_reach_the_database_by_the_second_alarm() {
    let mut h = Harness::with_queue();
    h.write_all(0..4);
    h.queue.as_ref().unwrap().0.messages.borrow_mut().clear(); // lost in transit
    assert!(h.alarm().is_ok());
    assert!(h.db.0.rows.borrow().is_empty(), "sent in this alarm period: not overdue yet");
    assert_eq!(h.store.0.alarm.get(), Some(SHIP_ALARM_MS), "rows wait: the next wake-up is armed");
    assert!(h.alarm().is_ok());
    assert_eq!(h.verified_rows().len(), 4, "overdue rows are written straight to the database");
    assert_eq!(h.writer.waiting(), 0);
    assert_eq!(h.store.0.alarm.get(), None, "nothing waits: nothing armed");
}

#[test]
fn a_late_confirmation_and_a_duplicate_delivery_write_nothing_twice() {
    let mut h = Harness::with_queue();
    h.write_all(0..3);
    let sent: Vec<Vec<AuditRecord>> = h.queue.as_ref().unwrap().0.messages.borrow().clone();
    futures::executor::block_on(h.writer.catch_up()).expect("catch up");
    assert_eq!(h.verified_rows().len(), 3);
    // The queue delivers what it had anyway, twice (at least once).
    for _ in 0..2 {
        h.queue.as_ref().unwrap().0.messages.borrow_mut().extend(sent.iter().cloned());
        h.consume();
    }
    assert_eq!(h.verified_rows().len(), 3);
    assert!(h.store.0.conflicts.borrow().is_empty(), "a replayed row is not a conflict");
}

#[test]
fn a_queue_that_refuses_falls_back_to_the_database_on_the_alarm() {
    let mut h = Harness::with_queue();
    h.queue.as_ref().unwrap().0.refuse.set(true);
    h.write_all(0..2);
    assert!(!h.outcome(0).answers_unavailable(), "a refused hand-over denies nothing");
    assert_eq!(h.store.0.alarm.get(), Some(FIRST_RETRY_MS), "the refusal arms the retry");
    assert!(h.alarm().is_ok());
    assert_eq!(h.verified_rows().len(), 2, "after a refusal the alarm writes straight to the database");
}

#[test]
fn conflicts_the_consumer_found_are_kept_with_their_rows() {
    let mut h = Harness::with_queue();
    h.write_all(0..1);
    let mut planted = record(99);
    planted.chain_seq = 1;
    h.db.0.rows.borrow_mut().push(StoredRow { row_hash: planted.hash(), record: planted });
    h.consume();
    let conflicts = h.store.0.conflicts.borrow().clone();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].record.decision_id, "dec_0");
    assert_eq!(h.writer.waiting(), 0, "a conflicting row counts as done once its alarm is kept");
}

#[test]
fn message_bodies_stay_under_the_limit_and_keep_every_row_in_order() {
    let rows: Vec<AuditRecord> = (0..40)
        .map(|i| {
            let mut r = record(i);
            r.reasoning = Some("x".repeat(9_000));
            r
        })
        .collect();
    let bodies = message_bodies(&rows, 100_000).unwrap();
    assert!(bodies.len() > 1);
    assert!(bodies.iter().all(|b| b.len() <= 100_000));
    let back: Vec<AuditRecord> =
        bodies.iter().flat_map(|b| serde_json::from_str::<Vec<AuditRecord>>(b).unwrap()).collect();
    assert_eq!(back, rows);
    assert!(message_bodies(&[], 100_000).unwrap().is_empty());
}
