//! An agent's tools and rules, read from D1 and compiled for [`oakauth_core::policy`]: by the
//! agent's object for every decision (cached) and by `simulate` for a trace.

use std::collections::HashMap;

use oakauth_core::policy::{self, schema::InputSchema, CompiledRule, ToolPolicy};
use oakauth_core::wire::{Condition, Effect, ReasoningPolicy, RuleMode};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::db::{self, Arg};
use crate::http::{ApiError, ApiResult};

/// Tool name → what decisions need of it.
pub type Tools = HashMap<String, ToolPolicy>;

#[derive(Deserialize)]
struct ToolRow {
    name: String,
    scopes: String,
    input_schema: Option<String>,
}

/// A rule as stored.
#[derive(Deserialize)]
pub struct RuleRow {
    pub id: String,
    pub tool: String,
    pub scope: String,
    pub effect: String,
    pub require_reasoning: String,
    pub conditions: String,
    pub mode: String,
    /// Its version, to which approvals are bound.
    pub updated_at: i64,
    pub approval_expiry_seconds: Option<i64>,
}

/// The two reads, for a batch of the caller's: the agent's tools, then its rules.
pub fn statements(database: &D1Database, agent_id: &str) -> ApiResult<Vec<D1PreparedStatement>> {
    let id = [Arg::from(agent_id)];
    Ok(vec![
        db::stmt(database, "SELECT name, scopes, input_schema FROM tools WHERE agent_id = ?1", &id)?,
        db::stmt(
            database,
            "SELECT r.id, t.name AS tool, r.scope, r.effect, r.require_reasoning, r.conditions, r.mode,
                    r.updated_at, r.approval_expiry_seconds
               FROM rules r JOIN tools t ON t.id = r.tool_id WHERE r.agent_id = ?1",
            &id,
        )?,
    ])
}

/// Builds the tools from the results of [`statements`].
pub fn build(tools: &D1Result, rules: &D1Result) -> ApiResult<Tools> {
    let mut out = Tools::new();
    for t in tools.results::<ToolRow>()? {
        let scopes: Vec<String> = serde_json::from_str(&t.scopes).map_err(ApiError::internal)?;
        // A schema saved by this service compiles; one that no longer does denies every call
        // (an empty object schema would allow anything, so the fallback refuses everything).
        let schema = t.input_schema.as_deref().map(|raw| {
            serde_json::from_str(raw)
                .map_err(|e| oakauth_core::Error::Invalid(e.to_string()))
                .and_then(|v| InputSchema::compile(&v))
                .unwrap_or_else(|e| {
                    worker::console_error!("tool {}: stored input_schema unusable ({e}); denying its calls", t.name);
                    InputSchema::compile(&serde_json::json!({"not": {}})).expect("a schema that refuses everything")
                })
        });
        out.insert(t.name, ToolPolicy { scopes, schema, rules: Vec::new() });
    }
    for r in rules.results::<RuleRow>()? {
        let compiled = compile(&r);
        if let Some(tool) = out.get_mut(&r.tool) {
            tool.rules.push((r.scope, compiled));
        }
    }
    Ok(out)
}

/// A stored rule, compiled; one that cannot be read denies (fail closed).
pub fn compile(r: &RuleRow) -> CompiledRule {
    let read = || -> Result<CompiledRule, String> {
        let effect = Effect::parse(&r.effect).ok_or("effect")?;
        let mode = RuleMode::parse(&r.mode).ok_or("mode")?;
        let reasoning = ReasoningPolicy::parse(&r.require_reasoning).ok_or("require_reasoning")?;
        let conditions: Vec<Condition> = serde_json::from_str(&r.conditions).map_err(|e| e.to_string())?;
        // Checked against the tool's schema when saved; not again here, so a later schema change
        // cannot silently turn a rule off.
        let mut rule = policy::compile(&r.id, effect, mode, reasoning, &conditions, None).map_err(|e| e.to_string())?;
        rule.version = r.updated_at;
        let expiry = r.approval_expiry_seconds.map(|s| s.clamp(0, u32::MAX as i64) as u32);
        rule.approval_expiry_seconds = oakauth_core::approval::expiry_seconds(expiry).map_err(|e| e.to_string())?;
        Ok(rule)
    };
    read().unwrap_or_else(|e| {
        worker::console_error!("rule {}: unreadable ({e}); it denies", r.id);
        policy::unreadable(&r.id)
    })
}

/// Reads and builds an agent's tools (for `simulate`).
pub async fn load(database: &D1Database, agent_id: &str) -> ApiResult<Tools> {
    let results = db::idempotent_batch(database, statements(database, agent_id)?).await?;
    let [tools, rules] = results.as_slice() else {
        return Err(ApiError::internal("unexpected batch result count"));
    };
    build(tools, rules)
}
