//! Where the service address and the keys come from, and the clients built from them.

use std::io::IsTerminal;
use std::time::Duration;

use oakauth::{Admin, Error, OakAuth};

use crate::cli::Cli;
use crate::commands::Failure;

/// The service address and options shared by both kinds of client.
pub struct Service {
    base_url: String,
    insecure: bool,
    timeout: Duration,
}

impl Service {
    pub fn from_cli(cli: &Cli) -> Result<Self, Failure> {
        let base_url = cli.base_url.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            "no base URL: pass --base-url or set OAKAUTH_BASE_URL (such as https://oakauth.example.com)".to_owned()
        })?;
        Ok(Service {
            base_url,
            insecure: cli.allow_insecure_loopback,
            timeout: Duration::from_secs(cli.timeout.max(1)),
        })
    }

    /// The client of `validate`, with the agent key.
    pub fn agent(&self, flag: Option<String>) -> Result<OakAuth, Failure> {
        let key = secret(flag, "--api-key", "OAKAUTH_API_KEY", "agent key (oak_…)")?;
        let oak = OakAuth::builder(key).base_url(&self.base_url).allow_insecure_loopback(self.insecure);
        oak.timeout(self.timeout).build().map_err(config)
    }

    /// The admin client of every other command.
    pub fn admin(&self, flag: Option<String>) -> Result<Admin, Failure> {
        let key = secret(flag, "--admin-key", "OAKAUTH_ADMIN_KEY", "admin key (oakadm_…)")?;
        let admin = Admin::builder(key).base_url(&self.base_url).allow_insecure_loopback(self.insecure);
        admin.timeout(self.timeout).build().map_err(config)
    }
}

/// The SDK names its own setting; say how to give it here.
fn config(e: Error) -> Failure {
    match e {
        Error::Config(m) if m.contains("allow_insecure_loopback") => {
            Failure(format!("{m}; for oakauth: --allow-insecure-loopback or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1"))
        }
        other => Failure::from(other),
    }
}

/// A key: from its (deprecated) flag with a warning, else from the environment, else typed at a
/// prompt without echo when standard input is a terminal.
fn secret(flag: Option<String>, flag_name: &str, env: &str, what: &str) -> Result<String, Failure> {
    if let Some(key) = flag {
        eprintln!(
            "warning: {flag_name} is deprecated: other users of this machine can read it (ps, /proc) and it stays \
             in your shell history; set {env} or type the key at the prompt instead"
        );
        return Ok(key);
    }
    if let Some(key) = std::env::var(env).ok().filter(|k| !k.is_empty()) {
        return Ok(key);
    }
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("OakAuth {what}: "))
            .map_err(|e| format!("could not read the {what}: {e}"))?;
        let typed = typed.trim();
        if !typed.is_empty() {
            return Ok(typed.to_owned());
        }
    }
    Err(Failure(format!("no {what}: set {env} (or run oakauth in a terminal to be asked for it)")))
}
