//! The proxy's configuration file (TOML): where OakAuth is and which key to use, the upstream MCP
//! server, the optional Streamable HTTP listener, and the mapping of MCP tools, resources and
//! prompts to OakAuth tools and scopes.
//!
//! Everything is checked when the file is read: an unknown key, a missing base URL, a mapping to
//! an invalid tool or scope name, a bad glob or any `default` other than `"deny"` is an error that
//! names the line, and the proxy does not start. There is no setting that allows an unmapped call.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::Error;

/// The reasoning argument's name when the file does not set `reasoning_argument`.
pub const DEFAULT_REASONING_ARGUMENT: &str = crate::mcp::DEFAULT_REASONING_ARGUMENT;
/// The listener's path when `[listen]` does not set `path`.
pub const DEFAULT_PATH: &str = "/mcp";
/// How long a `tools/list` check of one OakAuth tool and scope is reused by default.
pub const DEFAULT_LIST_CACHE: Duration = Duration::from_secs(5);
/// The largest configuration file read (bytes).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The most mapping entries of each kind.
pub const MAX_MAPPINGS: usize = 10_000;

/// A checked configuration. Build it with [`Config::parse`] or [`Config::load`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Where OakAuth is, and how the proxy gets its agent key.
    pub oakauth: OakAuthSettings,
    /// The MCP server behind the proxy, unless the command line names it.
    pub upstream: Option<Upstream>,
    /// The Streamable HTTP listener, when the proxy serves HTTP rather than stdio.
    pub listen: Option<Listen>,
    /// Whether `tools/list` leaves out the tools the agent may not use at all.
    pub hide_denied: bool,
    /// The argument that carries the model's reasoning (added to each tool's input schema, taken
    /// out of the arguments before the call goes on).
    pub reasoning_argument: String,
    /// Whether `resources/read` is checked with OakAuth (through the `[[resources]]` mapping).
    pub guard_resources: bool,
    /// Whether `prompts/get` is checked with OakAuth (through the `[[prompts]]` mapping).
    pub guard_prompts: bool,
    /// MCP tool names to OakAuth tools and scopes.
    pub tools: Mapping,
    /// Resource URIs to OakAuth tools and scopes.
    pub resources: Mapping,
    /// Prompt names to OakAuth tools and scopes.
    pub prompts: Mapping,
}

/// The `[oakauth]` table.
#[derive(Debug, Clone)]
pub struct OakAuthSettings {
    /// The OakAuth service, such as `https://oakauth.example.com`.
    pub base_url: String,
    /// Where the agent key comes from; `None` when no key is configured (an HTTP listener whose
    /// clients each present their own).
    pub key: Option<KeySource>,
    /// Allow `http://` to a loopback host.
    pub allow_insecure_loopback: bool,
    /// Time allowed for each validate attempt.
    pub timeout: Option<Duration>,
    /// Retries after a connection failure, a timeout or a 5xx.
    pub retries: Option<u32>,
    /// How long a `tools/list` check is reused.
    pub list_cache: Duration,
}

/// Where the proxy's own agent key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable's name.
    Env(String),
    /// A file holding the key (surrounding whitespace is ignored).
    File(String),
    /// The key itself, written in the file.
    Value(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(name) => write!(f, "Env({name:?})"),
            KeySource::File(path) => write!(f, "File({path:?})"),
            KeySource::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl KeySource {
    /// Reads the key.
    pub fn read(&self) -> Result<String, Error> {
        let key = match self {
            KeySource::Env(name) => std::env::var(name).map_err(|_| {
                Error::Config(format!("the agent key's environment variable {name} is not set (key_env)"))
            })?,
            KeySource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("cannot read the agent key file {path} (key_file): {e}")))?,
            KeySource::Value(key) => key.clone(),
        };
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(Error::Config(format!("the agent key ({self:?}) is empty")));
        }
        Ok(key)
    }
}

/// The MCP server the proxy fronts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// A program and its arguments, spoken to over its standard input and output.
    Command(Vec<String>),
    /// A Streamable HTTP endpoint.
    Url(String),
}

/// The `[listen]` table: the proxy serves Streamable HTTP.
#[derive(Debug, Clone)]
pub struct Listen {
    /// `host:port` to listen on (default `127.0.0.1:8931`).
    pub address: String,
    /// The endpoint's path (default `/mcp`).
    pub path: String,
    /// Whose agent key decides.
    pub auth: ListenAuth,
    /// `Host` header values accepted (default: loopback names only).
    pub allowed_hosts: Option<Vec<String>>,
}

/// Whose agent key the HTTP listener uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAuth {
    /// Each client presents its own agent key as `Authorization: Bearer oak_…`; a request without
    /// one is refused (401).
    Bearer,
    /// Every client is decided with the key of `[oakauth]` (anyone who reaches the listener acts
    /// as that agent).
    Config,
}

/// The listener's address when `[listen]` does not set one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8931";

/// What a name maps to: an OakAuth tool and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The OakAuth tool.
    pub tool: String,
    /// The scope of that tool.
    pub scope: String,
}

/// Names (MCP tool names, resource URIs, prompt names) to targets: exact names first, then the
/// globs in the order of the file (`*` any run of characters, `?` one character).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    exact: HashMap<String, Target>,
    globs: Vec<(String, Target)>,
}

impl Mapping {
    /// The target of `name`; `None` when nothing maps it (then the call is denied).
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.exact.get(name).or_else(|| self.globs.iter().find(|(glob, _)| glob_matches(glob, name)).map(|(_, t)| t))
    }

    /// How many entries the mapping has.
    pub fn len(&self) -> usize {
        self.exact.len() + self.globs.len()
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `name` matches `glob`: `*` is any run of characters (none too), `?` exactly one.
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let (g, n): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut gi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == n[ni]) {
            gi += 1;
            ni += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some(gi);
            mark = ni;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

// ---- The file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default: Option<Spanned<String>>,
    #[serde(default)]
    hide_denied: bool,
    reasoning_argument: Option<Spanned<String>>,
    #[serde(default = "yes")]
    guard_resources: bool,
    #[serde(default = "yes")]
    guard_prompts: bool,
    oakauth: Spanned<RawOakAuth>,
    upstream: Option<Spanned<RawUpstream>>,
    listen: Option<Spanned<RawListen>>,
    #[serde(default)]
    tools: Vec<RawEntry>,
    #[serde(default)]
    resources: Vec<RawEntry>,
    #[serde(default)]
    prompts: Vec<RawEntry>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOakAuth {
    base_url: Spanned<String>,
    key_env: Option<String>,
    key_file: Option<String>,
    key: Option<String>,
    #[serde(default)]
    allow_insecure_loopback: bool,
    timeout_ms: Option<Spanned<u64>>,
    retries: Option<Spanned<u32>>,
    list_cache_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    command: Option<Vec<String>>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    address: Option<String>,
    path: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    allowed_hosts: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    tool: Spanned<String>,
    scope: Spanned<String>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &std::path::Path) -> Result<Config, Error> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| Error::Config(format!("{shown}: {e}")))?;
        if meta.len() > MAX_CONFIG_BYTES as u64 {
            return Err(Error::Config(format!("{shown}: larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{shown}: {e}")))?;
        Config::parse(&text).map_err(|e| match e {
            Error::Config(message) => Error::Config(format!("{shown}: {message}")),
            other => other,
        })
    }

    /// Checks a configuration given as TOML text. Errors name the line (`line 7: …`).
    pub fn parse(text: &str) -> Result<Config, Error> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(Error::Config(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| format!("line {}: ", line_of(text, s.start))).unwrap_or_default();
            Error::Config(format!("{line}{}", e.message()))
        })?;
        let at = |span: Range<usize>, message: String| {
            Error::Config(format!("line {}: {message}", line_of(text, span.start)))
        };

        if let Some(default) = &raw.default {
            if default.get_ref() != "deny" {
                return Err(at(
                    default.span(),
                    format!(
                        "default = {:?}: the only default is \"deny\" (calls nothing maps are refused)",
                        default.get_ref()
                    ),
                ));
            }
        }
        let reasoning_argument = match raw.reasoning_argument {
            None => DEFAULT_REASONING_ARGUMENT.to_owned(),
            Some(name) => {
                let ok = !name.get_ref().is_empty()
                    && name.get_ref().len() <= 64
                    && name.get_ref().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err(at(
                        name.span(),
                        "reasoning_argument must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-'".into(),
                    ));
                }
                name.into_inner()
            }
        };

        let oak_span = raw.oakauth.span();
        let oak = raw.oakauth.into_inner();
        let base_url = oak.base_url.get_ref().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(at(
                oak.base_url.span(),
                format!("base_url {:?} is not an http(s) URL", oak.base_url.get_ref()),
            ));
        }
        let sources =
            [oak.key_env.map(KeySource::Env), oak.key_file.map(KeySource::File), oak.key.map(KeySource::Value)];
        let mut sources: Vec<KeySource> = sources.into_iter().flatten().collect();
        if sources.len() > 1 {
            return Err(at(oak_span, "[oakauth] sets more than one of key_env, key_file and key".into()));
        }
        let key = sources.pop();
        let timeout = match oak.timeout_ms {
            Some(t) if !(1..=60_000).contains(t.get_ref()) => {
                return Err(at(t.span(), "timeout_ms must be 1 to 60000".into()));
            }
            t => t.map(|t| Duration::from_millis(t.into_inner())),
        };
        let retries = match oak.retries {
            Some(r) if *r.get_ref() > 5 => return Err(at(r.span(), "retries must be 0 to 5".into())),
            r => r.map(Spanned::into_inner),
        };
        let list_cache = match oak.list_cache_ms {
            Some(t) if *t.get_ref() > 3_600_000 => {
                return Err(at(t.span(), "list_cache_ms must be 0 to 3600000".into()));
            }
            t => t.map(|t| Duration::from_millis(t.into_inner())).unwrap_or(DEFAULT_LIST_CACHE),
        };

        let upstream = match raw.upstream {
            None => None,
            Some(spanned) => {
                let span = spanned.span();
                match spanned.into_inner() {
                    RawUpstream { command: Some(command), url: None } => {
                        if command.is_empty() || command[0].is_empty() {
                            return Err(at(span, "[upstream] command must name a program".into()));
                        }
                        Some(Upstream::Command(command))
                    }
                    RawUpstream { command: None, url: Some(url) } => {
                        if !(url.starts_with("https://") || url.starts_with("http://")) {
                            return Err(at(span, format!("[upstream] url {url:?} is not an http(s) URL")));
                        }
                        Some(Upstream::Url(url))
                    }
                    _ => return Err(at(span, "[upstream] needs exactly one of command and url".into())),
                }
            }
        };

        let listen = match raw.listen {
            None => None,
            Some(spanned) => {
                let span = spanned.span();
                let l = spanned.into_inner();
                let auth = match l.auth.as_ref().map(|a| a.get_ref().as_str()) {
                    None | Some("bearer") => ListenAuth::Bearer,
                    Some("config") => ListenAuth::Config,
                    Some(other) => {
                        let span = l.auth.as_ref().map(Spanned::span).unwrap_or(span);
                        return Err(at(span, format!("auth = {other:?}: use \"bearer\" or \"config\"")));
                    }
                };
                if auth == ListenAuth::Config && key.is_none() {
                    return Err(at(span, "[listen] auth = \"config\" needs a key in [oakauth]".into()));
                }
                let path = match l.path {
                    None => DEFAULT_PATH.to_owned(),
                    Some(p) if p.get_ref().starts_with('/') => p.into_inner(),
                    Some(p) => return Err(at(p.span(), "path must start with '/'".into())),
                };
                Some(Listen {
                    address: l.address.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
                    path,
                    auth,
                    allowed_hosts: l.allowed_hosts,
                })
            }
        };

        Ok(Config {
            oakauth: OakAuthSettings {
                base_url,
                key,
                allow_insecure_loopback: oak.allow_insecure_loopback,
                timeout,
                retries,
                list_cache,
            },
            upstream,
            listen,
            hide_denied: raw.hide_denied,
            reasoning_argument,
            guard_resources: raw.guard_resources,
            guard_prompts: raw.guard_prompts,
            tools: mapping(text, "tools", raw.tools)?,
            resources: mapping(text, "resources", raw.resources)?,
            prompts: mapping(text, "prompts", raw.prompts)?,
        })
    }
}

fn mapping(text: &str, table: &str, entries: Vec<RawEntry>) -> Result<Mapping, Error> {
    let at =
        |span: Range<usize>, message: String| Error::Config(format!("line {}: {message}", line_of(text, span.start)));
    if entries.len() > MAX_MAPPINGS {
        return Err(Error::Config(format!("more than {MAX_MAPPINGS} [[{table}]] entries")));
    }
    let mut out = Mapping::default();
    let mut seen_globs = std::collections::HashSet::new();
    for entry in entries {
        let pattern = entry.pattern.get_ref();
        if pattern.is_empty() || pattern.len() > 1024 || pattern.chars().any(char::is_control) {
            return Err(at(
                entry.pattern.span(),
                format!("[[{table}]] match must be 1 to 1024 characters, no control characters"),
            ));
        }
        for (field, value) in [("tool", &entry.tool), ("scope", &entry.scope)] {
            oakauth_core::limits::check_name(field, value.get_ref())
                .map_err(|e| at(value.span(), format!("[[{table}]] {e}")))?;
        }
        let target = Target { tool: entry.tool.into_inner(), scope: entry.scope.into_inner() };
        let fresh = if is_glob(pattern) {
            let fresh = seen_globs.insert(pattern.clone());
            out.globs.push((pattern.clone(), target));
            fresh
        } else {
            out.exact.insert(pattern.clone(), target).is_none()
        };
        if !fresh {
            return Err(at(entry.pattern.span(), format!("[[{table}]] match {pattern:?} is mapped twice")));
        }
    }
    Ok(out)
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
default = "deny"
hide_denied = true

[oakauth]
base_url = "http://127.0.0.1:8787/"
key_env = "OAKAUTH_API_KEY"
allow_insecure_loopback = true

[upstream]
command = ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"]

[[tools]]
match = "read_file"
tool = "filesystem"
scope = "read"

[[tools]]
match = "read_*"
tool = "filesystem"
scope = "read-many"

[[tools]]
match = "*"
tool = "filesystem"
scope = "other"

[[resources]]
match = "file:///tmp/*"
tool = "files"
scope = "read"
"#;

    fn error(text: &str) -> String {
        match Config::parse(text) {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_file_maps_exact_names_before_globs_and_globs_in_file_order() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.oakauth.base_url, "http://127.0.0.1:8787");
        assert_eq!(c.oakauth.key, Some(KeySource::Env("OAKAUTH_API_KEY".into())));
        assert!(c.hide_denied && c.guard_resources && c.guard_prompts);
        assert_eq!(c.reasoning_argument, "_reasoning");
        let target = |name| c.tools.target(name).map(|t| (t.tool.as_str(), t.scope.as_str()));
        assert_eq!(target("read_file"), Some(("filesystem", "read")));
        assert_eq!(target("read_multiple_files"), Some(("filesystem", "read-many")));
        assert_eq!(target("write_file"), Some(("filesystem", "other")));
        assert_eq!(c.resources.target("file:///tmp/a.txt").unwrap().scope, "read");
        assert_eq!(c.resources.target("file:///etc/passwd"), None);
        assert!(c.prompts.is_empty());
        assert!(matches!(c.upstream, Some(Upstream::Command(ref cmd)) if cmd[0] == "npx"));
    }

    #[test]
    fn unmapped_names_have_no_target_so_they_are_denied() {
        let c = Config::parse("[oakauth]\nbase_url = \"https://oak.example.com\"\n[[tools]]\nmatch = \"read_file\"\ntool = \"fs\"\nscope = \"read\"\n").unwrap();
        assert_eq!(c.tools.target("write_file"), None);
        assert_eq!(c.tools.target("read_file_2"), None, "an exact name is not a prefix");
        assert!(c.prompts.target("anything").is_none() && c.resources.target("file:///x").is_none());
    }

    #[test]
    fn the_only_default_is_deny() {
        let e = error("default = \"allow\"\n[oakauth]\nbase_url = \"https://oak.example.com\"\n");
        assert!(e.starts_with("line 1: ") && e.contains("only default is \"deny\""), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\n\n[[tools]]\nmatch = \"x\"\ntool = \"t\"\nscope = \"s\"\neffect = \"allow\"\n");
        assert!(e.starts_with("line 8: ") && e.contains("effect"), "{e}");
        let e = error("hide_denyed = true\n[oakauth]\nbase_url = \"https://oak.example.com\"\n");
        assert!(e.starts_with("line 1: ") && e.contains("hide_denyed"), "{e}");
    }

    #[test]
    fn syntax_errors_and_missing_tables_name_the_line() {
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\n[[tools]]\nmatch = read_file\n");
        assert!(e.starts_with("line 4: "), "{e}");
        let e = error("hide_denied = true\n");
        assert!(e.contains("oakauth"), "{e}");
    }

    #[test]
    fn bad_targets_and_duplicates_are_refused_with_their_line() {
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\n[[tools]]\nmatch = \"x\"\ntool = \"has space\"\nscope = \"s\"\n");
        assert!(e.starts_with("line 5: ") && e.contains("tool must be"), "{e}");
        let dup = "[oakauth]\nbase_url = \"https://oak.example.com\"\n[[tools]]\nmatch = \"x\"\ntool = \"t\"\nscope = \"s\"\n[[tools]]\nmatch = \"x\"\ntool = \"t\"\nscope = \"w\"\n";
        let e = error(dup);
        assert!(e.starts_with("line 8: ") && e.contains("mapped twice"), "{e}");
        let e = error("[oakauth]\nbase_url = \"ftp://oak\"\n");
        assert!(e.starts_with("line 2: "), "{e}");
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\nkey = \"oak_x\"\nkey_env = \"K\"\n");
        assert!(e.contains("more than one"), "{e}");
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\n[listen]\nauth = \"none\"\n");
        assert!(e.starts_with("line 4: "), "{e}");
        let e = error("[oakauth]\nbase_url = \"https://oak.example.com\"\n[listen]\nauth = \"config\"\n");
        assert!(e.contains("needs a key"), "{e}");
        let e = error(
            "[oakauth]\nbase_url = \"https://oak.example.com\"\n[upstream]\ncommand = [\"a\"]\nurl = \"http://x\"\n",
        );
        assert!(e.contains("exactly one of command and url"), "{e}");
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("read_*", "read_file"));
        assert!(glob_matches("*_file", "read_file"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(!glob_matches("read_*", "xread_file"));
        assert!(glob_matches("a*b*c", "a-b-b-c"));
        assert!(!glob_matches("a*b*c", "a-b-b-d"));
        assert!(glob_matches("file:///tmp/*", "file:///tmp/x/y"));
        // No exponential blow-up on a hostile pattern.
        let name = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!glob_matches(&pattern, &name));
    }

    #[test]
    fn the_key_value_is_never_shown() {
        let source = KeySource::Value("oak_secret".into());
        assert!(!format!("{source:?}").contains("oak_secret"));
    }
}
