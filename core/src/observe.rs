//! What a request leaves behind for operators, decided here so that it is tested natively: the
//! one structured log line per request ([`RequestLog`]), the route template it names
//! ([`route_template`]) and the Workers Analytics Engine data point of a decision
//! ([`DecisionPoint`]). The worker only prints the line and hands the point to its binding.
//!
//! Neither carries a key, an `Authorization` header, reasoning, arguments, context or a query
//! string: their fields are ids the service made, closed sets (methods, reason codes, route
//! templates), numbers, and a decision's tool and scope names after
//! [`crate::redact::identifier`].

use serde::Serialize;

use crate::redact;

/// Every route the worker serves, as `docs/openapi.yaml` spells its paths (a test keeps the two
/// equal), plus the test-only routes. A request's path is logged as the template it matches, so
/// that no path parameter (a tool name, which a user may have pasted anything into) and no query
/// string reaches a log.
pub const ROUTES: &[&str] = &[
    "/health",
    "/.well-known/jwks.json",
    "/v1/validate",
    "/v1/approvals/{approval_id}",
    "/v1/approvals/{approval_id}/cancel",
    "/v1/admin/me",
    "/v1/admin/agents",
    "/v1/admin/agents/{agent_id}",
    "/v1/admin/agents/{agent_id}/rotate-key",
    "/v1/admin/agents/{agent_id}/tools",
    "/v1/admin/agents/{agent_id}/tools/{tool_id}",
    "/v1/admin/agents/{agent_id}/rules",
    "/v1/admin/agents/{agent_id}/rules/{rule_id}",
    "/v1/admin/logs",
    "/v1/admin/logs/{decision_id}",
    "/v1/admin/simulate",
    "/v1/admin/simulate/replay",
    "/v1/admin/stats",
    "/v1/admin/events",
    "/v1/admin/audit/verify",
    "/v1/admin/approvals",
    "/v1/admin/approvals/{approval_id}",
    "/v1/admin/approvals/{approval_id}/decision",
    "/v1/admin/webhooks",
    "/v1/admin/webhooks/{webhook_id}",
    "/v1/admin/webhooks/{webhook_id}/rotate-secret",
    "/v1/admin/webhooks/{webhook_id}/deliveries",
    "/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    "/v1/admin/members",
    "/v1/admin/members/{user_id}",
    "/v1/admin/members/{user_id}/sessions",
    "/v1/admin/invitations",
    "/v1/admin/invitations/{invitation_id}",
    "/v1/admin/keys",
    "/v1/admin/keys/{key_id}",
    "/v1/admin/organization",
    "/v1/admin/usage",
    "/v1/admin/billing/checkout",
    "/v1/admin/billing/portal",
    "/v1/auth/config",
    "/v1/auth/login",
    "/v1/auth/callback",
    "/v1/auth/logout",
    "/v1/auth/session",
    "/v1/auth/sessions",
    "/v1/auth/sessions/{session_id}",
    "/v1/auth/tokens",
    "/v1/auth/invitations/{token}",
    "/v1/auth/invitations/{token}/accept",
    "/v1/setup",
    "/v1/plans",
    "/v1/billing/stripe/webhook",
    "/__test/panic",
    "/__test/throttle",
];

/// What a path matching no route is logged as.
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// The template of [`ROUTES`] that `path` (without its query string) matches, or
/// [`UNMATCHED_ROUTE`]. A literal segment matches itself; a `{…}` segment any one non-empty
/// segment. Literal matches win over parameters (`/v1/admin/simulate/replay` is not a
/// `simulate/{…}`), which the table never needs, but the rule makes the answer unambiguous.
pub fn route_template(path: &str) -> &'static str {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(&'static str, usize)> = None;
    for template in ROUTES {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(part, seg)| {
            if part.starts_with('{') {
                !seg.is_empty()
            } else {
                literal += 1;
                part == seg
            }
        });
        if matches && best.is_none_or(|(_, l)| literal > l) {
            best = Some((template, literal));
        }
    }
    best.map_or(UNMATCHED_ROUTE, |(t, _)| t)
}

/// HTTP methods logged by name; anything else is logged as `OTHER`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `method` if it is one of the usual seven, else `OTHER` (a method is the client's text).
pub fn method_name(method: &str) -> &'static str {
    METHODS.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

/// The one log line of a request: a JSON object, printed with `console.log` when the answer
/// leaves. Fields that are not known for a request are left out rather than `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestLog<'a> {
    /// Always `"request"`: tells these lines from the worker's other output.
    pub event: &'static str,
    pub request_id: &'a str,
    pub method: &'static str,
    /// The matched route template ([`route_template`]), never the raw path.
    pub route: &'static str,
    pub status: u16,
    /// From the request's arrival to the answer, in milliseconds.
    pub latency_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<&'a str>,
    /// Validate only: the decision's id, whether it allowed, and its reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// An error answer's stable code (`error.code`), never its message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl RequestLog<'_> {
    /// The line as printed: one JSON object, no line break inside.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a log line always serializes")
    }
}

/// One decision as a Workers Analytics Engine data point: `index` (the sampling key) is the
/// organization, `blobs` are organization, agent, tool, scope, reason (in that order, `blob1` to
/// `blob5` in SQL), `doubles` are the latency in milliseconds and 1 for allowed or 0 for denied
/// (`double1`, `double2`).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionPoint {
    pub index: String,
    pub blobs: [String; 5],
    pub doubles: [f64; 2],
}

/// The facts of one decision, as the worker knows them when it answers.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// Unknown when the agent's object failed before naming it: then empty.
    pub org_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub tool: &'a str,
    pub scope: &'a str,
    pub reason: &'a str,
    pub allowed: bool,
    pub latency_ms: i64,
}

/// Analytics Engine's limit on an index, in bytes.
pub const MAX_INDEX_BYTES: usize = 96;

impl DecisionPoint {
    pub fn new(d: &Decision<'_>) -> DecisionPoint {
        let org = d.org_id.unwrap_or("");
        // Ids are ASCII and far shorter; the cut only guards the platform's limit.
        let index: String = org.chars().take(MAX_INDEX_BYTES).collect();
        DecisionPoint {
            index,
            blobs: [
                org.to_string(),
                d.agent_id.unwrap_or("").to_string(),
                // Stored the way the audit log stores them: a key pasted into a name is gone.
                redact::identifier(d.tool),
                redact::identifier(d.scope),
                d.reason.to_string(),
            ],
            doubles: [d.latency_ms.max(0) as f64, if d.allowed { 1.0 } else { 0.0 }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_exactly_the_openapi_paths_plus_the_test_routes() {
        let doc: serde_json::Value = serde_norway::from_str(include_str!("../../docs/openapi.yaml")).unwrap();
        let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        documented.sort();
        let mut ours: Vec<String> =
            ROUTES.iter().filter(|r| !r.starts_with("/__test/")).map(|r| r.to_string()).collect();
        ours.sort();
        assert_eq!(ours, documented);
    }

    #[test]
    fn paths_are_logged_as_their_templates_without_parameters_or_query() {
        assert_eq!(route_template("/v1/validate"), "/v1/validate");
        assert_eq!(route_template("/health?x=1"), "/health");
        assert_eq!(
            route_template("/v1/admin/agents/agt_1/tools/my-secret-tool"),
            "/v1/admin/agents/{agent_id}/tools/{tool_id}"
        );
        assert_eq!(route_template("/v1/admin/logs/dec_abc"), "/v1/admin/logs/{decision_id}");
        assert_eq!(route_template("/v1/admin/logs?agent_id=agt_1&cursor=4"), "/v1/admin/logs");
        assert_eq!(route_template("/v1/admin/simulate/replay"), "/v1/admin/simulate/replay");
        assert_eq!(route_template("/v1/approvals/apr_1/cancel"), "/v1/approvals/{approval_id}/cancel");
        assert_eq!(
            route_template("/v1/admin/webhooks/whk_1/deliveries/msg_2/redeliver"),
            "/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
        );
    }

    #[test]
    fn unknown_paths_are_not_logged_as_sent() {
        let key = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        for path in [format!("/{key}"), "/v1/admin/agents//tools".into(), "/v1/nothing".into(), "".into(), "/".into()] {
            assert_eq!(route_template(&path), UNMATCHED_ROUTE, "{path}");
        }
    }

    #[test]
    fn methods_are_a_closed_set() {
        assert_eq!(method_name("POST"), "POST");
        assert_eq!(method_name("PROPFIND"), "OTHER");
        assert_eq!(method_name("post"), "OTHER");
    }

    #[test]
    fn a_log_line_is_one_json_object_and_leaves_out_what_is_unknown() {
        let line = RequestLog {
            event: "request",
            request_id: "req_1",
            method: "POST",
            route: "/v1/validate",
            status: 200,
            latency_ms: 7,
            org_id: Some("org_1"),
            agent_id: Some("agt_1"),
            decision_id: Some("dec_1"),
            allowed: Some(false),
            reason: Some("unavailable"),
            error: None,
        }
        .to_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "request", "request_id": "req_1", "method": "POST", "route": "/v1/validate",
                "status": 200, "latency_ms": 7, "org_id": "org_1", "agent_id": "agt_1", "decision_id": "dec_1",
                "allowed": false, "reason": "unavailable"})
        );
    }

    #[test]
    fn a_decision_point_has_the_documented_layout_and_no_secret() {
        let key = crate::keys::generate(crate::keys::KeyKind::Agent).unwrap().secret;
        let tool = format!("tool/{key}");
        let p = DecisionPoint::new(&Decision {
            org_id: Some("org_1"),
            agent_id: Some("agt_2"),
            tool: &tool,
            scope: "read",
            reason: "allowed",
            allowed: true,
            latency_ms: 12,
        });
        assert_eq!(p.index, "org_1");
        assert_eq!(p.blobs, ["org_1", "agt_2", "tool/[REDACTED]", "read", "allowed"].map(String::from));
        assert_eq!(p.doubles, [12.0, 1.0]);
        let unknown = DecisionPoint::new(&Decision {
            org_id: None,
            agent_id: None,
            tool: "t",
            scope: "s",
            reason: "unavailable",
            allowed: false,
            latency_ms: -3,
        });
        assert_eq!(unknown.index, "");
        assert_eq!(unknown.doubles, [0.0, 0.0]);
    }
}
