//! The `oakauth` binary driven as a subprocess against the real worker.

#[path = "support/worker.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{unique, worker};

/// `oakauth` with the worker's base URL and admin key in its environment, as a user would set them.
fn oakauth() -> Command {
    let w = worker();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oakauth"));
    cmd.env("OAKAUTH_BASE_URL", &w.base_url)
        .env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1")
        .env("OAKAUTH_ADMIN_KEY", &w.admin_key)
        .env_remove("OAKAUTH_API_KEY");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run oakauth")
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(cmd: &mut Command) -> Value {
    let text = ok(cmd.arg("--json"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Creates an agent through the CLI; returns (name, id, key).
fn create_agent() -> (String, String, String) {
    let name = unique("cli");
    let created = json(oakauth().args(["agents", "create", &name]));
    let id = created["agent"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    (name, id, key)
}

#[test]
fn create_an_agent_add_a_tool_and_a_rule_validate_and_see_the_log_lines() {
    let (name, id, key) = create_agent();
    assert!(key.starts_with("oak_"));

    let tool =
        json(oakauth().args(["tools", "create", &name, "database", "--scopes", "read,drop", "--risk", "destructive"]));
    assert_eq!(tool["scopes"], serde_json::json!(["read", "drop"]));
    let rule = json(oakauth().args(["rules", "create", &name, "database", "drop"]));
    assert_eq!(rule["require_reasoning"], "hard", "destructive tools default to hard reasoning");

    // Denied without reasoning: exit status 3, the reason on stdout.
    let out = run(oakauth().args(["validate", "database", "drop", "--api-key", &key]));
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DENIED") && text.contains("reasoning_required"), "{text}");

    // Allowed with reasoning (the key from the environment this time).
    let allowed = json(oakauth().env("OAKAUTH_API_KEY", &key).args([
        "validate",
        "database",
        "drop",
        "--reasoning",
        "clean up the staging copy",
        "--context",
        r#"{"ticket":"OPS-1"}"#,
    ]));
    assert_eq!((allowed["allowed"].as_bool(), allowed["reason"].as_str()), (Some(true), Some("allowed")));
    let decision = allowed["decision_id"].as_str().unwrap().to_owned();

    // Both decisions are in the log, newest first, as a JSON page and as a table.
    let page = json(oakauth().args(["logs", "--agent", &name]));
    assert_eq!(page["next_cursor"], Value::Null, "{page}");
    let entries = page["logs"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{page}");
    assert_eq!(entries[0]["decision_id"], decision.as_str());
    assert_eq!(entries[0]["reasoning"], "clean up the staging copy");
    assert_eq!(entries[0]["context"], serde_json::json!({"ticket": "OPS-1"}));
    assert_eq!(
        (entries[1]["allowed"].as_bool(), entries[1]["reason"].as_str()),
        (Some(false), Some("reasoning_required"))
    );
    assert!(entries.iter().all(|e| e["agent_id"] == id.as_str()));

    let table = ok(oakauth().args(["logs", "--agent", &id, "--denied"]));
    assert!(table.starts_with("TIME"), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains("database:drop") && table.contains("reasoning_required"), "{table}");
    assert!(table.contains(&name), "agents are shown by name: {table}");

    let one = ok(oakauth().args(["logs", "show", &decision]));
    assert!(one.contains("clean up the staging copy") && one.contains("OPS-1"), "{one}");
}

#[test]
fn the_key_is_printed_once_with_a_warning() {
    let name = unique("cli-key");
    let out = run(oakauth().args(["agents", "create", &name]));
    assert!(out.status.success());
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let key_line = stdout.lines().find(|l| l.starts_with("api key:")).expect("a key line");
    let key = key_line.split_whitespace().last().unwrap();
    assert!(key.starts_with("oak_"), "{stdout}");
    assert!(stderr.contains("shows it only once"), "{stderr}");

    // Neither list nor show prints it again.
    assert!(!ok(oakauth().args(["agents", "list"])).contains(key));
    let shown = ok(oakauth().args(["agents", "show", &name]));
    assert!(shown.contains(&name) && !shown.contains(key), "{shown}");

    // Rotation prints a new key, with the same warning.
    let out = run(oakauth().args(["agents", "rotate-key", &name, "--overlap", "0"]));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("api key:") && !stdout.contains(key), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shows it only once"));
    let old = run(oakauth().args(["validate", "x", "y", "--api-key", key]));
    assert_eq!(old.status.code(), Some(1), "a revoked key is an error, not a deny");
    assert!(String::from_utf8_lossy(&old.stderr).contains("authentication failed"));
}

#[test]
fn agents_can_be_listed_updated_disabled_and_deleted() {
    let (name, id, key) = create_agent();
    ok(oakauth().args(["tools", "create", &id, "search", "--scopes", "query", "--risk", "read"]));
    ok(oakauth().args(["rules", "create", &id, "search", "query"]));

    let list = ok(oakauth().args(["agents", "list"]));
    assert!(
        list.starts_with("ID") && list.lines().any(|l| l.contains(&id) && l.contains(&name) && l.contains("enabled")),
        "{list}"
    );

    let updated = json(oakauth().args(["agents", "update", &name, "--capacity", "7"]));
    assert_eq!(updated["rate_limit"], serde_json::json!({"capacity": 7, "refill_per_second": 1.0}));

    let disabled = json(oakauth().args(["agents", "disable", &name]));
    assert_eq!(disabled["enabled"], false);
    let out = run(oakauth().args(["validate", "search", "query", "--api-key", &key]));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("agent_disabled"));
    ok(oakauth().args(["agents", "enable", &id]));
    let allowed = run(oakauth().args(["validate", "search", "query", "--api-key", &key]));
    assert_eq!(allowed.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&allowed.stdout);
    assert!(
        printed.lines().any(|l| l.starts_with("receipt") && l.contains("eyJ")),
        "an allow prints its receipt: {printed}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("receipt"), "a deny has none");

    let tools = ok(oakauth().args(["tools", "list", &name]));
    assert!(tools.lines().any(|l| l.contains("search") && l.contains("read") && l.contains("query")), "{tools}");
    let rules = json(oakauth().args(["rules", "list", &name]));
    assert_eq!(rules.as_array().unwrap().len(), 1);
    let rule_id = rules[0]["id"].as_str().unwrap();
    let hard = json(oakauth().args(["rules", "update", &name, rule_id, "--reasoning", "hard"]));
    assert_eq!(hard["require_reasoning"], "hard");
    ok(oakauth().args(["rules", "delete", &name, rule_id]));
    let refused = run(oakauth().args(["tools", "delete", &name, "search"]));
    assert_eq!(refused.status.code(), Some(1), "like agents delete, tools delete wants --yes");
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(json(oakauth().args(["tools", "list", &name])).as_array().unwrap().len(), 1);
    ok(oakauth().args(["tools", "delete", &name, "search", "--yes"]));
    assert!(json(oakauth().args(["tools", "list", &name])).as_array().unwrap().is_empty());

    let refused = run(oakauth().args(["agents", "delete", &name]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    ok(oakauth().args(["agents", "delete", &name, "--yes"]));
    let gone = run(oakauth().args(["agents", "show", &id]));
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no agent"));
}

#[test]
fn stats_and_whoami_answer() {
    let stats = json(oakauth().args(["stats", "--since", "1d"]));
    assert!(stats["total"].as_u64().is_some(), "{stats}");
    let text = ok(oakauth().args(["stats"]));
    assert!(text.contains("decisions:") && text.contains("denied:"), "{text}");
    let me = ok(oakauth().arg("whoami"));
    assert!(me.contains("organization:") && me.contains(&worker().base_url), "{me}");
    let field = |name: &str| me.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default();
    assert_eq!(field("role:"), "owner", "{me}");
    assert!(field("who:").starts_with("admin key bootstrap (oakadm_"), "{me}");
}

/// `oakauth` with nothing in its environment that could configure it.
fn bare_oakauth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oakauth"));
    for var in [
        "OAKAUTH_BASE_URL",
        "OAKAUTH_ALLOW_INSECURE_LOOPBACK",
        "OAKAUTH_ADMIN_KEY",
        "OAKAUTH_API_KEY",
        "OAKAUTH_ORGANIZATION",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_says_keys_come_from_the_environment_or_a_prompt_and_the_flags_are_visible_in_ps() {
    let help = ok(bare_oakauth().arg("--help"));
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "read from OAKAUTH_ADMIN_KEY",
        "asked for at a prompt that does not echo it",
        "--admin-key and --api-key still work but are deprecated",
        "visible to other users of this machine (ps, /proc)",
        "--base-url or OAKAUTH_BASE_URL is required",
        "--allow-insecure-loopback",
    ] {
        assert!(flat.contains(expected), "--help lacks {expected:?}:\n{help}");
    }
    let validate_help = ok(bare_oakauth().args(["validate", "--help"]));
    assert!(validate_help.contains("Deprecated, visible to other users via `ps`"), "{validate_help}");
}

#[test]
fn the_admin_key_from_the_environment_alone_is_enough_and_the_flag_warns() {
    let w = worker();
    let env_only = run(bare_oakauth()
        .env("OAKAUTH_BASE_URL", &w.base_url)
        .env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1")
        .env("OAKAUTH_ADMIN_KEY", &w.admin_key)
        .arg("whoami"));
    assert!(env_only.status.success(), "{}", stderr(&env_only));
    assert!(stderr(&env_only).is_empty(), "{}", stderr(&env_only));

    // No key anywhere and no terminal to ask on: an error that points to the environment.
    let none = run(bare_oakauth().args(["--base-url", &w.base_url, "--allow-insecure-loopback", "whoami"]));
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("set OAKAUTH_ADMIN_KEY") && !stderr(&none).contains("pass --admin-key"),
        "{}",
        stderr(&none)
    );

    // The flag still works, with a warning that says why not to use it.
    let flag = run(bare_oakauth().args(["--base-url", &w.base_url, "--allow-insecure-loopback"]).args([
        "--admin-key",
        &w.admin_key,
        "whoami",
    ]));
    assert!(flag.status.success(), "{}", stderr(&flag));
    assert!(stderr(&flag).contains("--admin-key is deprecated") && stderr(&flag).contains("ps"), "{}", stderr(&flag));
}

#[test]
fn the_base_url_is_required_and_plain_http_only_to_loopback_when_allowed() {
    let w = worker();
    let key = |cmd: &mut Command| -> Output { run(cmd.env("OAKAUTH_ADMIN_KEY", &w.admin_key).arg("whoami")) };

    let missing = key(&mut bare_oakauth());
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("--base-url") && stderr(&missing).contains("OAKAUTH_BASE_URL"),
        "{}",
        stderr(&missing)
    );

    assert!(w.base_url.starts_with("http://127.0.0.1:"), "{}", w.base_url);
    let not_allowed = key(bare_oakauth().args(["--base-url", &w.base_url]));
    assert_eq!(not_allowed.status.code(), Some(1));
    assert!(stderr(&not_allowed).contains("--allow-insecure-loopback"), "{}", stderr(&not_allowed));

    let by_flag = key(bare_oakauth().args(["--base-url", &w.base_url, "--allow-insecure-loopback"]));
    assert!(by_flag.status.success(), "{}", stderr(&by_flag));
    let by_env = key(bare_oakauth().env("OAKAUTH_BASE_URL", &w.base_url).env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1"));
    assert!(by_env.status.success(), "{}", stderr(&by_env));
    let env_says_no =
        key(bare_oakauth().env("OAKAUTH_BASE_URL", &w.base_url).env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "0"));
    assert_eq!(env_says_no.status.code(), Some(1), "{}", stderr(&env_says_no));

    let elsewhere = key(bare_oakauth().args(["--base-url", "http://oakauth.example.com", "--allow-insecure-loopback"]));
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(stderr(&elsewhere).contains("use https"), "{}", stderr(&elsewhere));
}

#[test]
fn errors_are_clear_and_exit_nonzero() {
    let out = run(oakauth().env_remove("OAKAUTH_ADMIN_KEY").args(["agents", "list"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no admin key"));

    let out = run(oakauth().args(["--admin-key", "oakadm_wrong", "agents", "list"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication failed"), "{out:?}");

    let out = run(oakauth().args(["--base-url", "http://127.0.0.1:9", "agents", "list"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connection"), "{out:?}");

    let out =
        run(oakauth().args(["tools", "create", "no-such-agent-anywhere", "t", "--scopes", "a", "--risk", "read"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent"));
}

#[test]
fn logs_follow_prints_new_decisions_as_they_happen() {
    let (name, _, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "search", "--scopes", "query", "--risk", "read"]));
    let mut child = oakauth()
        .args(["logs", "--agent", &name, "--follow", "--interval", "0.3", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // Decisions made after the follower started, one at a time.
    let mut expected = Vec::new();
    for _ in 0..2 {
        let out = run(oakauth().args(["validate", "search", "query", "--api-key", &key, "--json"]));
        assert_eq!(out.status.code(), Some(3), "no rule: a deny");
        let out: Value = serde_json::from_slice(&out.stdout).unwrap();
        expected.push(out["decision_id"].as_str().unwrap().to_owned());
        std::thread::sleep(Duration::from_millis(400));
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < expected.len() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let entry: Value = serde_json::from_str(&line).unwrap();
            seen.push(entry["decision_id"].as_str().unwrap().to_owned());
        }
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(seen, expected, "each new decision once, oldest first");
    let notice = stderr(&out);
    assert!(
        notice.contains("first the 50 newest matching decisions already logged")
            && notice.contains("then each new one"),
        "--follow says on stderr that history comes first: {notice}"
    );
}

#[test]
fn events_show_who_changed_what_newest_first() {
    let (name, id, _) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "search", "--scopes", "query", "--risk", "read"]));
    let rule = json(oakauth().args(["rules", "create", &name, "search", "query"]));
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    ok(oakauth().args(["agents", "disable", &name]));
    ok(oakauth().args(["agents", "enable", &name]));
    ok(oakauth().args(["agents", "rotate-key", &name, "--overlap", "0"]));

    let page = json(oakauth().args(["events", "--agent", &name]));
    assert_eq!(page["next_cursor"], Value::Null, "{page}");
    let events = &page["events"];
    let actions: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["agent.rotate_key", "agent.enable", "agent.disable", "rule.create", "tool.create", "agent.create"]
    );
    assert!(events.as_array().unwrap().iter().all(|e| e["agent_id"] == id.as_str()));
    assert_eq!(events[3]["target_id"], rule_id.as_str());

    // A page keeps its cursor, and --cursor reads the next one.
    let limited = json(oakauth().args(["events", "--agent", &id, "--limit", "2"]));
    assert_eq!(limited["events"].as_array().unwrap().len(), 2);
    assert_eq!(limited["events"][0]["action"], "agent.rotate_key");
    let cursor = limited["next_cursor"].as_str().expect("a next_cursor").to_owned();
    let next = json(oakauth().args(["events", "--agent", &id, "--limit", "2", "--cursor", &cursor]));
    assert_eq!(next["events"][0]["action"], "agent.disable", "{next}");

    // The table: a header, then one row per event with the agent's name and the detail.
    let table = ok(oakauth().args(["events", "--agent", &name]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("TIME")
            && ["ACTOR", "ACTION", "AGENT", "TARGET", "DETAIL"].iter().all(|h| lines[0].contains(h)),
        "{table}"
    );
    assert_eq!(lines.len(), 7, "{table}");
    assert!(
        lines[1].contains("agent.rotate_key") && lines[1].contains(&name) && lines[1].contains("overlap_seconds=0"),
        "{table}"
    );
    assert!(lines[6].contains("agent.create") && lines[6].contains(&format!("name={name}")), "{table}");
    let prefix = &worker().admin_key[..12];
    assert!(lines[1..].iter().all(|l| l.contains(prefix)), "the actor is the admin key's prefix ({prefix}): {table}");

    ok(oakauth().args(["agents", "delete", &name, "--yes"]));
    let after = json(oakauth().args(["events", "--agent", &id]));
    assert_eq!(after["events"][0]["action"], "agent.delete", "a deleted agent's id still filters");

    let out = run(oakauth().args(["events", "--limit", "0"]));
    assert_eq!(out.status.code(), Some(2), "a bad command line");
}

#[test]
fn audit_verify_passes_an_intact_log_and_names_a_forged_row() {
    let (name, id, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "search", "--scopes", "query,purge", "--risk", "read"]));
    ok(oakauth().args(["rules", "create", &name, "search", "query"]));
    let mut decisions = Vec::new();
    for scope in ["query", "purge", "query"] {
        let out = run(oakauth().args(["validate", "search", scope, "--api-key", &key, "--json"]));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        decisions.push((answer["allowed"].as_bool().unwrap(), answer["decision_id"].as_str().unwrap().to_owned()));
    }
    let (allowed, denied) = &decisions[1];
    assert!(!allowed, "purge has no rule: denied");

    // Intact: exit 0, a row per agent, a summary.
    let out = run(oakauth().args(["audit", "verify", "--agent", &name]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("AGENT"), "{text}");
    let row = text.lines().find(|l| l.contains(&id)).expect("our agent's row");
    assert!(
        row.contains(&name) && row.contains("intact") && row.split_whitespace().filter(|c| *c == "3").count() == 2,
        "{row}"
    );
    assert!(text.contains("Every chain is intact (1 agent)."), "{text}");
    let report = json(oakauth().args(["audit", "verify", "--agent", &id]));
    assert_eq!(report["ok"], true);
    assert_eq!(report["agents"][0]["rows_checked"], 3);
    assert_eq!(report["agents"][0]["broken"], Value::Null);

    let w = worker();
    if w.forge_allow(denied).is_none() {
        eprintln!("skipped the tampering half: the server's state directory is unknown (set OAKAUTH_TEST_PERSIST_DIR)");
        return;
    }

    // Broken: exit 4, and the first broken link by sequence number, decision id and problem.
    let out = run(oakauth().args(["audit", "verify", "--agent", &name]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.lines().any(|l| l.contains(&id) && l.contains("BROKEN")), "{text}");
    assert!(text.contains(&format!("Breaks in the chain of {id} ({name}):")), "{text}");
    let field =
        |k: &str| text.lines().find(|l| l.starts_with(&format!("{k}:"))).map(|l| l[k.len() + 1..].trim().to_owned());
    assert_eq!(field("seq").as_deref(), Some("2"), "{text}");
    assert_eq!(field("decision").as_deref(), Some(denied.as_str()), "{text}");
    assert!(field("problem").unwrap().contains("modified"), "{text}");
    assert!(text.contains("Broken chains: 1 of 1 agent."), "{text}");

    let out = run(oakauth().args(["audit", "verify", "--agent", &id, "--json"]));
    assert_eq!(out.status.code(), Some(4));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["agents"][0]["broken"]["chain_seq"], 2);
    assert_eq!(report["agents"][0]["broken"]["decision_id"], denied.as_str());

    // Every agent: the broken chain makes the whole run exit 4.
    let out = run(oakauth().args(["audit", "verify"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains(denied.as_str()), "{text}");

    let out = run(oakauth().args(["audit", "verify", "--agent", "no-such-agent-anywhere"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent"));
}

#[test]
fn the_log_of_a_deleted_agent_stays_reachable_by_its_id() {
    let (name, id, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "search", "--scopes", "query", "--risk", "read"]));
    let out = run(oakauth().args(["validate", "search", "query", "--json"]).env("OAKAUTH_API_KEY", &key));
    assert_eq!(out.status.code(), Some(3), "no rule: a deny");
    ok(oakauth().args(["agents", "delete", &name, "--yes"]));

    let page = json(oakauth().args(["logs", "--agent", &id]));
    let logs = page["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{page}");
    assert_eq!(logs[0]["agent_id"], id.as_str());
    let table = ok(oakauth().args(["logs", "--agent", &id]));
    assert!(table.lines().nth(1).is_some_and(|l| l.contains(&id) && l.contains("search:query")), "{table}");

    // A name is no longer known, and a malformed id is not taken for one.
    for gone in [name.as_str(), "agt_short"] {
        let out = run(oakauth().args(["logs", "--agent", gone]));
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("no agent with id or name"), "{}", stderr(&out));
    }
}

#[test]
fn logs_json_keeps_next_cursor_and_cursor_reads_the_next_page() {
    let (name, _, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "search", "--scopes", "query", "--risk", "read"]));
    for _ in 0..3 {
        run(oakauth().args(["validate", "search", "query"]).env("OAKAUTH_API_KEY", &key));
    }
    let first = json(oakauth().args(["logs", "--agent", &name, "--limit", "2"]));
    assert_eq!(first["logs"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next_cursor").to_owned();
    let second = json(oakauth().args(["logs", "--agent", &name, "--limit", "2", "--cursor", &cursor]));
    assert_eq!(second["logs"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(second["next_cursor"], Value::Null);
    let table = run(oakauth().args(["logs", "--agent", &name, "--limit", "2"]));
    assert!(stderr(&table).contains("--cursor"), "a cut table says there is more: {}", stderr(&table));
}

/// `oakauth` pointed at a port where nothing listens.
fn refused() -> Command {
    let mut cmd = bare_oakauth();
    cmd.env("OAKAUTH_BASE_URL", "http://127.0.0.1:9").env("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1");
    cmd
}

#[test]
fn key_errors_name_the_kind_of_key_and_where_it_came_from() {
    // A key of the wrong kind is refused before any request (nothing listens there: a request
    // would end in a connection error instead).
    let out = run(refused().env("OAKAUTH_ADMIN_KEY", "oak_0123456789abcdef").arg("whoami"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the admin key from OAKAUTH_ADMIN_KEY is an agent key (oak_…)")
            && stderr(&out).contains("oakadm_…"),
        "{}",
        stderr(&out)
    );
    let out = run(refused().env("OAKAUTH_API_KEY", "oakadm_0123456789abcdef").args(["validate", "t", "s"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the agent key from OAKAUTH_API_KEY is an admin key (oakadm_…)"), "{}", stderr(&out));
    let out = run(refused().args(["--admin-key", "hunter2", "whoami"]));
    assert!(
        stderr(&out).contains("the admin key given with --admin-key does not start with oakadm_"),
        "{}",
        stderr(&out)
    );

    // A missing agent key points to its variable.
    let out = run(refused().args(["validate", "t", "s"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no agent key") && stderr(&out).contains("OAKAUTH_API_KEY"), "{}", stderr(&out));

    // A refused key says which one, from where.
    let out = run(oakauth().env("OAKAUTH_ADMIN_KEY", "oakadm_wrong").arg("whoami"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("authentication failed") && stderr(&out).contains("admin key from OAKAUTH_ADMIN_KEY"),
        "{}",
        stderr(&out)
    );
    let out = run(oakauth().args(["validate", "t", "s"]).env("OAKAUTH_API_KEY", "oak_wrong"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("check the agent key from OAKAUTH_API_KEY"), "{}", stderr(&out));
}

#[test]
fn addresses_that_cannot_work_get_plain_words_and_a_hint() {
    let out = run(refused().env("OAKAUTH_ADMIN_KEY", "oakadm_x").arg("whoami"));
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("no connection to OakAuth at http://127.0.0.1:9")
            && text.contains("is the service running? is --base-url"),
        "{text}"
    );

    let out = run(bare_oakauth().env("OAKAUTH_ADMIN_KEY", "oakadm_x").args(["--base-url", "127.0.0.1:8787", "whoami"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no scheme") && stderr(&out).contains("https://127.0.0.1:8787"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_when_is_a_usage_error_that_shows_the_form_and_the_operators() {
    // Refused while reading the command line: no service needed.
    for when in ["amount lt 500", "/amount < 500", "/amount lt", "/amount"] {
        let out = run(bare_oakauth().args(["rules", "create", "a", "t", "s", "--when", when]));
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{when:?}: {text}");
        assert!(text.contains("'/amount lt 500'") && text.contains("path_under, host_in, cidr, exists"), "{text}");
    }
    for args in [
        &["rules", "create", "a", "t", "s", "--when-skip-missing"][..],
        &["rules", "update", "a", "r", "--when", "/a eq 1", "--clear-conditions"],
        &["rules", "create", "a", "t", "s", "--effect", "maybe"],
        &["rules", "update", "a", "r", "--mode", "dry-run"],
        &["simulate", "a", "--tool", "t"],
    ] {
        let out = run(bare_oakauth().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn bad_command_lines_exit_2_and_a_bad_time_lists_the_accepted_forms() {
    for args in [
        &["logs", "--since", "yesterday"][..],
        &["stats", "--until", "2h30"],
        &["logs", "--limit", "500"],
        &["validate", "t", "s", "--context", "[1]"],
        &["agents", "update", "whoever"],
        &["tools", "update", "whoever", "t"],
        &["rules", "update", "whoever", "rul_x"],
        &["rules", "create", "a", "t", "s", "--conditions-file", "/nonexistent/conditions.json"],
        &["simulate", "a", "--tool", "t", "--scope", "s", "--arguments", "[1]"],
        &["validate", "t", "s", "--arguments", "5"],
        &["tools", "create", "a", "t", "--scopes", "x", "--risk", "extreme"],
        &["no-such-command"],
    ] {
        let out = run(oakauth().env("OAKAUTH_API_KEY", "oak_x").args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = run(oakauth().args(["logs", "--since", "yesterday"]));
    let text = stderr(&out);
    assert!(
        text.contains("RFC 3339") && text.contains("a date") && text.contains("an age (90s, 30m, 2h, 7d)"),
        "{text}"
    );
}

#[test]
fn stored_text_is_escaped_blank_reasoning_is_named_and_colour_only_when_asked() {
    let (name, _, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "files", "--scopes", "read", "--risk", "read"]));
    ok(oakauth().args(["rules", "create", &name, "files", "read", "--reasoning", "none"]));
    let ask = |scope: &str, reasoning: &str| {
        let out = run(oakauth()
            .args(["validate", "files", scope, "--reasoning", reasoning, "--json"])
            .env("OAKAUTH_API_KEY", &key));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["decision_id"].as_str().unwrap().to_owned()
    };
    let spoof = ask("read", "report\u{202e}fdp.exe\u{2066}x\u{200b}");
    ask("read", "   ");
    ask("write", "no rule for this one"); // denied

    let table = ok(oakauth().args(["logs", "--agent", &name]));
    assert!(table.contains(r"report\u{202e}fdp.exe\u{2066}x\u{200b}"), "{table}");
    assert!(!table.chars().any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}')));
    assert!(table.contains("(whitespace only)"), "{table}");
    assert!(table.contains("DENIED") && !table.contains('\x1b'), "no colour into a pipe: {table:?}");
    let shown = ok(oakauth().args(["logs", "show", &spoof]));
    assert!(shown.contains(r"\u{202e}") && !shown.contains('\u{202e}'), "{shown}");

    let forced = ok(oakauth().env("CLICOLOR_FORCE", "1").env_remove("NO_COLOR").args(["logs", "--agent", &name]));
    assert!(forced.contains("\x1b[1;31mDENIED\x1b[0m"), "{forced:?}");
    let no_color = ok(oakauth().env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1").args(["logs", "--agent", &name]));
    assert!(!no_color.contains('\x1b'), "NO_COLOR wins: {no_color:?}");
}

#[test]
fn a_rule_with_a_condition_and_a_tool_schema_decide_validate_and_simulate_as_written() {
    let (name, _id, key) = create_agent();
    let dir = std::env::temp_dir().join(unique("cli-schema"));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("payments.schema.json");
    std::fs::write(
        &schema,
        r#"{"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"], "additionalProperties": false}"#,
    )
    .unwrap();
    let tool = json(
        oakauth()
            .args(["tools", "create", &name, "payments", "--scopes", "charge", "--risk", "write"])
            .arg("--input-schema")
            .arg(&schema),
    );
    assert_eq!(tool["input_schema"]["required"], serde_json::json!(["amount"]));

    // A pointer the schema does not have is refused by the service, naming the condition.
    let out = run(oakauth().args(["rules", "create", &name, "payments", "charge", "--when", "/amout lt 500"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("conditions[0]") && stderr(&out).contains("/amout"), "{}", stderr(&out));

    let rule = json(oakauth().args([
        "rules",
        "create",
        &name,
        "payments",
        "charge",
        "--reasoning",
        "none",
        "--when",
        "/amount lt 500",
    ]));
    assert_eq!(rule["conditions"][0]["op"], "lt");
    let validate = |arguments: &str| {
        run(oakauth().env("OAKAUTH_API_KEY", &key).args(["validate", "payments", "charge", "--arguments", arguments]))
    };
    assert_eq!(validate(r#"{"amount": 20}"#).status.code(), Some(0));
    let big = validate(r#"{"amount": 900}"#);
    assert_eq!(big.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&big.stdout).contains("conditions_not_met"));
    let bad = validate(r#"{"amount": 20, "memo": "x"}"#);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("invalid_arguments"));

    // simulate decides the same (exit status 3 for a deny, like validate).
    let sim = run(oakauth().args([
        "simulate",
        &name,
        "--tool",
        "payments",
        "--scope",
        "charge",
        "--arguments",
        r#"{"amount": 900}"#,
        "--json",
    ]));
    assert_eq!(sim.status.code(), Some(3));
    let sim: Value = serde_json::from_slice(&sim.stdout).unwrap();
    assert_eq!(sim["reason"], "conditions_not_met");
    assert_eq!(sim["trace"][0]["rule_id"], rule["id"]);

    // replay: with a limit of 1000, exactly the call of 900 would be decided differently.
    let draft = dir.join("draft.json");
    std::fs::write(
        &draft,
        r#"[{"tool": "payments", "scope": "charge", "conditions": [{"pointer": "/amount", "op": "lt", "value": 1000, "on_missing": "deny"}]}]"#,
    )
    .unwrap();
    let replayed = json(oakauth().args(["replay", &name, "--limit", "50", "--rules-file"]).arg(&draft));
    assert_eq!(replayed["replayed"], 3, "{replayed}");
    assert_eq!(replayed["changed"].as_array().unwrap().len(), 1, "{replayed}");
    assert_eq!(replayed["changed"][0]["before"], "conditions_not_met");
    assert_eq!(replayed["changed"][0]["after"], "allowed");
    let text = ok(oakauth().args(["replay", &name, "--rules-file"]).arg(&draft));
    assert!(text.contains("Replayed 3 audited calls; 1 would be decided differently."), "{text}");

    let removed = json(oakauth().args(["tools", "update", &name, "payments", "--no-input-schema"]));
    assert_eq!(removed["input_schema"], Value::Null);
    std::fs::remove_dir_all(&dir).ok();
}

/// Validates as the agent whose key is `key`; returns the exit status and the decision's JSON.
fn validate_as(key: &str, args: &[&str]) -> (Option<i32>, Value) {
    let out = run(oakauth().env("OAKAUTH_API_KEY", key).arg("validate").args(args).arg("--json"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    (out.status.code(), serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

#[test]
fn approvals_are_listed_shown_approved_and_denied_and_the_agent_sees_each_outcome() {
    let (name, id, key) = create_agent();
    ok(oakauth().args(["tools", "create", &name, "payments", "--scopes", "send", "--risk", "write"]));
    ok(oakauth().args(["rules", "create", &name, "payments", "send", "--reasoning", "none"]));
    let ask = ok(oakauth().args([
        "rules",
        "create",
        &name,
        "payments",
        "send",
        "--effect",
        "require_approval",
        "--approval-expiry-seconds",
        "600",
        "--when",
        "/amount gt 500",
    ]));
    assert!(ask.contains("require_approval") && ask.contains("approval expiry: 600 s"), "{ask}");
    let pay = |amount: u32| {
        ["payments".to_owned(), "send".to_owned(), "--arguments".to_owned(), format!(r#"{{"amount":{amount}}}"#)]
    };

    let (code, asked) = validate_as(&key, &pay(900).each_ref().map(String::as_str));
    assert_eq!((code, asked["reason"].as_str()), (Some(3), Some("approval_required")), "{asked}");
    let approval = asked["approval"]["id"].as_str().unwrap().to_owned();
    let out = run(oakauth()
        .args(["validate", "payments", "send", "--arguments", r#"{"amount":900}"#])
        .env("OAKAUTH_API_KEY", &key));
    assert_eq!(out.status.code(), Some(3));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("{approval} (pending, expires")), "{table}");

    let listed = ok(oakauth().args(["approvals", "list", "--status", "pending", "--agent", &name]));
    assert!(listed.starts_with("ID") && listed.contains(&approval), "{listed}");
    assert!(
        listed.contains("payments:send") && listed.contains(r#"{"amount":900}"#) && listed.contains(&name),
        "{listed}"
    );
    let page = json(oakauth().args(["approvals", "list", "--agent", &id]));
    assert_eq!(page["approvals"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    let shown = ok(oakauth().args(["approvals", "show", &approval]));
    assert!(shown.contains("status:") && shown.contains("pending") && shown.contains(r#"{"amount":900}"#), "{shown}");
    assert!(shown.contains(&format!("oakauth approvals approve {approval}")), "{shown}");

    let approved = ok(oakauth().args(["approvals", "approve", &approval, "--comment", "ok for INV-7"]));
    assert!(
        approved.contains("approved") && approved.contains("ok for INV-7") && approved.contains("oakadm_"),
        "{approved}"
    );
    let (code, used) = validate_as(&key, &pay(900).each_ref().map(String::as_str));
    assert_eq!(
        (code, used["reason"].as_str(), used["approval"]["status"].as_str()),
        (Some(0), Some("allowed"), Some("consumed"))
    );
    let (code, again) = validate_as(&key, &pay(900).each_ref().map(String::as_str));
    assert_eq!((code, again["reason"].as_str()), (Some(3), Some("approval_consumed")));

    // Denied with a comment: the agent hears it. Deciding twice is an error naming the status.
    let (_, second) = validate_as(&key, &pay(950).each_ref().map(String::as_str));
    let denied_id = second["approval"]["id"].as_str().unwrap().to_owned();
    let denied = json(oakauth().args(["approvals", "deny", &denied_id, "--comment", "not this month"]));
    assert_eq!((denied["status"].as_str(), denied["comment"].as_str()), (Some("denied"), Some("not this month")));
    let (code, told) = validate_as(&key, &pay(950).each_ref().map(String::as_str));
    assert_eq!(
        (code, told["reason"].as_str(), told["approval"]["comment"].as_str()),
        (Some(3), Some("approval_denied"), Some("not this month"))
    );
    let twice = run(oakauth().args(["approvals", "approve", &denied_id]));
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("conflict") && stderr(&twice).contains("denied"), "{}", stderr(&twice));

    let history = ok(oakauth().args(["approvals", "list", "--agent", &name, "--status", "consumed"]));
    assert!(history.contains(&approval) && !history.contains(&denied_id), "{history}");
    assert_eq!(run(oakauth().args(["approvals", "list", "--status", "maybe"])).status.code(), Some(2));
    assert_eq!(
        run(oakauth().args(["rules", "create", &name, "payments", "send", "--effect", "ask"])).status.code(),
        Some(2)
    );
}

#[test]
fn a_webhook_secret_is_printed_once_and_never_listed() {
    let out = run(oakauth().args([
        "webhooks",
        "create",
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "approval.requested",
        "--event",
        "key.rotated,agent.changed",
        "--description",
        "pager",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stderr(&out).contains("shows it only once"), "{}", stderr(&out));
    let secret = stdout.lines().find_map(|l| l.strip_prefix("secret:")).expect("a secret line").trim().to_owned();
    assert!(secret.starts_with("whsec_"), "{stdout}");
    assert_eq!(stdout.matches(&secret).count(), 1);
    let id = stdout.lines().find_map(|l| l.strip_prefix("id:")).unwrap().trim().to_owned();
    assert!(stdout.contains("approval.requested,key.rotated,agent.changed"), "{stdout}");

    let table = ok(oakauth().args(["webhooks", "list"]));
    assert!(table.contains(&id) && table.contains("http://127.0.0.1:9/hook") && !table.contains(&secret), "{table}");
    let listed = ok(oakauth().args(["webhooks", "list", "--json"]));
    assert!(listed.contains(&id) && !listed.contains(&secret) && !listed.contains("whsec_"), "{listed}");
    assert!(!ok(oakauth().args(["webhooks", "show", &id])).contains("whsec_"));

    let updated = ok(oakauth().args(["webhooks", "update", &id, "--disable", "--description", "paused"]));
    assert!(updated.contains("disabled") && updated.contains("paused"), "{updated}");
    assert_eq!(run(oakauth().args(["webhooks", "update", &id])).status.code(), Some(2), "nothing to change");

    let rotated = json(oakauth().args(["webhooks", "rotate-secret", &id, "--overlap-seconds", "60"]));
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(rotated["secret_rotating_until"].is_string(), "{rotated}");

    let deliveries = json(oakauth().args(["webhooks", "deliveries", &id, "--status", "failed"]));
    assert!(deliveries["deliveries"].is_array(), "{deliveries}");
    let disabled = run(oakauth().args(["webhooks", "redeliver", &id, "msg_nope"]));
    assert!(stderr(&disabled).contains("enable it"), "{}", stderr(&disabled));
    assert!(ok(oakauth().args(["webhooks", "update", &id, "--enable"])).contains("enabled"));
    let missing = run(oakauth().args(["webhooks", "redeliver", &id, "msg_nope"]));
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("not found"), "{}", stderr(&missing));
    let bad =
        run(oakauth().args(["webhooks", "create", "--url", "https://example.com/h", "--event", "approval.maybe"]));
    assert_eq!(bad.status.code(), Some(2));
    let private = run(oakauth().args(["webhooks", "create", "--url", "https://10.1.2.3/h", "--event", "key.rotated"]));
    assert_eq!(private.status.code(), Some(1), "a private address is refused by the service");

    assert!(ok(oakauth().args(["webhooks", "delete", &id])).contains("Deleted webhook"));
    assert_eq!(run(oakauth().args(["webhooks", "show", &id])).status.code(), Some(1));
}

#[test]
fn plans_lists_every_published_plan_and_its_limits() {
    let listed = json(oakauth().arg("plans"));
    let published = serde_json::to_value(oakauth::wire::plans::PlanList::published()).unwrap();
    assert_eq!(listed, published);
    let text = ok(oakauth().arg("plans"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("PLAN") && lines[0].contains("VALIDATIONS/MONTH"), "{text}");
    assert!(lines[1].starts_with("free") && lines[1].contains("1000"), "{text}");
    assert!(lines[3].starts_with("enterprise") && lines[3].contains("unlimited"), "{text}");
}

#[test]
fn usage_counts_this_month_s_validations_by_agent() {
    let (name, id, key) = create_agent();
    json(oakauth().args(["tools", "create", &name, "files", "--scopes", "read", "--risk", "read"]));
    json(oakauth().args(["rules", "create", &name, "files", "read"]));
    for _ in 0..3 {
        ok(oakauth().args(["validate", "files", "read", "--api-key", &key]));
    }
    // The audit log (which usage counts) lags the decisions by up to a second.
    let deadline = Instant::now() + Duration::from_secs(20);
    let usage = loop {
        let usage = json(oakauth().arg("usage"));
        let mine = usage["by_agent"].as_array().unwrap().iter().find(|a| a["agent_id"] == id.as_str()).cloned();
        if mine.as_ref().is_some_and(|a| a["validations"] == 3) || Instant::now() > deadline {
            break usage;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let mine = usage["by_agent"].as_array().unwrap().iter().find(|a| a["agent_id"] == id.as_str()).unwrap();
    assert_eq!((mine["name"].as_str(), mine["validations"].as_u64()), (Some(name.as_str()), Some(3)), "{usage}");
    // The shared organization is Enterprise without limits.
    assert_eq!(usage["plan"], "enterprise");
    assert_eq!(usage["quotas"]["validations"]["limit"], Value::Null);
    assert!(usage["quotas"]["validations"]["used"].as_u64().unwrap() >= 3);
    let text = ok(oakauth().arg("usage"));
    assert!(text.contains("plan:") && text.contains("Enterprise"), "{text}");
    assert!(text.contains("validations (this month)") && text.contains(" / unlimited"), "{text}");
    assert!(text.contains(&id) && text.contains(&name), "{text}");
}

#[test]
fn billing_without_stripe_says_it_is_not_configured() {
    for args in [&["billing", "checkout", "--plan", "pro"][..], &["billing", "portal"][..]] {
        let out = run(oakauth().args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("billing"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A plan that is not one is refused before anything is sent.
    let out = run(oakauth().args(["billing", "checkout", "--plan", "gold"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown plan"));
}
