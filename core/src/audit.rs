//! The tamper-evident audit chain.
//!
//! Each agent's decisions form a chain: row `n` stores `prev_hash` (row `n-1`'s hash, or 64 zeros
//! for the first row) and `row_hash = SHA-256(prev_hash | canonical JSON of the row's fields)`.
//! The agent's Durable Object keeps the chain head (last sequence number and hash) in its own
//! storage, apart from the rows in D1, so rewriting, deleting or inserting rows in the database
//! breaks a link that [`verify`] reports.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One decision as stored, with its place in the agent's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub decision_id: String,
    pub org_id: String,
    pub request_id: String,
    pub agent_id: String,
    pub tool: String,
    pub scope: String,
    pub allowed: bool,
    pub reason: String,
    pub reasoning: Option<String>,
    pub reasoning_required: String,
    pub reasoning_provided: bool,
    /// Redacted context as JSON text.
    pub context: Option<String>,
    /// Redacted arguments as JSON text.
    #[serde(default)]
    pub arguments: Option<String>,
    /// The explanation of a rule's decision as JSON text.
    #[serde(default)]
    pub explanation: Option<String>,
    /// What shadow rules would have done, as a JSON array (none: null).
    #[serde(default)]
    pub shadow: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
    pub chain_seq: i64,
    pub prev_hash: String,
}

impl AuditRecord {
    /// The hash that links this row: over `prev_hash` and every other field. The fields added
    /// with policies (`arguments`, `explanation`, `shadow`) are appended only when one is set, so
    /// rows written before them hash as they always did.
    pub fn hash(&self) -> String {
        let mut canonical = serde_json::json!([
            self.chain_seq,
            self.decision_id,
            self.org_id,
            self.request_id,
            self.agent_id,
            self.tool,
            self.scope,
            self.allowed,
            self.reason,
            self.reasoning,
            self.reasoning_required,
            self.reasoning_provided,
            self.context,
            self.latency_ms,
            self.created_at,
        ]);
        if self.arguments.is_some() || self.explanation.is_some() || self.shadow.is_some() {
            let list = canonical.as_array_mut().expect("an array");
            list.extend([self.arguments.clone().into(), self.explanation.clone().into(), self.shadow.clone().into()]);
        }
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"|");
        h.update(canonical.to_string().as_bytes());
        crate::keys::hex(&h.finalize())
    }
}

/// The last link of a chain, kept by the agent's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        ChainHead { seq: 0, hash: GENESIS.to_string() }
    }
}

impl ChainHead {
    /// Links `record` after this head and advances the head to it.
    pub fn append(&mut self, record: &mut AuditRecord) {
        record.chain_seq = self.seq + 1;
        record.prev_hash = self.hash.clone();
        self.seq = record.chain_seq;
        self.hash = record.hash();
    }
}

/// A stored row: the record and the hash stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRow {
    pub record: AuditRecord,
    pub row_hash: String,
}

/// A problem found walking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    /// The sequence number where the chain breaks.
    pub chain_seq: i64,
    /// The row at that place, when there is one.
    pub decision_id: Option<String>,
    pub problem: String,
}

/// Most breaks one verification lists; the rest are counted.
pub const MAX_BREAKS: usize = 100;

/// Incremental verification, so rows can be read page by page. It reports every break, not only
/// the first: after a break it continues from the row it found, so one edited or deleted row is
/// one break and later damage is reported too.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: i64,
    expected_prev: String,
    rows_checked: u64,
    breaks: Vec<BrokenLink>,
    breaks_omitted: u64,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub rows_checked: u64,
    /// The breaks found, in chain order, at most [`MAX_BREAKS`].
    pub breaks: Vec<BrokenLink>,
    /// Breaks found beyond [`MAX_BREAKS`].
    pub breaks_omitted: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            expected_prev: GENESIS.to_string(),
            rows_checked: 0,
            breaks: Vec::new(),
            breaks_omitted: 0,
        }
    }
}

impl Verifier {
    /// Records a problem found outside the chain's own links (a row in the wrong organization,
    /// an integrity alarm raised when writing).
    pub fn report(&mut self, broken: BrokenLink) {
        if self.breaks.len() < MAX_BREAKS {
            self.breaks.push(broken);
        } else {
            self.breaks_omitted += 1;
        }
    }

    /// Checks the next row (rows must come in ascending `chain_seq`).
    pub fn push(&mut self, row: &StoredRow) {
        let r = &row.record;
        let broken =
            |problem: String| BrokenLink { chain_seq: r.chain_seq, decision_id: Some(r.decision_id.clone()), problem };
        if r.chain_seq < self.expected_seq {
            let b = broken(format!(
                "sequence number {} repeats or goes back (expected {})",
                r.chain_seq, self.expected_seq
            ));
            return self.report(b);
        }
        let mut linked = true;
        if r.chain_seq > self.expected_seq {
            let missing = if r.chain_seq == self.expected_seq + 1 {
                format!("row {} is missing", self.expected_seq)
            } else {
                format!("rows {} to {} are missing", self.expected_seq, r.chain_seq - 1)
            };
            self.report(BrokenLink {
                chain_seq: self.expected_seq,
                decision_id: None,
                problem: format!("{missing} (next row found is {})", r.chain_seq),
            });
            // Continue from this row: its own link cannot be checked.
            linked = false;
        }
        if linked && r.prev_hash != self.expected_prev {
            self.report(broken("prev_hash does not match the previous row's hash".into()));
        }
        if r.hash() != row.row_hash {
            self.report(broken("row content does not match its hash: the row was modified".into()));
        }
        // The next row links to the hash stored here: an edited row is one break, not two.
        self.expected_seq = r.chain_seq + 1;
        self.expected_prev = row.row_hash.clone();
        self.rows_checked += 1;
    }

    /// Checks that the rows seen end exactly at the head the agent's object holds, and returns
    /// everything found.
    pub fn finish(mut self, head: &ChainHead) -> Verification {
        let last = self.expected_seq - 1;
        if last < head.seq {
            self.report(BrokenLink {
                chain_seq: last + 1,
                decision_id: None,
                problem: format!("rows {} to {} are missing (the chain head is at {})", last + 1, head.seq, head.seq),
            });
        } else if last > head.seq {
            self.report(BrokenLink {
                chain_seq: head.seq + 1,
                decision_id: None,
                problem: format!("rows after the chain head ({}) were inserted", head.seq),
            });
        } else if self.expected_prev != head.hash {
            self.report(BrokenLink {
                chain_seq: last,
                decision_id: None,
                problem: "the last row's hash does not match the chain head".into(),
            });
        }
        Verification { rows_checked: self.rows_checked, breaks: self.breaks, breaks_omitted: self.breaks_omitted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: i64) -> AuditRecord {
        AuditRecord {
            decision_id: format!("dec_{i}"),
            org_id: "org_1".into(),
            request_id: format!("req_{i}"),
            agent_id: "agt_1".into(),
            tool: "fs".into(),
            scope: "write".into(),
            allowed: i % 2 == 0,
            reason: "allowed".into(),
            reasoning: Some(format!("because {i}")),
            reasoning_required: "none".into(),
            reasoning_provided: true,
            context: None,
            arguments: None,
            explanation: None,
            shadow: None,
            latency_ms: 3,
            created_at: 1_000 + i,
            chain_seq: 0,
            prev_hash: String::new(),
        }
    }

    #[test]
    fn rows_without_policy_fields_hash_as_before_and_the_new_fields_are_covered() {
        let r = record(1);
        // The hash of such a row, as computed before policies existed (15 fields).
        let old = {
            let canonical = serde_json::json!([
                r.chain_seq,
                r.decision_id,
                r.org_id,
                r.request_id,
                r.agent_id,
                r.tool,
                r.scope,
                r.allowed,
                r.reason,
                r.reasoning,
                r.reasoning_required,
                r.reasoning_provided,
                r.context,
                r.latency_ms,
                r.created_at,
            ]);
            let mut h = Sha256::new();
            h.update(r.prev_hash.as_bytes());
            h.update(b"|");
            h.update(canonical.to_string().as_bytes());
            crate::keys::hex(&h.finalize())
        };
        assert_eq!(r.hash(), old);
        for edit in [
            |r: &mut AuditRecord| r.arguments = Some("{\"amount\":5}".into()),
            |r: &mut AuditRecord| r.explanation = Some("{}".into()),
            |r: &mut AuditRecord| r.shadow = Some("[]".into()),
        ] {
            let mut changed = r.clone();
            edit(&mut changed);
            assert_ne!(changed.hash(), old);
        }
    }

    fn chain(n: i64) -> (Vec<StoredRow>, ChainHead) {
        let mut head = ChainHead::default();
        let rows = (1..=n)
            .map(|i| {
                let mut r = record(i);
                head.append(&mut r);
                StoredRow { row_hash: head.hash.clone(), record: r }
            })
            .collect();
        (rows, head)
    }

    /// The rows checked, or the first break.
    fn verify(rows: &[StoredRow], head: &ChainHead) -> Result<u64, BrokenLink> {
        let report = verify_all(rows, head);
        match report.breaks.into_iter().next() {
            Some(b) => Err(b),
            None => Ok(report.rows_checked),
        }
    }

    fn verify_all(rows: &[StoredRow], head: &ChainHead) -> Verification {
        let mut v = Verifier::default();
        for r in rows {
            v.push(r);
        }
        v.finish(head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (rows, head) = chain(5);
        assert_eq!(verify(&rows, &head), Ok(5));
        assert_eq!(verify(&[], &ChainHead::default()), Ok(0));
    }

    #[test]
    fn an_edited_row_is_named() {
        let (mut rows, head) = chain(5);
        rows[2].record.reasoning = Some("forged".into());
        let err = verify(&rows, &head).unwrap_err();
        assert_eq!(err.chain_seq, 3);
        assert_eq!(err.decision_id.as_deref(), Some("dec_3"));
        assert!(err.problem.contains("modified"));
    }

    #[test]
    fn an_edited_row_with_a_recomputed_hash_breaks_the_next_link() {
        let (mut rows, head) = chain(5);
        rows[1].record.allowed = !rows[1].record.allowed;
        rows[1].row_hash = rows[1].record.hash();
        let err = verify(&rows, &head).unwrap_err();
        assert_eq!(err.chain_seq, 3);
    }

    #[test]
    fn a_deleted_row_is_reported_missing() {
        let (mut rows, head) = chain(5);
        rows.remove(3);
        let err = verify(&rows, &head).unwrap_err();
        assert_eq!(err.chain_seq, 4);
        assert!(err.problem.contains("missing"));
    }

    #[test]
    fn deleting_the_newest_rows_is_caught_by_the_head() {
        let (mut rows, head) = chain(5);
        rows.truncate(3);
        let err = verify(&rows, &head).unwrap_err();
        assert_eq!(err.chain_seq, 4);
    }

    #[test]
    fn a_rewritten_whole_chain_does_not_match_the_head() {
        let (_, head) = chain(3);
        let mut forged_head = ChainHead::default();
        let forged: Vec<_> = (1..=3)
            .map(|i| {
                let mut r = record(i);
                r.reasoning = None;
                forged_head.append(&mut r);
                StoredRow { row_hash: forged_head.hash.clone(), record: r }
            })
            .collect();
        assert!(verify(&forged, &head).is_err());
    }

    #[test]
    fn every_break_is_reported_not_only_the_first() {
        let (mut rows, head) = chain(10);
        rows[1].record.reasoning = Some("forged".into());
        rows.remove(5);
        rows[7].record.allowed = !rows[7].record.allowed;
        let report = verify_all(&rows, &head);
        let at: Vec<i64> = report.breaks.iter().map(|b| b.chain_seq).collect();
        assert_eq!(at, [2, 6, 9], "{:?}", report.breaks);
        assert_eq!(report.rows_checked, 9);
    }

    #[test]
    fn breaks_beyond_the_bound_are_counted() {
        let (mut rows, head) = chain(MAX_BREAKS as i64 + 20);
        for r in rows.iter_mut() {
            r.record.tool = "forged".into();
        }
        let report = verify_all(&rows, &head);
        assert_eq!(report.breaks.len(), MAX_BREAKS);
        assert_eq!(report.breaks_omitted, 20);
    }
}
