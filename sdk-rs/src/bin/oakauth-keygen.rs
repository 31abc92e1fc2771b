//! Creates an organization and its first admin key, for bootstrapping a database.
//!
//! Prints one JSON object: the key (shown this once), its prefix, its role, and the SQL that
//! stores the organization and the key's hash. The key's role is `owner` unless `--role` says
//! otherwise: the first key of an organization is its owner's. Its `created_by` is `keygen`. The hash secret comes from `KEY_HASH_SECRET`, the same value
//! the worker uses. Apply the SQL with
//! `wrangler d1 execute DB --command "$SQL"` (add `--local` or `--remote`).
//!
//! The organization's plan is `free` unless `--plan` says otherwise (docs/plans.md); `--limit`
//! gives an Enterprise organization its own limits.
//!
//! Usage: oakauth-keygen --org-name NAME [--org-id ID] [--key-name NAME] [--role owner|admin|viewer]
//!        [--plan free|pro|enterprise] [--limit NAME=NUMBER]...

use oakauth_core::accounts::Role;
use oakauth_core::keys::{self, KeyKind};
use oakauth_core::plans::{Limits, PlanId};
use oakauth_core::{ids, limits};

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn main() {
    if let Err(msg) = run() {
        eprintln!("oakauth-keygen: {msg}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut org_name = None;
    let mut org_id = None;
    let mut key_name = String::from("bootstrap");
    let mut role = Role::Owner;
    let mut plan = PlanId::Free;
    let mut custom: Option<Limits> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--org-name" => org_name = Some(value()?),
            "--org-id" => org_id = Some(value()?),
            "--key-name" => key_name = value()?,
            "--role" => role = Role::parse(&value()?).map_err(|e| format!("--role: {e}"))?,
            "--plan" => plan = PlanId::parse(&value()?).map_err(|e| format!("--plan: {e}"))?,
            "--limit" => {
                let v = value()?;
                let (name, n) = v.split_once('=').ok_or_else(|| format!("--limit {v:?}: expected NAME=NUMBER"))?;
                let n: u64 = n.parse().map_err(|_| format!("--limit {v:?}: {n:?} is not a whole number"))?;
                let small = || u32::try_from(n).map_err(|_| format!("--limit {v:?}: too large"));
                let limits = custom.get_or_insert(Limits::UNLIMITED);
                match name {
                    "agents" => limits.agents = Some(small()?),
                    "members" => limits.members = Some(small()?),
                    "webhook_endpoints" => limits.webhook_endpoints = Some(small()?),
                    "validations_per_month" => limits.validations_per_month = Some(n),
                    _ => {
                        return Err(format!(
                            "--limit {v:?}: NAME is agents, members, validations_per_month or webhook_endpoints"
                        ))
                    }
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: oakauth-keygen --org-name NAME [--org-id ID] [--key-name NAME] [--role owner|admin|viewer] \
                     [--plan free|pro|enterprise] [--limit NAME=NUMBER]... \
                     (KEY_HASH_SECRET in the environment; the role defaults to owner, the plan to free; \
                     --limit sets an Enterprise organization's own limits: agents, members, \
                     validations_per_month, webhook_endpoints)"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let org_name = org_name.ok_or("--org-name is required")?;
    if custom.is_some() && plan != PlanId::Enterprise {
        return Err("--limit applies to --plan enterprise only (other plans have the published limits)".into());
    }
    let custom_sql = match custom {
        Some(limits) => sql_text(&serde_json::to_string(&limits).map_err(|e| e.to_string())?),
        None => "NULL".into(),
    };
    limits::check_display_name("--org-name", &org_name).map_err(|e| e.to_string())?;
    limits::check_display_name("--key-name", &key_name).map_err(|e| e.to_string())?;
    let org_id = match org_id {
        Some(id) if ids::is_id("org", &id) => id,
        Some(id) => return Err(format!("{id:?} is not an organization id (org_…)")),
        None => ids::new_id("org").map_err(|e| e.to_string())?,
    };
    let secret = std::env::var("KEY_HASH_SECRET").map_err(|_| "KEY_HASH_SECRET is not set")?;
    if secret.len() < 16 {
        return Err("KEY_HASH_SECRET must be at least 16 characters".into());
    }
    let key = keys::generate(KeyKind::Admin).map_err(|e| e.to_string())?;
    let hash = keys::hash(secret.as_bytes(), &key.secret);
    let key_id = ids::new_id("adk").map_err(|e| e.to_string())?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?.as_millis();
    let sql = format!(
        "INSERT OR IGNORE INTO organizations (id, name, created_at, plan, custom_limits) \
         VALUES ({}, {}, {now}, {}, {custom_sql}); \
         INSERT INTO admin_keys (id, org_id, key_hash, key_prefix, name, role, created_by, created_at) \
         VALUES ({}, {}, {}, {}, {}, {}, 'keygen', {now});",
        sql_text(&org_id),
        sql_text(&org_name),
        sql_text(plan.as_str()),
        sql_text(&key_id),
        sql_text(&org_id),
        sql_text(&hash),
        sql_text(&key.prefix),
        sql_text(&key_name),
        sql_text(role.as_str()),
    );
    let out = serde_json::json!({
        "organization_id": org_id,
        "admin_key": key.secret,
        "key_prefix": key.prefix,
        "role": role.as_str(),
        "plan": plan.as_str(),
        "sql": sql,
    });
    println!("{out}");
    Ok(())
}
