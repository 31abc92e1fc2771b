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

/// The object's storage: chain head, pending rows, conflicts.
#[derive(Default)]
struct Store {
    head: RefCell<ChainHead>,
    pending: RefCell<BTreeMap<i64, AuditRecord>>,
    conflicts: RefCell<Vec<Conflict>>,
    /// The next this many `put_pending` calls fail.
    fail_puts: Cell<u32>,
    /// `put_pending` number n (1-based) fails.
    fail_put_number: Cell<Option<u32>>,
    puts: Cell<u32>,
    /// `put_pending` number n is applied, then hangs (a crash right after the write).
    hang_after_put_number: Cell<Option<u32>>,
    hang_before_remove: Cell<bool>,
    gate: Gate,
}

#[derive(Clone, Default)]
struct MemStore(Rc<Store>);

impl PendingStore for MemStore {
    async fn put_pending(&self, head: &ChainHead, records: &[AuditRecord]) -> Result<(), BackendError> {
        let s = &self.0;
        s.puts.set(s.puts.get() + 1);
        if s.fail_puts.get() > 0 {
            s.fail_puts.set(s.fail_puts.get() - 1);
            return Err(BackendError("storage refused".into()));
        }
        if s.fail_put_number.get() == Some(s.puts.get()) {
            return Err(BackendError("storage refused".into()));
        }
        *s.head.borrow_mut() = head.clone();
        s.pending.borrow_mut().extend(records.iter().map(|r| (r.chain_seq, r.clone())));
        if s.hang_after_put_number.get() == Some(s.puts.get()) {
            s.gate.close();
        }
        s.gate.pass().await;
        Ok(())
    }
    async fn remove_pending(&self, chain_seqs: &[i64]) -> Result<(), BackendError> {
        if self.0.hang_before_remove.get() {
            self.0.gate.close();
            self.0.gate.pass().await;
        }
        for seq in chain_seqs {
            self.0.pending.borrow_mut().remove(seq);
        }
        Ok(())
    }
    async fn put_conflicts(&self, conflicts: &[Conflict]) -> Result<(), BackendError> {
        self.0.conflicts.borrow_mut().extend_from_slice(conflicts);
        Ok(())
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

type Writer = AuditWriter<MemStore, MemDb>;

struct Harness {
    pool: LocalPool,
    store: MemStore,
    db: MemDb,
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
        let writer = Rc::new(AuditWriter::new(store.clone(), db.clone(), ChainHead::default(), Vec::new()));
        Harness { pool: LocalPool::new(), store, db, writer, results: Rc::default() }
    }

    /// The object restarts after a crash: everything in flight is gone; a new writer starts from
    /// what the store holds.
    fn restart(&mut self) {
        self.pool = LocalPool::new();
        self.store.0.hang_after_put_number.set(None);
        self.store.0.fail_put_number.set(None);
        self.store.0.hang_before_remove.set(false);
        self.store.0.gate.open();
        self.db.0.hang_after_commit.set(false);
        self.db.0.gate.open();
        let head = self.store.0.head.borrow().clone();
        let pending = self.store.0.pending.borrow().values().cloned().collect();
        self.writer = Rc::new(AuditWriter::new(self.store.clone(), self.db.clone(), head, pending));
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

fn stored(w: &Written) -> &AuditRecord {
    match w {
        Written::Stored(r) => r,
        other => panic!("expected Stored, got {other:?}"),
    }
}

#[test]
fn rows_queued_while_a_batch_is_written_go_together_in_the_next_batch() {
    let mut h = Harness::new();
    h.db.0.gate.close();
    h.write_all(0..5);
    assert!(h.results.borrow().is_empty(), "nothing is answered before the database has the rows");
    h.write_all(5..8);
    h.db.0.gate.open();
    h.run();
    assert_eq!(*h.db.0.batches.borrow(), vec![5, 3]);
    for i in 0..8 {
        assert!(stored(&h.outcome(i)).allowed);
    }
    let seqs: Vec<i64> = h.verified_rows().iter().map(|r| r.chain_seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert!(h.store.0.pending.borrow().is_empty(), "pending copies are removed once written");
}

#[test]
fn a_refused_batch_is_relinked_as_unavailable_denies_written_ahead_of_newer_rows() {
    let mut h = Harness::new();
    h.db.0.down.set(true);
    h.write_all(0..2);
    for i in 0..2 {
        let w = h.outcome(i);
        assert!(matches!(w, Written::Deferred(_)), "{w:?}");
        assert!(w.answers_unavailable());
    }
    assert_eq!(h.writer.waiting(), 2);
    let pending: Vec<AuditRecord> = h.store.0.pending.borrow().values().cloned().collect();
    assert!(pending.iter().all(|r| !r.allowed && r.reason == "unavailable"), "pending copies say what was answered");

    h.db.0.down.set(false);
    h.write_all(2..3);
    assert!(!h.outcome(2).answers_unavailable());
    let rows = h.verified_rows();
    assert_eq!(rows.iter().map(|r| r.decision_id.as_str()).collect::<Vec<_>>(), ["dec_0", "dec_1", "dec_2"]);
    assert_eq!(rows.iter().map(|r| r.allowed).collect::<Vec<_>>(), [false, false, true]);
    assert_eq!(h.writer.waiting(), 0);
}

#[test]
fn a_refused_batch_whose_relinked_copy_cannot_be_stored_is_answered_unavailable() {
    // The double fault: the database refuses, then storing the relinked rows fails too.
    let mut h = Harness::new();
    h.db.0.down.set(true);
    h.store.0.fail_put_number.set(Some(2));
    h.write_all(0..1);
    let w = h.outcome(0);
    assert!(matches!(w, Written::Unconfirmed(_)), "{w:?}");
    assert!(w.answers_unavailable(), "an allow must never be answered without a row in the database");

    // The decided row is still pending and reaches the database, as decided, before newer rows.
    h.db.0.down.set(false);
    h.write_all(1..2);
    let rows = h.verified_rows();
    assert_eq!(
        rows.iter().map(|r| (r.decision_id.as_str(), r.allowed)).collect::<Vec<_>>(),
        [("dec_0", true), ("dec_1", true)]
    );
}

#[test]
fn a_batch_the_object_cannot_store_is_lost_and_leaves_the_chain_untouched() {
    let mut h = Harness::new();
    h.store.0.fail_puts.set(1);
    h.write_all(0..1);
    assert!(matches!(h.outcome(0), Written::Lost(_)));
    assert_eq!(h.writer.head(), ChainHead::default());
    h.write_all(1..2);
    assert_eq!(stored(&h.outcome(1)).chain_seq, 1);
    assert_eq!(h.verified_rows().len(), 1);
}

#[test]
fn a_crash_at_any_step_loses_nothing_and_duplicates_nothing() {
    type Crash = fn(&Harness, u32);
    // Each arms a crash in the next batch; `puts` is how many puts the store has seen so far.
    let crashes: [(&str, Crash); 4] = [
        ("after storing pending, before the database", |h, puts| h.store.0.hang_after_put_number.set(Some(puts + 1))),
        ("after the database committed, before it answered", |h, _| h.db.0.hang_after_commit.set(true)),
        ("after the database answered, before pending copies were removed", |h, _| {
            h.store.0.hang_before_remove.set(true)
        }),
        ("after relinking a refused batch", |h, puts| {
            h.db.0.down.set(true);
            h.store.0.hang_after_put_number.set(Some(puts + 2));
        }),
    ];
    for (name, crash) in crashes {
        let mut h = Harness::new();
        h.write_all(0..3);
        crash(&h, h.store.0.puts.get());
        h.write_all(3..5);
        assert!(h.results.borrow().get("dec_3").is_none(), "{name}: the crash came before the answer");
        h.restart();
        h.db.0.down.set(false);
        h.write_all(5..6);
        let rows = h.verified_rows();
        let ids: Vec<&str> = rows.iter().map(|r| r.decision_id.as_str()).collect();
        assert_eq!(ids.len(), 6, "{name}: every stored decision reaches the database exactly once: {ids:?}");
        assert!(h.store.0.conflicts.borrow().is_empty(), "{name}: a replayed row is not a conflict");
        assert!(h.store.0.pending.borrow().is_empty(), "{name}: nothing is left pending");
        // Whatever a caller was answered is what its row says.
        for (id, w) in h.results.borrow().iter() {
            let row = rows.iter().find(|r| &r.decision_id == id).unwrap();
            match w {
                Written::Stored(r) | Written::Deferred(r) => assert_eq!(r, row, "{name}: {id}"),
                Written::Unconfirmed(_) | Written::Lost(_) => panic!("{name}: {id}: {w:?}"),
            }
        }
    }
}

#[test]
fn a_row_already_written_with_the_same_content_is_not_written_twice() {
    let mut h = Harness::new();
    h.write_all(0..2);
    // The object restarts with the rows still pending (their removal was lost).
    let head = h.writer.head();
    let rows: Vec<AuditRecord> = h.db.0.rows.borrow().iter().map(|r| r.record.clone()).collect();
    h.writer = Rc::new(AuditWriter::new(h.store.clone(), h.db.clone(), head, rows));
    h.write_all(2..3);
    assert_eq!(h.verified_rows().len(), 3);
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
    let backlog: Vec<AuditRecord> = (0..MAX_DEFERRED)
        .scan(ChainHead::default(), |head, i| {
            let mut r = record(1000 + i);
            head.append(&mut r);
            Some(r)
        })
        .collect();
    h.db.0.down.set(true);
    h.writer = Rc::new(AuditWriter::new(h.store.clone(), h.db.clone(), ChainHead::default(), backlog));
    h.write_all(0..1);
    assert!(matches!(h.outcome(0), Written::Lost(_)));
}

#[test]
fn catching_up_writes_the_backlog_once_the_database_is_back() {
    let mut h = Harness::new();
    h.db.0.down.set(true);
    h.write_all(0..3);
    assert_eq!(h.writer.waiting(), 3);
    h.db.0.down.set(false);
    let writer = Rc::clone(&h.writer);
    futures::executor::block_on(writer.catch_up()).expect("catch up");
    assert_eq!(h.writer.waiting(), 0);
    assert_eq!(h.verified_rows().len(), 3);
}
