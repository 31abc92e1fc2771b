//! The Rust wire types against the API contract, `docs/openapi.yaml`.
//!
//! For every object schema of the spec there is a Rust value here, once with every `Option` set
//! (its JSON must have exactly the schema's `properties`) and once with every `Option` at `None`
//! (its JSON must have exactly the schema's `required` properties, plus any property with a
//! `default` that Rust writes out: the default made explicit, as `source` of a condition test).
//! The walk follows `$ref`, `oneOf` (of objects: the one branch whose properties the JSON has),
//! arrays and maps into nested schemas, checks each JSON type and that a `null` is one the
//! schema allows (a schema without `type` takes any JSON value, null included), and each closed
//! set of names in the spec equals the Rust enum's `ALL`. So a
//! property added, removed, renamed or made optional in the spec without the same change in
//! `core/src/wire.rs` fails here, and so does a new object schema nobody samples.
//!
//! The TypeScript SDK is generated from the same file (`sdk-ts/src/generated/openapi.ts`, checked
//! by `sdk-ts/test/contract.test.mjs`). A Python SDK would do what this file does: build each
//! Pydantic model fully populated and with every optional field unset, dump it with
//! `model_dump(mode="json", exclude_none=...)` and compare its keys with the same
//! `components.schemas` entries, and compare its `Literal`/`Enum` members with the same `enum`
//! lists. The walk below is small enough to port as it is.

use std::collections::{BTreeMap, BTreeSet};

use oakauth_core::audit::BrokenLink;
use oakauth_core::wire::accounts::*;
use oakauth_core::wire::plans::*;
use oakauth_core::wire::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
struct Spec {
    components: Components,
}

#[derive(Deserialize)]
struct Components {
    schemas: BTreeMap<String, Value>,
}

fn schemas() -> BTreeMap<String, Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read docs/openapi.yaml");
    serde_norway::from_str::<Spec>(&text).expect("parse docs/openapi.yaml").components.schemas
}

struct Walk<'a> {
    schemas: &'a BTreeMap<String, Value>,
    errors: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Sample {
    /// Every `Option` is `Some`: the JSON must carry every property of the schema.
    Full,
    /// Every `Option` is `None`: the JSON must carry the required properties and no others.
    Minimal,
}

impl Walk<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
                self.resolve(self.schemas.get(name).unwrap_or_else(|| panic!("dangling $ref {r}")))
            }
            None => schema,
        }
    }

    fn allows_null(&self, schema: &Value) -> bool {
        let schema = self.resolve(schema);
        match schema.get("type") {
            Some(Value::String(t)) if t == "null" => return true,
            Some(Value::Array(ts)) if ts.iter().any(|t| t == "null") => return true,
            Some(_) => {}
            // No type, no oneOf, no enum, no const: any JSON value (`ConditionResult.observed`).
            None if ["oneOf", "enum", "const", "properties"].iter().all(|k| schema.get(k).is_none()) => return true,
            None => {}
        }
        schema.get("oneOf").and_then(Value::as_array).is_some_and(|bs| bs.iter().any(|b| self.allows_null(b)))
    }

    /// The branch of a `oneOf` of object schemas that `fields` is an instance of: the one whose
    /// properties include every written field and whose required properties are all written.
    fn pick_object_branch<'s>(&self, branches: &[&'s Value], fields: &Map<String, Value>) -> Option<&'s Value> {
        let fits = |b: &&&Value| {
            let b = self.resolve(b);
            let Some(props) = b.get("properties").and_then(Value::as_object) else { return false };
            let required = b.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
            fields.keys().all(|k| props.contains_key(k))
                && required.iter().filter_map(Value::as_str).all(|r| fields.contains_key(r))
        };
        let fitting: Vec<_> = branches.iter().filter(fits).collect();
        match fitting[..] {
            [only] => Some(*only),
            _ => None,
        }
    }

    fn type_matches(value: &Value, ty: &str) -> bool {
        match ty {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("unknown JSON Schema type {other}"),
        }
    }

    fn check(&mut self, at: &str, schema: &Value, value: &Value, sample: Sample) {
        let schema = self.resolve(schema).clone();
        if value.is_null() {
            if !self.allows_null(&schema) {
                self.errors.push(format!("{at}: Rust writes null, the spec does not allow it"));
            }
            return;
        }
        if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
            let non_null: Vec<_> =
                branches.iter().filter(|b| self.resolve(b).get("type") != Some(&json!("null"))).collect();
            if let [only] = non_null[..] {
                return self.check(at, only, value, sample);
            }
            let Some(fields) = value.as_object() else {
                self.errors.push(format!("{at}: Rust writes {value}, the spec has a oneOf of objects"));
                return;
            };
            match self.pick_object_branch(&non_null, fields) {
                Some(branch) => return self.check(at, branch, value, sample),
                None => {
                    let keys: Vec<_> = fields.keys().collect();
                    self.errors
                        .push(format!("{at}: Rust writes the fields {keys:?}, which fit no one branch of the oneOf"));
                    return;
                }
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| Self::type_matches(value, t)) {
            self.errors.push(format!("{at}: Rust writes {value}, the spec says type {types:?}"));
        }
        if let (Some(allowed), Some(s)) = (schema.get("enum").and_then(Value::as_array), value.as_str()) {
            if !allowed.iter().any(|a| a == s) {
                self.errors.push(format!("{at}: Rust writes {s:?}, not in the spec's enum"));
            }
        }
        if let Some(c) = schema.get("const") {
            if c != value {
                self.errors.push(format!("{at}: Rust writes {value}, the spec's const is {c}"));
            }
        }
        match value {
            Value::Object(fields) => self.check_object(at, &schema, fields, sample),
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(&format!("{at}[{i}]"), item, v, sample);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_object(&mut self, at: &str, schema: &Value, fields: &Map<String, Value>, sample: Sample) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let Some(properties) = properties else {
            // A map (`additionalProperties: {schema}`) or a free-form object (`context`, `detail`).
            if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for (k, v) in fields {
                    self.check(&format!("{at}.{k}"), values, v, sample);
                }
            }
            return;
        };
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let declared: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
        let written: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
        // A property with a default that Rust writes even when unset: the default, made explicit.
        let defaulted: BTreeSet<&str> =
            properties.iter().filter(|(_, p)| p.get("default").is_some()).map(|(k, _)| k.as_str()).collect();
        let minimal: BTreeSet<&str> =
            required.iter().copied().chain(written.intersection(&defaulted).copied()).collect();
        let (expected, what) = match sample {
            Sample::Full => (&declared, "properties"),
            Sample::Minimal => (&minimal, "required"),
        };
        if &written != expected {
            self.errors.push(format!(
                "{at}: the spec's {what} are {expected:?}, Rust writes {written:?} \
                 (only in the spec: {:?}; only in Rust: {:?})",
                expected.difference(&written).collect::<Vec<_>>(),
                written.difference(expected).collect::<Vec<_>>(),
            ));
        }
        if !required.is_subset(&declared) {
            self.errors.push(format!("{at}: required {:?} are not properties", required.difference(&declared)));
        }
        for (k, v) in fields {
            if let Some(p) = properties.get(k) {
                self.check(&format!("{at}.{k}"), p, v, sample);
            }
        }
    }
}

/// Serializes `value`, checks the JSON against `components.schemas[schema]`, and checks that it
/// deserializes back to the same value.
fn check_sample<T>(walk: &mut Walk, schema: &str, value: &T, sample: Sample)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    let Some(s) = walk.schemas.get(schema).cloned() else {
        walk.errors.push(format!("{schema}: no such schema in the spec"));
        return;
    };
    let label = format!("{schema}{}", if sample == Sample::Full { "" } else { " (all None)" });
    walk.check(&label, &s, &json, sample);
    let back: T = serde_json::from_value(json).unwrap_or_else(|e| panic!("{label} does not read back: {e}"));
    assert_eq!(&back, value, "{label} changes in a round trip");
}

const T: &str = "2026-01-02T03:04:05.000Z";

fn rate_limit() -> RateLimitConfig {
    RateLimitConfig { capacity: 60, refill_per_second: 1.5 }
}

fn agent() -> Agent {
    Agent {
        id: "agt_1".into(),
        name: "support-bot".into(),
        enabled: true,
        key_prefix: "oak_abcd".into(),
        rate_limit: rate_limit(),
        created_at: T.into(),
        updated_at: T.into(),
    }
}

fn input_schema() -> Value {
    json!({ "type": "object", "properties": { "amount": { "type": "number" } }, "required": ["amount"] })
}

fn tool(some: bool) -> Tool {
    Tool {
        id: "tool_1".into(),
        agent_id: "agt_1".into(),
        name: "crm".into(),
        description: "The CRM".into(),
        scopes: vec!["read".into()],
        risk_level: RiskLevel::Write,
        input_schema: some.then(input_schema),
        created_at: T.into(),
        updated_at: T.into(),
    }
}

/// A test with every field set, or with `value` and `time_zone` unset (`source` is still written).
fn test_of(some: bool) -> Test {
    if some {
        Test {
            source: Source::Request,
            pointer: "/time".into(),
            op: Operator::Gte,
            value: json!("18:00"),
            on_missing: OnMissing::Deny,
            time_zone: Some("Europe/Berlin".into()),
        }
    } else {
        Test {
            source: Source::Arguments,
            pointer: "/amount".into(),
            op: Operator::Exists,
            value: Value::Null,
            on_missing: OnMissing::Skip,
            time_zone: None,
        }
    }
}

fn conditions(some: bool) -> Vec<Condition> {
    let test = || Condition::Test(test_of(some));
    vec![test(), Condition::AnyOf(vec![test(), Condition::Not(Box::new(test()))]), Condition::AllOf(vec![test()])]
}

fn rule(some: bool) -> Rule {
    Rule {
        id: "rule_1".into(),
        agent_id: "agt_1".into(),
        tool_id: "tool_1".into(),
        tool: "crm".into(),
        scope: "read".into(),
        effect: Effect::Allow,
        require_reasoning: ReasoningPolicy::Soft,
        conditions: conditions(some),
        mode: RuleMode::Shadow,
        description: "small amounts only".into(),
        approval_expiry_seconds: some.then_some(900),
        created_at: T.into(),
        updated_at: T.into(),
    }
}

fn condition_result(some: bool) -> ConditionResult {
    ConditionResult {
        path: "conditions[1].any_of[0]".into(),
        source: Source::Arguments,
        pointer: "/amount".into(),
        op: Operator::Lt,
        expected: json!(500),
        observed: some.then(|| json!(900)),
        holds: false,
        error: (!some).then(|| "/amount is missing".into()),
    }
}

fn explanation(some: bool) -> Explanation {
    Explanation {
        rule_id: some.then(|| "rule_1".into()),
        effect: some.then_some(Effect::Allow),
        condition: some.then(|| condition_result(some)),
        message: "amount 900 is not below 500".into(),
    }
}

fn shadow() -> ShadowResult {
    ShadowResult { rule_id: "rule_2".into(), would: Effect::Deny }
}

fn rule_trace(some: bool) -> RuleTrace {
    RuleTrace {
        rule_id: "rule_1".into(),
        effect: Effect::Allow,
        mode: RuleMode::Enforce,
        outcome: if some { RuleOutcome::NotMatched } else { RuleOutcome::Matched },
        condition: some.then(|| condition_result(some)),
    }
}

fn arguments() -> Map<String, Value> {
    json!({ "amount": 900, "to": "https://api.example.com/pay" }).as_object().unwrap().clone()
}

fn validate_request(some: bool) -> ValidateRequest {
    ValidateRequest {
        tool: "crm".into(),
        scope: "read".into(),
        reasoning: some.then(|| "why".into()),
        context: some.then(context),
        arguments: some.then(arguments),
        approval_id: some.then(|| "apr_1".into()),
        request_approval: some.then_some(false),
    }
}

fn draft_rule(some: bool) -> DraftRule {
    DraftRule {
        id: some.then(|| "draft_a".into()),
        tool: "crm".into(),
        scope: "read".into(),
        effect: some.then_some(Effect::Deny),
        require_reasoning: some.then_some(ReasoningPolicy::Hard),
        conditions: some.then(|| conditions(some)),
        mode: some.then_some(RuleMode::Shadow),
    }
}

fn replay_change(some: bool) -> ReplayChange {
    ReplayChange {
        decision_id: "dec_1".into(),
        created_at: T.into(),
        tool: "crm".into(),
        scope: "read".into(),
        before: ReasonCode::Allowed,
        after: ReasonCode::ConditionsNotMet,
        allowed_before: true,
        allowed_after: false,
        explanation: some.then(|| explanation(some)),
        approximate: some,
    }
}

fn context() -> Map<String, Value> {
    json!({ "ticket": 42 }).as_object().unwrap().clone()
}

fn log_entry(some: bool) -> LogEntry {
    LogEntry {
        decision_id: "dec_1".into(),
        request_id: "req_1".into(),
        agent_id: "agt_1".into(),
        tool: "crm".into(),
        scope: "read".into(),
        allowed: true,
        reason: ReasonCode::Allowed,
        reasoning: some.then(|| "the user asked".into()),
        reasoning_required: ReasoningPolicy::None,
        reasoning_provided: some,
        context: some.then(context),
        arguments: some.then(arguments),
        explanation: some.then(|| explanation(some)),
        shadow: if some { vec![shadow()] } else { vec![] },
        latency_ms: 3,
        created_at: T.into(),
    }
}

fn admin_event(some: bool) -> AdminEvent {
    AdminEvent {
        id: "evt_1".into(),
        request_id: "req_1".into(),
        actor: if some { "ada@example.com".into() } else { "oakadm_abcd".into() },
        actor_type: if some { ActorKind::User } else { ActorKind::Key },
        actor_id: some.then(|| "usr_1".into()),
        actor_name: some.then(|| "Ada Lovelace".into()),
        action: AdminAction::AgentRotateKey.as_str().into(),
        agent_id: some.then(|| "agt_1".into()),
        target_id: "agt_1".into(),
        detail: json!({ "overlap_seconds": 300 }),
        created_at: T.into(),
    }
}

fn actor(some: bool) -> Actor {
    // A full sample is a person (e-mail set), a minimal one a key with its prefix unset: each
    // nullable property is written once as a value and once as null.
    Actor {
        kind: if some { ActorKind::User } else { ActorKind::Key },
        id: if some { "usr_1".into() } else { "adk_1".into() },
        name: if some { "Ada Lovelace".into() } else { "ci".into() },
        email: some.then(|| "ada@example.com".into()),
        key_prefix: some.then(|| "oakadm_ab".into()),
    }
}

fn session(some: bool) -> Session {
    Session {
        id: "ses_1".into(),
        kind: if some { SessionKind::Bearer } else { SessionKind::Cookie },
        name: "laptop CLI".into(),
        created_at: T.into(),
        last_seen_at: T.into(),
        expires_at: T.into(),
        mfa: some,
        current: true,
    }
}

fn membership() -> OrganizationMembership {
    OrganizationMembership { id: "org_1".into(), name: "Acme".into(), role: Role::Admin }
}

fn invitation(some: bool) -> Invitation {
    Invitation {
        id: "inv_1".into(),
        email: "bob@example.com".into(),
        role: Role::Viewer,
        status: if some { InvitationStatus::Accepted } else { InvitationStatus::Pending },
        invited_by: "Ada Lovelace".into(),
        created_at: T.into(),
        expires_at: T.into(),
        accepted_at: some.then(|| T.into()),
    }
}

fn created_invitation(some: bool) -> CreatedInvitation {
    CreatedInvitation {
        invitation: invitation(some),
        token: "oaki_secret".into(),
        url: "http://127.0.0.1:8788/#/invitations/oaki_secret".into(),
    }
}

fn admin_key(some: bool) -> AdminKey {
    AdminKey {
        id: "adk_1".into(),
        name: "ci".into(),
        role: Role::Viewer,
        key_prefix: "oakadm_ab".into(),
        created_by: "Ada Lovelace".into(),
        created_at: T.into(),
        expires_at: some.then(|| T.into()),
        revoked_at: some.then(|| T.into()),
    }
}

fn broken_link(some: bool) -> BrokenLink {
    BrokenLink { chain_seq: 7, decision_id: some.then(|| "dec_7".into()), problem: "row 7 was modified".into() }
}

fn stats(some: bool) -> Stats {
    Stats {
        since: T.into(),
        until: T.into(),
        total: 3,
        allowed: 2,
        denied: 1,
        denials_by_reason: [("scope_not_granted".to_string(), 1)].into(),
        top_tools: vec![ToolCount { tool: "crm".into(), total: 3, denied: 1 }],
        agents: vec![AgentCount {
            agent_id: "agt_1".into(),
            name: some.then(|| "support-bot".into()),
            total: 3,
            allowed: 2,
            denied: 1,
        }],
        bucket_seconds: 3600,
        timeline: vec![TimelinePoint { start: T.into(), allowed: 2, denied: 1 }],
        latency: vec![LatencyDay { day: "2026-01-02".into(), decisions: 3, p50_ms: 4, p95_ms: 9, p99_ms: 9 }],
    }
}

fn audit_verification(some: bool) -> AuditVerification {
    AuditVerification {
        ok: !some,
        agents: vec![ChainVerification {
            agent_id: "agt_1".into(),
            ok: !some,
            rows_checked: 7,
            head_seq: 7,
            broken: some.then(|| broken_link(true)),
            breaks: vec![broken_link(some)],
            breaks_omitted: 0,
        }],
        next_cursor: some.then(|| "50".into()),
    }
}

/// Runs every sample in both forms and returns the schemas they covered and what disagreed.
fn ticket(some: bool) -> ApprovalTicket {
    ApprovalTicket {
        id: "apr_1".into(),
        status: ApprovalStatus::Denied,
        tool: "payments".into(),
        scope: "send".into(),
        expires_at: T.into(),
        poll_after_ms: 0,
        decided_at: some.then(|| T.into()),
        comment: some.then(|| "too much".into()),
    }
}

fn approval(some: bool) -> Approval {
    Approval {
        id: "apr_1".into(),
        agent_id: "agt_1".into(),
        agent_name: some.then(|| "bot".into()),
        tool: "payments".into(),
        scope: "send".into(),
        arguments: some.then(arguments),
        arguments_digest: "ab".repeat(32),
        reasoning: some.then(|| "pay the invoice".into()),
        rule_id: "rule_1".into(),
        rule_version: T.into(),
        status: ApprovalStatus::Consumed,
        created_at: T.into(),
        expires_at: T.into(),
        decided_at: some.then(|| T.into()),
        decided_by: some.then(|| "oakadm_ab".into()),
        comment: some.then(|| "ok".into()),
        consumed_at: some.then(|| T.into()),
        consumed_by: some.then(|| "dec_2".into()),
        requested_by: "dec_1".into(),
    }
}

fn webhook(some: bool) -> Webhook {
    Webhook {
        id: "whk_1".into(),
        url: "https://hooks.example.com/oak".into(),
        event_types: vec![EventType::ApprovalRequested, EventType::ApprovalDecided],
        enabled: true,
        disabled_reason: some.then(|| "the endpoint answered 410 Gone".into()),
        description: "approvals".into(),
        secret_rotating_until: some.then(|| T.into()),
        created_at: T.into(),
        updated_at: T.into(),
    }
}

fn delivery(some: bool) -> Delivery {
    Delivery {
        id: "msg_1".into(),
        webhook_id: "whk_1".into(),
        event_type: EventType::ApprovalDecided,
        status: DeliveryStatus::Pending,
        attempts: 2,
        next_attempt_at: some.then(|| T.into()),
        last_status_code: some.then_some(503),
        last_error: some.then(|| "HTTP 503".into()),
        created_at: T.into(),
        delivered_at: some.then(|| T.into()),
        payload: json!({"type": "approval.decided", "timestamp": T, "data": {}}),
    }
}

fn limits(some: bool) -> Limits {
    if some {
        PlanId::Free.plan().limits
    } else {
        Limits::UNLIMITED
    }
}

fn plan_info(some: bool) -> PlanInfo {
    PlanInfo {
        id: if some { PlanId::Pro } else { PlanId::Enterprise },
        name: if some { "Pro".into() } else { "Enterprise".into() },
        limits: limits(some),
        self_serve: some,
    }
}

fn quota_usage(some: bool) -> QuotaUsage {
    QuotaUsage { used: 812, limit: some.then_some(1000) }
}

fn usage_quotas(some: bool) -> UsageQuotas {
    UsageQuotas {
        validations: quota_usage(some),
        agents: quota_usage(some),
        members: quota_usage(some),
        webhook_endpoints: quota_usage(some),
    }
}

fn period() -> Period {
    Period { start: "2026-12-01T00:00:00Z".into(), end: "2027-01-01T00:00:00Z".into() }
}

fn day_usage() -> DayUsage {
    DayUsage { date: "2026-12-01".into(), validations: 400 }
}

fn agent_usage(some: bool) -> AgentUsage {
    AgentUsage { agent_id: "agt_1".into(), name: some.then(|| "billing-bot".into()), validations: 812 }
}

fn usage(some: bool) -> Usage {
    Usage {
        organization_id: "org_1".into(),
        plan: PlanId::Free,
        subscribed_plan: if some { PlanId::Pro } else { PlanId::Free },
        billing_status: if some { BillingStatus::PastDue } else { BillingStatus::None },
        grace_until: some.then(|| T.into()),
        billing_enabled: some,
        period: period(),
        quotas: usage_quotas(some),
        by_day: vec![day_usage()],
        by_agent: vec![agent_usage(some)],
    }
}

fn quota_exceeded() -> QuotaExceeded {
    QuotaExceeded { limit: 1000, used: 1000, resets_at: "2027-01-01T00:00:00Z".into() }
}

fn walk_every_sample(schemas: &BTreeMap<String, Value>) -> (BTreeSet<&'static str>, Vec<String>) {
    let mut walk = Walk { schemas, errors: vec![] };
    let mut covered = BTreeSet::new();
    for (sample, some) in [(Sample::Full, true), (Sample::Minimal, false)] {
        let opt = |s: &str| some.then(|| s.to_string());
        macro_rules! check {
            ($schema:literal, $value:expr) => {{
                covered.insert($schema);
                check_sample(&mut walk, $schema, &$value, sample);
            }};
        }
        check!(
            "Error",
            ErrorBody {
                error: ErrorDetail {
                    code: if some { ErrorCode::PlanLimit } else { ErrorCode::NotFound }.as_str().into(),
                    message: "no".into(),
                    quota: some.then_some(Quota::Agents),
                    limit: some.then_some(1),
                    plan: some.then_some(PlanId::Free),
                },
            }
        );
        check!("Health", Health { status: "ok".into(), version: "0.1.0".into() });
        // The JWKS is jsonwebtoken's type, as the worker builds it.
        let ring = oakauth_core::receipt::KeyRing::parse("k1:nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap();
        check!("JwkSet", ring.jwks());
        check!("Jwk", ring.jwks().keys[0].clone());
        check!("ValidateRequest", validate_request(some));
        check!("RateLimitState", RateLimitState { limit: 60, remaining: 59, reset: 1 });
        check!(
            "ValidateResponse",
            ValidateResponse {
                allowed: true,
                reason: ReasonCode::ReasoningMissingSoft,
                message: "allowed".into(),
                decision_id: "dec_1".into(),
                reasoning_required: ReasoningPolicy::Soft,
                reasoning_provided: false,
                rate_limit: some.then_some(RateLimitState { limit: 60, remaining: 59, reset: 1 }),
                explanation: some.then(|| explanation(some)),
                approval: some.then(|| ticket(some)),
                receipt: opt("eyJhbGciOiJFZERTQSJ9.e30.c2ln"),
                quota: some.then(quota_exceeded),
            }
        );
        check!("ApprovalTicket", ticket(some));
        check!("Approval", approval(some));
        check!("ApprovalList", ApprovalList { approvals: vec![approval(some)], next_cursor: opt("50") });
        check!("ApprovalDecision", ApprovalDecision { decision: Decision::Deny, comment: opt("not this month") });
        check!("Webhook", webhook(some));
        check!("WebhookWithSecret", WebhookWithSecret { webhook: webhook(some), secret: "whsec_abc".into() });
        check!("WebhookList", WebhookList { webhooks: vec![webhook(some)], next_cursor: opt("50") });
        check!(
            "CreateWebhook",
            CreateWebhook {
                url: "https://hooks.example.com/oak".into(),
                event_types: vec![EventType::ApprovalRequested],
                enabled: some.then_some(true),
                description: opt("approvals to chat"),
            }
        );
        check!(
            "UpdateWebhook",
            UpdateWebhook {
                url: opt("https://hooks.example.com/oak"),
                event_types: some.then(|| vec![EventType::KeyRotated]),
                enabled: some.then_some(false),
                description: opt("approvals to chat"),
            }
        );
        check!("RotateWebhookSecret", RotateWebhookSecret { overlap_seconds: some.then_some(3600) });
        check!("Delivery", delivery(some));
        check!("DeliveryList", DeliveryList { deliveries: vec![delivery(some)], next_cursor: opt("50") });
        check!("RateLimitConfig", rate_limit());
        check!("Organization", Organization { id: "org_1".into(), name: "Acme".into() });
        check!(
            "Me",
            Me {
                organization: Organization { id: "org_1".into(), name: "Acme".into() },
                key_prefix: opt("oakadm_ab"),
                role: Role::Owner,
                actor: actor(some),
            }
        );
        check!("Actor", actor(some));
        check!(
            "AuthConfig",
            AuthConfig { sso: some, issuer: opt("https://id.example.com/"), signup: Signup::InviteOnly }
        );
        let user = User { id: "usr_1".into(), email: "ada@example.com".into(), name: "Ada Lovelace".into() };
        check!("User", user.clone());
        check!("OrganizationMembership", membership());
        check!("Session", session(some));
        check!(
            "SessionInfo",
            SessionInfo {
                user: user.clone(),
                session: session(some),
                csrf_token: "csrf".into(),
                organizations: vec![membership()],
            }
        );
        check!("SessionList", SessionList { sessions: vec![session(some)] });
        check!("NewBearerSession", NewBearerSession { name: opt("laptop CLI") });
        check!("BearerSession", BearerSession { session: session(some), token: "oaks_secret".into() });
        let member = Member {
            user_id: "usr_1".into(),
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
            role: Role::Owner,
            joined_at: T.into(),
        };
        check!("Member", member.clone());
        check!("MemberList", MemberList { members: vec![member] });
        check!("MemberUpdate", MemberUpdate { role: Role::Admin });
        check!("Invitation", invitation(some));
        check!("InvitationList", InvitationList { invitations: vec![invitation(some)], next_cursor: opt("50") });
        check!("NewInvitation", NewInvitation { email: "bob@example.com".into(), role: Role::Viewer });
        check!("CreatedInvitation", created_invitation(some));
        check!(
            "InvitationPreview",
            InvitationPreview {
                organization: Organization { id: "org_1".into(), name: "Acme".into() },
                email: "bob@example.com".into(),
                role: Role::Viewer,
                status: InvitationStatus::Pending,
                expires_at: T.into(),
            }
        );
        check!("AcceptedInvitation", AcceptedInvitation { organization: membership() });
        check!("AdminKey", admin_key(some));
        check!("AdminKeyList", AdminKeyList { keys: vec![admin_key(some)] });
        check!(
            "NewAdminKey",
            NewAdminKey { name: "ci".into(), role: Role::Viewer, expires_in_days: some.then_some(30) }
        );
        check!("CreatedAdminKey", CreatedAdminKey { key: admin_key(some), secret: "oakadm_secret".into() });
        check!(
            "OrganizationSettings",
            OrganizationSettings { id: "org_1".into(), name: "Acme".into(), require_mfa: some, created_at: T.into() }
        );
        check!("OrganizationUpdate", OrganizationUpdate { name: opt("Acme"), require_mfa: some.then_some(true) });
        check!(
            "SetupRequest",
            SetupRequest { organization_name: "Acme".into(), owner_email: "ada@example.com".into() }
        );
        check!(
            "SetupResult",
            SetupResult {
                organization: Organization { id: "org_1".into(), name: "Acme".into() },
                invitation: created_invitation(some),
            }
        );
        check!("Agent", agent());
        check!(
            "CreateAgent",
            CreateAgent { name: "bot".into(), enabled: some.then_some(false), rate_limit: some.then(rate_limit) }
        );
        check!(
            "UpdateAgent",
            UpdateAgent { name: opt("bot"), enabled: some.then_some(true), rate_limit: some.then(rate_limit) }
        );
        check!("RotateKey", RotateKey { overlap_seconds: some.then_some(60) });
        check!(
            "AgentWithKey",
            AgentWithKey { agent: agent(), api_key: "oak_secret".into(), previous_key_expires_at: opt(T) }
        );
        check!("AgentList", AgentList { agents: vec![agent()], next_cursor: opt("50") });
        check!("Tool", tool(some));
        check!(
            "CreateTool",
            CreateTool {
                name: "crm".into(),
                description: opt("The CRM"),
                scopes: vec!["read".into()],
                risk_level: RiskLevel::Read,
                input_schema: some.then(input_schema),
            }
        );
        check!(
            "UpdateTool",
            UpdateTool {
                name: opt("crm"),
                description: opt("The CRM"),
                scopes: some.then(|| vec!["read".into()]),
                risk_level: some.then_some(RiskLevel::Destructive),
                input_schema: some.then(|| Some(input_schema())),
            }
        );
        check!("ToolList", ToolList { tools: vec![tool(some)], next_cursor: opt("50") });
        check!("Condition", Condition::Test(test_of(some)));
        check!("ConditionTest", test_of(some));
        check!("ConditionAllOf", Condition::AllOf(vec![Condition::Test(test_of(some))]));
        check!("ConditionAnyOf", Condition::AnyOf(conditions(some)));
        check!("ConditionNot", Condition::Not(Box::new(Condition::Test(test_of(some)))));
        check!("Rule", rule(some));
        check!(
            "CreateRule",
            CreateRule {
                tool: "crm".into(),
                scope: "read".into(),
                effect: some.then_some(Effect::Deny),
                require_reasoning: some.then_some(ReasoningPolicy::Hard),
                conditions: some.then(|| conditions(some)),
                mode: some.then_some(RuleMode::Shadow),
                description: opt("no big payments"),
                approval_expiry_seconds: some.then_some(3600),
            }
        );
        check!(
            "UpdateRule",
            UpdateRule {
                effect: some.then_some(Effect::Allow),
                require_reasoning: some.then_some(ReasoningPolicy::None),
                conditions: some.then(|| conditions(some)),
                mode: some.then_some(RuleMode::Enforce),
                description: opt("small amounts only"),
                approval_expiry_seconds: some.then_some(600),
            }
        );
        check!("RuleList", RuleList { rules: vec![rule(some)], next_cursor: opt("50") });
        check!("ConditionResult", condition_result(some));
        check!("Explanation", explanation(some));
        check!("ShadowResult", shadow());
        check!("RuleTrace", rule_trace(some));
        check!("DraftRule", draft_rule(some));
        check!(
            "SimulateRequest",
            SimulateRequest {
                agent_id: "agt_1".into(),
                request: validate_request(some),
                rules: some.then(|| vec![draft_rule(some)]),
                client_ip: opt("10.0.0.7"),
                at: opt(T),
            }
        );
        check!(
            "SimulateResponse",
            SimulateResponse {
                allowed: false,
                reason: ReasonCode::ConditionsNotMet,
                message: "no rule's conditions hold".into(),
                reasoning_required: ReasoningPolicy::None,
                reasoning_provided: some,
                explanation: some.then(|| explanation(some)),
                shadow: if some { vec![shadow()] } else { vec![] },
                trace: vec![rule_trace(some)],
            }
        );
        check!(
            "ReplayRequest",
            ReplayRequest { agent_id: "agt_1".into(), rules: vec![draft_rule(some)], limit: some.then_some(100) }
        );
        check!("ReplayChange", replay_change(some));
        check!("ReplayResponse", ReplayResponse { replayed: 100, changed: vec![replay_change(some)] });
        check!("LogEntry", log_entry(some));
        check!("LogList", LogList { logs: vec![log_entry(some)], next_cursor: opt("1.2") });
        check!("Stats", stats(some));
        check!("AdminEvent", admin_event(some));
        check!("AdminEventList", AdminEventList { events: vec![admin_event(some)], next_cursor: opt("50") });
        check!("BrokenLink", broken_link(some));
        check!("AuditVerification", audit_verification(some));
        check!("PlanList", if some { PlanList::published() } else { PlanList { plans: vec![plan_info(some)] } });
        check!("PlanInfo", plan_info(some));
        check!("Limits", limits(some));
        check!("QuotaUsage", quota_usage(some));
        check!("UsageQuotas", usage_quotas(some));
        check!("Period", period());
        check!("DayUsage", day_usage());
        check!("AgentUsage", agent_usage(some));
        check!("Usage", usage(some));
        check!("QuotaExceeded", quota_exceeded());
        check!("CheckoutRequest", CheckoutRequest { plan: PlanId::Pro });
        check!("BillingRedirect", BillingRedirect { url: "https://checkout.stripe.com/c/pay/cs_test_1".into() });
    }
    (covered, walk.errors)
}

#[test]
fn every_wire_type_writes_exactly_the_properties_of_its_schema() {
    let schemas = schemas();
    let (_, errors) = walk_every_sample(&schemas);
    assert!(errors.is_empty(), "core/src/wire.rs and docs/openapi.yaml disagree:\n  {}", errors.join("\n  "));
}

#[test]
fn every_object_schema_of_the_spec_has_a_rust_sample() {
    let schemas = schemas();
    let (covered, _) = walk_every_sample(&schemas);
    let objects: BTreeSet<&str> =
        schemas.iter().filter(|(_, s)| s.get("type") == Some(&json!("object"))).map(|(n, _)| n.as_str()).collect();
    let missing: Vec<_> = objects.difference(&covered).collect();
    assert!(missing.is_empty(), "object schemas with no Rust type checked here: {missing:?}");
}

fn spec_enum<'a>(schemas: &'a BTreeMap<String, Value>, path: &[&str]) -> BTreeSet<&'a str> {
    let mut at = &schemas[path[0]];
    for key in &path[1..] {
        at = &at[*key];
    }
    let values = at["enum"].as_array().unwrap_or_else(|| panic!("{path:?} has no enum"));
    values.iter().map(|v| v.as_str().expect("string enum")).collect()
}

/// The names Rust writes for every variant, checked against `as_str` on the way.
fn rust_names<E: Serialize + Copy>(all: &[E], as_str: fn(E) -> &'static str) -> BTreeSet<&'static str> {
    all.iter()
        .map(|&e| {
            assert_eq!(serde_json::to_value(e).unwrap(), as_str(e), "serde and as_str disagree");
            as_str(e)
        })
        .collect()
}

#[test]
fn every_closed_set_of_names_in_the_spec_equals_its_rust_enum() {
    let schemas = schemas();
    let pairs = [
        ("ReasonCode", spec_enum(&schemas, &["ReasonCode"]), rust_names(&ReasonCode::ALL, ReasonCode::as_str)),
        (
            "ReasoningPolicy",
            spec_enum(&schemas, &["ReasoningPolicy"]),
            rust_names(&ReasoningPolicy::ALL, ReasoningPolicy::as_str),
        ),
        ("RiskLevel", spec_enum(&schemas, &["RiskLevel"]), rust_names(&RiskLevel::ALL, RiskLevel::as_str)),
        ("ErrorCode", spec_enum(&schemas, &["ErrorCode"]), rust_names(&ErrorCode::ALL, ErrorCode::as_str)),
        (
            "Effect",
            spec_enum(&schemas, &["Effect"]),
            rust_names(&[Effect::Allow, Effect::Deny, Effect::RequireApproval], Effect::as_str),
        ),
        (
            "ApprovalStatus",
            spec_enum(&schemas, &["ApprovalStatus"]),
            rust_names(
                &[
                    ApprovalStatus::Pending,
                    ApprovalStatus::Approved,
                    ApprovalStatus::Denied,
                    ApprovalStatus::Expired,
                    ApprovalStatus::Cancelled,
                    ApprovalStatus::Consumed,
                ],
                ApprovalStatus::as_str,
            ),
        ),
        ("EventType", spec_enum(&schemas, &["EventType"]), rust_names(&EventType::ALL, EventType::as_str)),
        (
            "DeliveryStatus",
            spec_enum(&schemas, &["DeliveryStatus"]),
            rust_names(
                &[DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed],
                DeliveryStatus::as_str,
            ),
        ),
        (
            "RuleMode",
            spec_enum(&schemas, &["RuleMode"]),
            rust_names(&[RuleMode::Enforce, RuleMode::Shadow], RuleMode::as_str),
        ),
        (
            "ConditionSource",
            spec_enum(&schemas, &["ConditionSource"]),
            rust_names(&[Source::Arguments, Source::Context, Source::Request], Source::as_str),
        ),
        ("Operator", spec_enum(&schemas, &["Operator"]), rust_names(&Operator::ALL, Operator::as_str)),
        (
            "OnMissing",
            spec_enum(&schemas, &["OnMissing"]),
            rust_names(&[OnMissing::Deny, OnMissing::Skip], |m| match m {
                OnMissing::Deny => "deny",
                OnMissing::Skip => "skip",
            }),
        ),
        (
            "RuleOutcome",
            spec_enum(&schemas, &["RuleOutcome"]),
            rust_names(&[RuleOutcome::Matched, RuleOutcome::NotMatched, RuleOutcome::Error], |o| match o {
                RuleOutcome::Matched => "matched",
                RuleOutcome::NotMatched => "not_matched",
                RuleOutcome::Error => "error",
            }),
        ),
        ("Role", spec_enum(&schemas, &["Role"]), rust_names(&Role::ALL, Role::as_str)),
        ("Signup", spec_enum(&schemas, &["Signup"]), rust_names(&[Signup::Open, Signup::InviteOnly], Signup::as_str)),
        (
            "ActorKind",
            spec_enum(&schemas, &["ActorKind"]),
            rust_names(&[ActorKind::Key, ActorKind::User, ActorKind::System], |k| match k {
                ActorKind::Key => "key",
                ActorKind::User => "user",
                ActorKind::System => "system",
            }),
        ),
        (
            "SessionKind",
            spec_enum(&schemas, &["SessionKind"]),
            rust_names(&[SessionKind::Cookie, SessionKind::Bearer], |k| match k {
                SessionKind::Cookie => "cookie",
                SessionKind::Bearer => "bearer",
            }),
        ),
        (
            "InvitationStatus",
            spec_enum(&schemas, &["InvitationStatus"]),
            rust_names(
                &[
                    InvitationStatus::Pending,
                    InvitationStatus::Accepted,
                    InvitationStatus::Expired,
                    InvitationStatus::Revoked,
                ],
                |s| match s {
                    InvitationStatus::Pending => "pending",
                    InvitationStatus::Accepted => "accepted",
                    InvitationStatus::Expired => "expired",
                    InvitationStatus::Revoked => "revoked",
                },
            ),
        ),
        ("PlanId", spec_enum(&schemas, &["PlanId"]), rust_names(&PlanId::ALL, PlanId::as_str)),
        ("Quota", spec_enum(&schemas, &["Quota"]), rust_names(&Quota::ALL, Quota::as_str)),
        (
            "BillingStatus",
            spec_enum(&schemas, &["BillingStatus"]),
            rust_names(
                &[BillingStatus::None, BillingStatus::Active, BillingStatus::PastDue, BillingStatus::Canceled],
                BillingStatus::as_str,
            ),
        ),
        (
            "AdminEvent.action",
            spec_enum(&schemas, &["AdminEvent", "properties", "action"]),
            rust_names(&AdminAction::ALL, AdminAction::as_str),
        ),
    ];
    let mismatches: Vec<String> = pairs
        .iter()
        .filter(|(_, spec, rust)| spec != rust)
        .map(|(name, spec, rust)| {
            format!(
                "{name}: only in the spec {:?}, only in Rust {:?}",
                spec.difference(rust).collect::<Vec<_>>(),
                rust.difference(spec).collect::<Vec<_>>()
            )
        })
        .collect();
    assert!(mismatches.is_empty(), "closed sets differ:\n  {}", mismatches.join("\n  "));
}

#[test]
fn error_codes_answer_with_the_status_the_spec_gives_them() {
    // The spec's ErrorCode description lists each code as "- `code` (status): ...".
    let schemas = schemas();
    let description = schemas["ErrorCode"]["description"].as_str().unwrap();
    let mut listed = 0;
    for line in description.lines().filter_map(|l| l.trim().strip_prefix("- `")) {
        let (name, rest) = line.split_once('`').unwrap();
        let status: u16 = rest.trim_start().strip_prefix('(').and_then(|r| r.get(..3)).unwrap().parse().unwrap();
        let code = ErrorCode::parse(name).unwrap_or_else(|| panic!("{name} is not an ErrorCode"));
        assert_eq!(code.http_status(), status, "{name}");
        listed += 1;
    }
    assert_eq!(listed, ErrorCode::ALL.len(), "every error code is described with its status");
}

/// Every operation under `/v1/admin` names its minimum role (`x-oakauth-role`), and the roles
/// table of `docs/accounts.md` lists exactly those operations with exactly those roles.
#[test]
fn every_admin_operation_has_a_role_and_the_docs_table_agrees() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let spec: Value =
        serde_norway::from_str(&std::fs::read_to_string(format!("{root}/docs/openapi.yaml")).unwrap()).unwrap();
    let mut in_spec = BTreeSet::new();
    let mut missing = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" || !path.starts_with("/v1/admin") {
                continue;
            }
            match op["x-oakauth-role"].as_str() {
                Some(role) if Role::parse(role).is_ok() => {
                    in_spec.insert((method.to_uppercase(), path.clone(), role.to_owned()));
                }
                other => missing.push(format!("{} {path}: x-oakauth-role {other:?}", method.to_uppercase())),
            }
        }
    }
    assert!(missing.is_empty(), "admin operations without a valid x-oakauth-role:\n  {}", missing.join("\n  "));
    let docs = std::fs::read_to_string(format!("{root}/docs/accounts.md")).unwrap();
    // Rows like "| `listAgents` | `GET /v1/admin/agents` | viewer |".
    let in_docs: BTreeSet<(String, String, String)> = docs
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let route = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            let (method, path) = route.split_once(' ')?;
            path.starts_with("/v1/admin").then(|| (method.to_owned(), path.to_owned(), cells[3].to_owned()))
        })
        .collect();
    assert_eq!(
        in_docs,
        in_spec,
        "docs/accounts.md's roles table differs from docs/openapi.yaml (only in the docs: {:?}; only in the spec: {:?})",
        in_docs.difference(&in_spec).collect::<Vec<_>>(),
        in_spec.difference(&in_docs).collect::<Vec<_>>()
    );
}
