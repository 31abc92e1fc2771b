//! Creates an organization and its first admin key, for bootstrapping a database.
//!
//! Prints one JSON object: the key (shown this once), its prefix, and the SQL that stores the
//! organization and the key's hash. The hash secret comes from `KEY_HASH_SECRET`, the same value
//! the worker uses. Apply the SQL with
//! `wrangler d1 execute DB --command "$SQL"` (add `--local` or `--remote`).
//!
//! Usage: oakauth-keygen --org-name NAME [--org-id ID] [--key-name NAME]

use oakauth_core::keys::{self, KeyKind};
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
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--org-name" => org_name = Some(value()?),
            "--org-id" => org_id = Some(value()?),
            "--key-name" => key_name = value()?,
            "-h" | "--help" => {
                println!("usage: oakauth-keygen --org-name NAME [--org-id ID] [--key-name NAME]  (KEY_HASH_SECRET in the environment)");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let org_name = org_name.ok_or("--org-name is required")?;
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
        "INSERT OR IGNORE INTO organizations (id, name, created_at) VALUES ({}, {}, {now}); \
         INSERT INTO admin_keys (id, org_id, key_hash, key_prefix, name, created_at) VALUES ({}, {}, {}, {}, {}, {now});",
        sql_text(&org_id),
        sql_text(&org_name),
        sql_text(&key_id),
        sql_text(&org_id),
        sql_text(&hash),
        sql_text(&key.prefix),
        sql_text(&key_name),
    );
    let out = serde_json::json!({
        "organization_id": org_id,
        "admin_key": key.secret,
        "key_prefix": key.prefix,
        "sql": sql,
    });
    println!("{out}");
    Ok(())
}
