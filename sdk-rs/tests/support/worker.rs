//! The real OakAuth worker in local workerd, one per test binary, started on first use by
//! `tests/support/serve.mjs` (fresh local D1 and Durable Object state, two seeded organizations).
//!
//! The server stops when its standard input closes, which happens when the test process exits,
//! so no test has to stop it. To run against a server that is already up instead, set
//! `OAKAUTH_TEST_BASE_URL`, `OAKAUTH_TEST_ADMIN_KEY` and `OAKAUTH_TEST_OTHER_ADMIN_KEY`.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oakauth::wire::{CreateAgent, CreateRule, CreateTool, RateLimitConfig, ReasoningPolicy, RiskLevel};
use oakauth::{Admin, OakAuth};

pub struct Worker {
    pub base_url: String,
    pub admin_key: String,
    pub other_admin_key: String,
    pub organization_id: Option<String>,
    /// Held open for the life of the process: the server stops when it closes.
    _server: Option<Mutex<(Child, ChildStdin)>>,
}

const START_TIMEOUT: Duration = Duration::from_secs(300);

pub fn worker() -> &'static Worker {
    static WORKER: OnceLock<Worker> = OnceLock::new();
    WORKER.get_or_init(start)
}

fn start() -> Worker {
    if let (Ok(base_url), Ok(admin_key)) = (std::env::var("OAKAUTH_TEST_BASE_URL"), std::env::var("OAKAUTH_TEST_ADMIN_KEY")) {
        return Worker {
            base_url,
            admin_key,
            other_admin_key: std::env::var("OAKAUTH_TEST_OTHER_ADMIN_KEY").expect("OAKAUTH_TEST_OTHER_ADMIN_KEY"),
            organization_id: None,
            _server: None,
        };
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
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
        _server: Some(Mutex::new((child, stdin))),
    }
}

impl Worker {
    pub fn admin(&self) -> Admin {
        Admin::builder(&self.admin_key).base_url(&self.base_url).build().unwrap()
    }

    pub fn other_admin(&self) -> Admin {
        Admin::builder(&self.other_admin_key).base_url(&self.base_url).build().unwrap()
    }

    pub fn agent_client(&self, api_key: &str) -> OakAuth {
        OakAuth::builder(api_key).base_url(&self.base_url).build().unwrap()
    }
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
pub async fn agent_with(
    rate_limit: Option<RateLimitConfig>,
    tools: &[ToolSpec<'_>],
) -> TestAgent {
    let w = worker();
    let admin = w.admin();
    let name = unique("agent");
    let created = admin
        .create_agent(&CreateAgent { name: name.clone(), enabled: None, rate_limit })
        .await
        .expect("create agent");
    let id = created.agent.id.clone();
    for (tool, risk, scopes) in tools {
        admin
            .create_tool(&id, &CreateTool {
                name: tool.to_string(),
                description: None,
                scopes: scopes.iter().map(|(s, _)| s.to_string()).collect(),
                risk_level: *risk,
            })
            .await
            .expect("create tool");
        for (scope, policy) in scopes.iter() {
            if let Some(policy) = policy {
                admin
                    .create_rule(&id, &CreateRule {
                        tool: tool.to_string(),
                        scope: scope.to_string(),
                        require_reasoning: Some(*policy),
                    })
                    .await
                    .expect("create rule");
            }
        }
    }
    TestAgent { oak: w.agent_client(&created.api_key), id, name, key: created.api_key }
}
