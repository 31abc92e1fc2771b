//! Where the service address and the keys come from, the clients built from them, and errors
//! told in those terms: which key (admin or agent), from where, and which address.

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

/// Which key a command uses and where it came from, to name both in errors.
pub struct KeyOrigin {
    kind: Kind,
    source: String,
}

/// A kind of key: what it is called, its prefix, and where a command takes it from.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Kind {
    name: &'static str,
    prefix: &'static str,
    flag: &'static str,
    env: &'static str,
    /// Who needs it, for "… needs an admin key".
    user: &'static str,
}

const ADMIN: Kind =
    Kind { name: "admin key", prefix: "oakadm_", flag: "--admin-key", env: "OAKAUTH_ADMIN_KEY", user: "this command" };
/// A person's bearer session token (`POST /v1/auth/tokens`), accepted wherever an admin key is.
const SESSION_PREFIX: &str = "oaks_";
const AGENT: Kind =
    Kind { name: "agent key", prefix: "oak_", flag: "--api-key", env: "OAKAUTH_API_KEY", user: "validate" };

impl Kind {
    /// Whether `key` has this kind's prefix (the two prefixes never both fit).
    fn fits(self, key: &str) -> bool {
        key.starts_with(self.prefix) || (self == ADMIN && key.starts_with(SESSION_PREFIX))
    }

    fn other(self) -> Kind {
        if self == ADMIN {
            AGENT
        } else {
            ADMIN
        }
    }
}

impl Service {
    pub fn from_cli(cli: &Cli) -> Result<Self, Failure> {
        let base_url = cli.base_url.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            "no base URL: pass --base-url or set OAKAUTH_BASE_URL (such as https://oakauth.example.com)".to_owned()
        })?;
        if !base_url.contains("://") {
            return Err(Failure::Message(format!(
                "the base URL {base_url:?} has no scheme: write https://{base_url} (or http://{base_url} for a \
                 service on this machine, with --allow-insecure-loopback)"
            )));
        }
        Ok(Service {
            base_url,
            insecure: cli.allow_insecure_loopback,
            timeout: Duration::from_secs(cli.timeout.max(1)),
        })
    }

    /// The client of `validate`, with the agent key.
    pub fn agent(&self, flag: Option<String>) -> Result<(OakAuth, KeyOrigin), Failure> {
        let (key, origin) = secret(flag, AGENT, Ask::AtATerminal)?;
        let oak = OakAuth::builder(key).base_url(&self.base_url).allow_insecure_loopback(self.insecure);
        Ok((oak.timeout(self.timeout).build().map_err(config)?, origin))
    }

    /// The admin client of every other command.
    pub fn admin(&self, flag: Option<String>) -> Result<(Admin, KeyOrigin), Failure> {
        self.admin_client(secret(flag, ADMIN, Ask::AtATerminal)?)
    }

    /// The admin client of `oakauth mcp`, whose standard input is the MCP connection: the key
    /// comes from the flag or the environment, never from a prompt.
    pub fn admin_unattended(&self, flag: Option<String>) -> Result<(Admin, KeyOrigin), Failure> {
        self.admin_client(secret(flag, ADMIN, Ask::Never)?)
    }

    fn admin_client(&self, (key, origin): (String, KeyOrigin)) -> Result<(Admin, KeyOrigin), Failure> {
        let mut admin = Admin::builder(key).base_url(&self.base_url).allow_insecure_loopback(self.insecure);
        // The organization a person's bearer session token acts in (several organizations).
        if let Some(org) = std::env::var("OAKAUTH_ORGANIZATION").ok().filter(|o| !o.trim().is_empty()) {
            admin = admin.organization(org.trim());
        }
        Ok((admin.timeout(self.timeout).build().map_err(config)?, origin))
    }

    /// A failed request in plain words: which key was refused, or which address did not answer.
    pub fn explain(&self, e: &Error, key: &KeyOrigin) -> String {
        const HINT: &str = "is the service running? is --base-url (or OAKAUTH_BASE_URL) right?";
        let base = &self.base_url;
        match e {
            Error::Auth { status, api } => format!(
                "authentication failed ({status} {}): {}; check the {} {}",
                api.code, api.message, key.kind.name, key.source
            ),
            Error::Connection(err) => {
                let mut cause: &dyn std::error::Error = err;
                while let Some(inner) = cause.source() {
                    cause = inner;
                }
                format!("no connection to OakAuth at {base} ({cause}); {HINT}")
            }
            Error::Timeout(d) => {
                format!("OakAuth at {base} did not answer within {}s; {HINT} (--timeout waits longer)", d.as_secs())
            }
            other => other.to_string(),
        }
    }
}

/// The SDK names its own setting; say how to give it here.
fn config(e: Error) -> Failure {
    match e {
        Error::Config(m) if m.contains("allow_insecure_loopback") => Failure::Message(format!(
            "{m}; for oakauth: --allow-insecure-loopback or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1"
        )),
        other => Failure::Message(other.to_string()),
    }
}

/// Whether a missing key is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// At a prompt without echo, when standard input is a terminal.
    AtATerminal,
    /// Never: standard input is not the user's.
    Never,
}

/// A key: from its (deprecated) flag with a warning, else from the environment, else typed at a
/// prompt without echo when standard input is a terminal (and `ask` allows it). A key of the
/// other kind, or of no kind at all, is refused here, before any request.
fn secret(flag: Option<String>, kind: Kind, ask: Ask) -> Result<(String, KeyOrigin), Failure> {
    let Kind { name, prefix, flag: flag_name, env, user } = kind;
    let (key, source) = if let Some(key) = flag {
        eprintln!(
            "warning: {flag_name} is deprecated: other users of this machine can read it (ps, /proc) and it stays \
             in your shell history; set {env} or type the key at the prompt instead"
        );
        (key, format!("given with {flag_name}"))
    } else if let Some(key) = std::env::var(env).ok().filter(|k| !k.is_empty()) {
        (key, format!("from {env}"))
    } else if ask == Ask::AtATerminal {
        (prompt(kind)?, "typed at the prompt".to_owned())
    } else {
        return Err(Failure::Message(format!(
            "no {name} ({prefix}…): set {env} in the environment of this command (it never asks at a prompt: \
             its standard input is the MCP connection)"
        )));
    };
    let key = key.trim().to_owned();
    let other = kind.other();
    if other.fits(&key) {
        return Err(Failure::Message(format!(
            "the {name} {source} is an {} ({}…): {user} needs an {name} ({prefix}…)",
            other.name, other.prefix
        )));
    }
    if !kind.fits(&key) {
        let also =
            if kind == ADMIN { format!(" (or {SESSION_PREFIX}, a bearer session token)") } else { String::new() };
        return Err(Failure::Message(format!(
            "the {name} {source} does not start with {prefix}{also}: it is not an {name}"
        )));
    }
    Ok((key, KeyOrigin { kind, source }))
}

fn prompt(kind: Kind) -> Result<String, Failure> {
    let Kind { name, env, prefix, .. } = kind;
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("OakAuth {name} ({prefix}…): "))
            .map_err(|e| format!("could not read the {name}: {e}"))?;
        let typed = typed.trim();
        if !typed.is_empty() {
            return Ok(typed.to_owned());
        }
    }
    Err(Failure::Message(format!("no {name} ({prefix}…): set {env} (or run oakauth in a terminal to be asked for it)")))
}
