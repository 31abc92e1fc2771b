//! The real OakAuth worker in local workerd, one per test binary, started on first use by
//! `tests/support/serve.mjs` (fresh local D1 and Durable Object state, two seeded organizations).
//!
//! The server stops when its standard input closes, which happens when the test process exits,
//! so no test has to stop it. To run against a server that is already up instead, set
//! `OAKAUTH_TEST_BASE_URL`, `OAKAUTH_TEST_ADMIN_KEY` and `OAKAUTH_TEST_OTHER_ADMIN_KEY` (and
//! `OAKAUTH_TEST_PERSIST_DIR`, its local state directory, for the tests that edit the database
//! behind the service's back; without it they are skipped).

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oakauth::wire::{CreateAgent, CreateRule, CreateTool, RateLimitConfig, ReasoningPolicy, RiskLevel};
use oakauth::{Admin, Error, OakAuth, ValidateRequest};

pub struct Worker {
    pub base_url: String,
    pub admin_key: String,
    pub other_admin_key: String,
    pub organization_id: Option<String>,
    /// The server's local state (D1 and Durable Objects), for [`Worker::d1`].
    pub persist_dir: Option<PathBuf>,
    /// Held open for the life of the process: the server stops when it closes.
    _server: Option<Mutex<(Child, ChildStdin)>>,
}

const START_TIMEOUT: Duration = Duration::from_secs(300);

pub fn worker() -> &'static Worker {
    static WORKER: OnceLock<Worker> = OnceLock::new();
    WORKER.get_or_init(start)
}

fn start() -> Worker {
    if let (Ok(base_url), Ok(admin_key)) =
        (std::env::var("OAKAUTH_TEST_BASE_URL"), std::env::var("OAKAUTH_TEST_ADMIN_KEY"))
    {
        return Worker {
            base_url,
            admin_key,
            other_admin_key: std::env::var("OAKAUTH_TEST_OTHER_ADMIN_KEY").expect("OAKAUTH_TEST_OTHER_ADMIN_KEY"),
            organization_id: None,
            persist_dir: std::env::var_os("OAKAUTH_TEST_PERSIST_DIR").map(PathBuf::from),
            _server: None,
        };
    }
    let root = repo_root();
    let mut child = Command::new("node")
        .arg("tests/support/serve.mjs")
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("could not run `node tests/support/serve.mjs` (is Node.js installed? see scripts/install.sh)");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(START_TIMEOUT)
        .unwrap_or_else(|_| panic!("tests/support/serve.mjs printed nothing within {START_TIMEOUT:?}"));
    let info: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("tests/support/serve.mjs did not start the worker ({e}); it printed {line:?}"));
    let text = |k: &str| info[k].as_str().unwrap_or_else(|| panic!("no {k} in {line}")).to_owned();
    Worker {
        base_url: text("base_url"),
        admin_key: text("admin_key"),
        other_admin_key: text("other_admin_key"),
        organization_id: info["organization_id"].as_str().map(str::to_owned),
        persist_dir: info["persist_dir"].as_str().map(PathBuf::from),
        _server: Some(Mutex::new((child, stdin))),
    }
}

impl Worker {
    pub fn admin(&self) -> Admin {
        Admin::builder(&self.admin_key).base_url(&self.base_url).allow_insecure_loopback(true).build().unwrap()
    }

    pub fn other_admin(&self) -> Admin {
        Admin::builder(&self.other_admin_key).base_url(&self.base_url).allow_insecure_loopback(true).build().unwrap()
    }

    pub fn agent_client(&self, api_key: &str) -> OakAuth {
        OakAuth::builder(api_key).base_url(&self.base_url).allow_insecure_loopback(true).build().unwrap()
    }

    /// Runs SQL directly against the server's local D1 database, behind the service's back
    /// (`wrangler d1 execute DB --local --persist-to <persist_dir>`), and returns wrangler's JSON
    /// answer. `None` when the state directory is unknown (a server started elsewhere).
    pub fn d1(&self, sql: &str) -> Option<serde_json::Value> {
        let persist_dir = self.persist_dir.as_ref()?;
        let root = repo_root();
        let run = || {
            Command::new(root.join("node_modules/.bin/wrangler"))
                .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
                .arg(persist_dir)
                .args(["--command", sql])
                .current_dir(&root)
                .env("CI", "true")
                .env("WRANGLER_SEND_METRICS", "false")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("run node_modules/.bin/wrangler (see scripts/install.sh)")
        };
        // The running worker may hold the database's write lock for a moment: retry a few times.
        let mut out = run();
        for attempt in 1..5u64 {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if out.status.success() || !(text.contains("SQLITE_BUSY") || text.contains("database is locked")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
            out = run();
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "wrangler d1 execute failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
    }

    /// Rewrites one denied decision's audit row into an allow, as someone covering their tracks
    /// in the database would (dropping the trigger that refuses updates first). `None` when the
    /// database cannot be reached (see [`Worker::d1`]).
    pub fn forge_allow(&self, decision_id: &str) -> Option<()> {
        assert!(decision_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{decision_id}");
        let sql = format!(
            "DROP TRIGGER IF EXISTS audit_log_no_update; \
             UPDATE audit_log SET reason = 'allowed', allowed = 1 WHERE decision_id = '{decision_id}' AND allowed = 0; \
             SELECT allowed, reason FROM audit_log WHERE decision_id = '{decision_id}'"
        );
        let answer = self.d1(&sql)?;
        // One answer per statement; the last is the row as it now reads.
        let row = &answer[2]["results"][0];
        assert_eq!((row["allowed"].as_i64(), row["reason"].as_str()), (Some(1), Some("allowed")), "{answer}");
        Some(())
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A name no other test (or earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// An agent set up for a test: its id, its key and a client holding that key.
pub struct TestAgent {
    pub id: String,
    pub name: String,
    pub key: String,
    pub oak: OakAuth,
}

/// A tool for [`agent_with`]: its name, risk level, and scopes with the policy of their rule
/// (`None`: no rule).
pub type ToolSpec<'a> = (&'a str, RiskLevel, &'a [(&'a str, Option<ReasoningPolicy>)]);

/// Creates an agent with the given rate limit and, for each `(tool, risk, [(scope, policy)])`,
/// a tool with those scopes and a rule per scope whose policy is `Some`.
pub async fn agent_with(rate_limit: Option<RateLimitConfig>, tools: &[ToolSpec<'_>]) -> TestAgent {
    let w = worker();
    let admin = w.admin();
    let name = unique("agent");
    let created =
        admin.create_agent(&CreateAgent { name: name.clone(), enabled: None, rate_limit }).await.expect("create agent");
    let id = created.agent.id.clone();
    for (tool, risk, scopes) in tools {
        admin
            .create_tool(
                &id,
                &CreateTool {
                    name: tool.to_string(),
                    description: None,
                    scopes: scopes.iter().map(|(s, _)| s.to_string()).collect(),
                    risk_level: *risk,
                    input_schema: None,
                },
            )
            .await
            .expect("create tool");
        for (scope, policy) in scopes.iter() {
            if let Some(policy) = policy {
                admin
                    .create_rule(
                        &id,
                        &CreateRule {
                            require_reasoning: Some(*policy),
                            ..CreateRule::allow(tool.to_string(), scope.to_string())
                        },
                    )
                    .await
                    .expect("create rule");
            }
        }
    }
    TestAgent { oak: w.agent_client(&created.api_key), id, name, key: created.api_key }
}

/// Guards an action that counts its runs: the guard's result and how many times the action ran.
pub async fn run_guarded(oak: &OakAuth, request: ValidateRequest) -> (Result<(), Error>, usize) {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let result = oak
        .guard(request, async move {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    (result, runs.load(Ordering::SeqCst))
}
