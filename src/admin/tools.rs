//! `/v1/admin/agents/{agent_id}/tools…`: the tools an agent may ask about, with their scopes.

use oakauth_core::ids;
use oakauth_core::limits;
use oakauth_core::time::format_ms;
use oakauth_core::wire::{CreateTool, RiskLevel, Tool, ToolList, UpdateTool};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

use super::{agent_page, agents, find_one, now_ms, Admin};
use crate::db::{self, Arg};
use crate::http::{empty_response, json_response, read_json, ApiError, ApiResult};
use oakauth_core::wire::AdminAction;
use oakauth_core::wire::ErrorCode;

#[derive(Deserialize)]
pub(super) struct ToolRow {
    seq: i64,
    pub(super) id: String,
    agent_id: String,
    pub(super) name: String,
    description: String,
    scopes: String,
    risk_level: String,
    input_schema: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ToolRow {
    pub(super) fn scopes(&self) -> Vec<String> {
        serde_json::from_str(&self.scopes).unwrap_or_default()
    }
    pub(super) fn risk(&self) -> RiskLevel {
        // An unreadable risk level is treated as the most dangerous one.
        RiskLevel::parse(&self.risk_level).unwrap_or(RiskLevel::Destructive)
    }
    /// The stored input schema, if any.
    pub(super) fn input_schema(&self) -> Option<Value> {
        self.input_schema.as_deref().and_then(|s| serde_json::from_str(s).ok())
    }
    fn into_wire(self) -> Tool {
        Tool {
            scopes: self.scopes(),
            risk_level: self.risk(),
            input_schema: self.input_schema(),
            id: self.id,
            agent_id: self.agent_id,
            name: self.name,
            description: self.description,
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
        }
    }
}

const COLUMNS: &str = "seq, id, agent_id, name, description, scopes, risk_level, input_schema, created_at, updated_at";

/// A schema as stored, after checking that it compiles (a 400 naming the problem otherwise).
fn schema_text(schema: &Value) -> ApiResult<String> {
    oakauth_core::policy::schema::InputSchema::compile(schema)?;
    serde_json::to_string(schema).map_err(ApiError::internal)
}

pub(super) async fn find(admin: &Admin, agent_id: &str, tool_id: &str) -> ApiResult<ToolRow> {
    let sql = format!("SELECT {COLUMNS} FROM tools WHERE id = ?1 AND agent_id = ?2 AND org_id = ?3");
    let args = [Arg::from(tool_id), Arg::from(agent_id), Arg::from(&admin.ctx.org_id)];
    find_one(admin, ("tool", "tool"), tool_id, &sql, &args).await
}

pub(super) async fn find_by_name(admin: &Admin, agent_id: &str, name: &str) -> ApiResult<Option<ToolRow>> {
    db::first::<ToolRow>(
        &admin.db,
        &format!("SELECT {COLUMNS} FROM tools WHERE agent_id = ?1 AND name = ?2 AND org_id = ?3"),
        &[Arg::from(agent_id), Arg::from(name), Arg::from(&admin.ctx.org_id)],
    )
    .await
}

pub async fn list(admin: &Admin, agent_id: &str, req: &Request) -> ApiResult<Response> {
    let select = format!("SELECT {COLUMNS} FROM tools");
    let (rows, next) = agent_page(admin, agent_id, req, (&select, ""), |r: &ToolRow| r.seq).await?;
    Ok(json_response(200, &ToolList { tools: rows.into_iter().map(ToolRow::into_wire).collect(), next_cursor: next }))
}

fn name_conflict(e: ApiError, name: &str) -> ApiError {
    if e.code == ErrorCode::Conflict {
        ApiError::conflict(format!("this agent already has a tool named {name:?}"))
    } else {
        e
    }
}

pub async fn create(admin: &Admin, agent_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: CreateTool = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    limits::check_create_tool(&body)?;
    agents::find(admin, agent_id).await?;
    let id = ids::new_id("tool")?;
    let scopes = serde_json::to_string(&body.scopes).map_err(ApiError::internal)?;
    let schema = body.input_schema.as_ref().map(schema_text).transpose()?;
    let insert = db::stmt(
        &admin.db,
        "INSERT INTO tools (id, org_id, agent_id, name, description, scopes, risk_level, input_schema, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?8, ?8)",
        &[
            Arg::from(&id),
            Arg::from(&admin.ctx.org_id),
            Arg::from(agent_id),
            Arg::from(&body.name),
            Arg::from(body.description.as_deref().unwrap_or("")),
            Arg::from(&scopes),
            Arg::from(body.risk_level.as_str()),
            Arg::Int(now_ms()),
            Arg::from(schema.as_deref()),
        ],
    )?;
    let event =
        admin.event(AdminAction::ToolCreate, Some(agent_id), &id, serde_json::to_value(&body).unwrap_or_default())?;
    admin.commit(agent_id, vec![insert, event]).await.map_err(|e| name_conflict(e, &body.name))?;
    let tool = find(admin, agent_id, &id).await?;
    Ok(json_response(201, &tool.into_wire()))
}

pub async fn get(admin: &Admin, agent_id: &str, tool_id: &str) -> ApiResult<Response> {
    agents::find(admin, agent_id).await?;
    Ok(json_response(200, &find(admin, agent_id, tool_id).await?.into_wire()))
}

pub async fn update(admin: &Admin, agent_id: &str, tool_id: &str, mut req: Request) -> ApiResult<Response> {
    let body: UpdateTool = read_json(&mut req, limits::MAX_ADMIN_BODY).await?;
    limits::check_update_tool(&body)?;
    agents::find(admin, agent_id).await?;
    let current = find(admin, agent_id, tool_id).await?;
    let name = body.name.clone().unwrap_or_else(|| current.name.clone());
    let scopes_json = match &body.scopes {
        Some(scopes) => Some(serde_json::to_string(scopes).map_err(ApiError::internal)?),
        None => None,
    };
    // Absent: leave it; null: remove it; a schema: replace it.
    let (set_schema, schema) = match &body.input_schema {
        None => (0, None),
        Some(None) => (1, None),
        Some(Some(s)) => (1, Some(schema_text(s)?)),
    };
    let org = &admin.ctx.org_id;
    admin
        .commit(
            agent_id,
            vec![
                db::stmt(
                    &admin.db,
                    // Only the fields sent are written, so concurrent edits of other fields survive.
                    "UPDATE tools SET name = COALESCE(?1, name), description = COALESCE(?2, description),
                        scopes = COALESCE(?3, scopes), risk_level = COALESCE(?4, risk_level), updated_at = ?5,
                        input_schema = CASE WHEN ?8 = 1 THEN ?9 ELSE input_schema END
                  WHERE id = ?6 AND org_id = ?7",
                    &[
                        Arg::from(body.name.as_deref()),
                        Arg::from(body.description.as_deref()),
                        Arg::from(scopes_json.as_deref()),
                        Arg::from(body.risk_level.map(|r| r.as_str())),
                        Arg::Int(now_ms()),
                        Arg::from(tool_id),
                        Arg::from(org),
                        Arg::Int(set_schema),
                        Arg::from(schema.as_deref()),
                    ],
                )?,
                // A scope taken off the tool takes its rules with it: deny by default. (The tool's
                // scopes as they are after the update above, in the same transaction.)
                db::stmt(
                    &admin.db,
                    "DELETE FROM rules WHERE tool_id = ?1 AND org_id = ?2
                    AND scope NOT IN (SELECT value FROM json_each((SELECT scopes FROM tools WHERE id = ?1)))",
                    &[Arg::from(tool_id), Arg::from(org)],
                )?,
                admin.event(
                    AdminAction::ToolUpdate,
                    Some(agent_id),
                    tool_id,
                    serde_json::to_value(&body).unwrap_or_default(),
                )?,
            ],
        )
        .await
        .map_err(|e| name_conflict(e, &name))?;
    Ok(json_response(200, &find(admin, agent_id, tool_id).await?.into_wire()))
}

pub async fn delete(admin: &Admin, agent_id: &str, tool_id: &str) -> ApiResult<Response> {
    agents::find(admin, agent_id).await?;
    let tool = find(admin, agent_id, tool_id).await?;
    let args = [Arg::from(tool_id), Arg::from(&admin.ctx.org_id)];
    let mut statements = db::stmts(
        &admin.db,
        &["DELETE FROM rules WHERE tool_id = ?1 AND org_id = ?2", "DELETE FROM tools WHERE id = ?1 AND org_id = ?2"],
        &args,
    )?;
    statements.push(admin.event(AdminAction::ToolDelete, Some(agent_id), tool_id, json!({"name": tool.name}))?);
    admin.commit(agent_id, statements).await?;
    Ok(empty_response(204))
}
