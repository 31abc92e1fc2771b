//! Where the CPU of one allowed validate goes, piece by piece, natively (the worker runs the same
//! code compiled to WebAssembly, slower by a roughly constant factor). Each piece is what the
//! worker or the agent's object does once per call, on a realistic body: the key's HMAC, parsing
//! and bounding the body, the JSON of the hop into the object and back, redaction, the audit row's
//! chain hash, the object's committed state value, the receipt (arguments digest and Ed25519
//! signature) and the answer's JSON. The decision itself is in `decision.rs` (about 0.2 µs).
//!
//! Run: `cargo bench --manifest-path bench/Cargo.toml --bench per_call`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use oakauth_core::audit::{AuditRecord, ChainHead};
use oakauth_core::receipt::{Claims, KeyRing};
use oakauth_core::wire::ValidateRequest;
use oakauth_core::{keys, limits, redact};
use serde_json::{json, Map, Value};

const BODY: &str = r#"{"tool":"payments","scope":"charge","reasoning":"the customer asked to pay invoice 2291 of 250 EUR today","arguments":{"amount":250,"currency":"EUR","invoice":"2291","path":"/work/reports/2026/q3.csv"},"context":{"session":"s-81","user":"u-1234"}}"#;

fn record(i: i64) -> AuditRecord {
    AuditRecord {
        decision_id: format!("dec_5kX0q2Vb8xT1ZkP9aLd3{i:020}"),
        org_id: "org_4mQ0c2Vb8xT1ZkP9aLd3".into(),
        request_id: "req_Xc81c2Vb8xT1ZkP9aLd3".into(),
        agent_id: "agt_5kX0q2Vb8xT1ZkP9aLd3".into(),
        tool: "payments".into(),
        scope: "charge".into(),
        allowed: true,
        reason: "allowed".into(),
        reasoning: Some("the customer asked to pay invoice 2291 of 250 EUR today".into()),
        reasoning_required: "hard".into(),
        reasoning_provided: true,
        context: Some(r#"{"session":"s-81","user":"u-1234"}"#.into()),
        arguments: Some(r#"{"amount":250,"currency":"EUR","invoice":"2291","path":"/work/reports/2026/q3.csv"}"#.into()),
        explanation: None,
        shadow: None,
        latency_ms: 3,
        created_at: 1_796_099_520_981 + i,
        chain_seq: i,
        prev_hash: "0".repeat(64),
    }
}

fn per_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_call");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2)).sample_size(30);
    let secret = b"bench-only-key-hash-secret-0123456789";
    let key = "oak_live_5kX0q2Vb8xT1ZkP9aLd3Xc81c2Vb8xT1ZkP9aLd3";
    group.bench_function("key_hmac", |b| b.iter(|| black_box(keys::hash(secret, black_box(key)))));
    group.bench_function("parse_and_bound_body", |b| {
        b.iter(|| {
            let req: ValidateRequest = serde_json::from_str(black_box(BODY)).unwrap();
            limits::check_validate(&req).unwrap();
            black_box(req)
        })
    });
    let req: ValidateRequest = serde_json::from_str(BODY).unwrap();
    group.bench_function("object_hop_json", |b| {
        // The call to the agent's object (request and a few ids) out and in, and its answer.
        b.iter(|| {
            let call = json!({"agent_id": "agt_5kX0q2Vb8xT1ZkP9aLd3", "key_hash": "h".repeat(64), "request": &req,
                "request_id": "req_Xc81c2Vb8xT1ZkP9aLd3", "started_ms": 1_796_099_520_981i64, "client_ip": "203.0.113.7"});
            let text = serde_json::to_string(&call).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            black_box(back)
        })
    });
    group.bench_function("redact_row_fields", |b| {
        b.iter(|| {
            let reasoning = redact::text(req.reasoning.as_deref().unwrap());
            let args = serde_json::to_string(&redact::arguments(req.arguments.as_ref().unwrap())).unwrap();
            let ctx = serde_json::to_string(&redact::context(req.context.as_ref().unwrap())).unwrap();
            black_box((reasoning, args, ctx))
        })
    });
    let row = record(7);
    group.bench_function("row_chain_hash", |b| b.iter(|| black_box(black_box(&row).hash())));
    for rows in [1usize, 8] {
        let head = ChainHead::default();
        let inline: Vec<AuditRecord> = (0..rows as i64).map(record).collect();
        group.bench_function(format!("state_value_json_{rows}_rows"), |b| {
            b.iter(|| {
                let state = json!({"head": &head, "bucket": {"tokens": 59.0, "updated_ms": 1_796_099_520_981i64}, "rows": &inline});
                black_box(serde_json::to_string(&state).unwrap())
            })
        });
    }
    let ring = KeyRing::parse("bench-1:1O8gdASXYvOlPwAhsxaGP_-ttRZvCSmixqeHOECsbsw").unwrap();
    let arguments: Option<&Map<String, Value>> = req.arguments.as_ref();
    group.bench_function("receipt_digest_and_sign", |b| {
        b.iter(|| {
            let claims = Claims::new(
                "https://oakauth.example",
                "org_4mQ0c2Vb8xT1ZkP9aLd3",
                "agt_5kX0q2Vb8xT1ZkP9aLd3",
                ("payments", "charge"),
                arguments,
                "dec_5kX0q2Vb8xT1ZkP9aLd3",
                1_796_099_520_981,
            );
            black_box(ring.sign(&claims).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, per_call);
criterion_main!(benches);
