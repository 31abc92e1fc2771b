//! Verifying OakAuth's signed decision receipts in a tool server (feature `receipts`, on by
//! default). See `docs/receipts.md`.
//!
//! Every allowed decision carries a receipt ([`ValidateResponse::receipt`](crate::ValidateResponse)):
//! a compact JWS, signed with Ed25519, that says which agent of which organization OakAuth allowed
//! to call which tool with which scope and exactly which arguments, for 60 seconds. A tool server
//! that runs a call only with a valid receipt cannot be driven by a client that skipped OakAuth,
//! changed the arguments after asking, or replays an old allow.
//!
//! A [`ReceiptVerifier`] fetches the issuer's public keys from `{base_url}/.well-known/jwks.json`
//! (through this crate's HTTP client: timeouts, retries, no redirects), caches them, and checks a
//! receipt with `oakauth_core::receipt::verify` (the code the worker's own tests sign against):
//! header (`alg` EdDSA only, `typ`), signature with the key named by `kid`, issuer, expiry (5 s of
//! clock leeway at most), lifetime, tool, scope and the digest of the exact arguments. Then its
//! [`ReplayStore`] refuses a `jti` seen before. Every refusal is [`Error::Receipt`] with a
//! [`Rejection`]; a failure to get the keys is the transport's error. Either way, do not run the call.
//!
//! **Keys.** The set is fetched on first use and again when it is older than
//! [`jwks_max_age`](VerifierBuilder::jwks_max_age) (default 5 minutes; a failed fetch then is an
//! error: keys that may have been withdrawn are not trusted on). A `kid` that is not in the set
//! makes it fetch the set again (a rotation may have begun), at most once per
//! [`refetch_interval`](VerifierBuilder::refetch_interval) (default 30 s), so receipts with made-up
//! key ids cannot make it hammer OakAuth.
//!
//! ```no_run
//! use oakauth::receipts::ReceiptVerifier;
//! use serde_json::json;
//!
//! # async fn run(receipt: &str) -> Result<(), oakauth::Error> {
//! let verifier = ReceiptVerifier::builder("https://oakauth.example.com").build()?;
//! let arguments = json!({"path": "/srv/data/report.csv"}).as_object().cloned();
//! // The exact tool, scope and arguments about to run.
//! let claims = verifier.verify(receipt, "filesystem", "read", arguments.as_ref()).await?;
//! println!("allowed for agent {} by decision {}", claims.agent, claims.jti);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::JwkSet;
use reqwest::Method;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::http::{self, Call, Http, Retry};
pub use oakauth_core::receipt::{Claims, Rejection, MAX_LEEWAY_SECONDS, MCP_META_KEY};
use oakauth_core::receipt::{Expected, ReplayCache};

/// Where the issuer publishes its receipt keys.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// How often, at most, a receipt with an unknown `kid` makes the verifier fetch the keys again.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a fetched key set is used before it is fetched again.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// Receipts the default in-memory replay cache remembers at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;
/// A key set with more keys than this is refused (OakAuth publishes at most 8).
const MAX_KEYS: usize = 32;

/// Remembers the receipts accepted, to refuse a second use of one (its `jti`). Pluggable: the
/// default [`MemoryReplayCache`] is per process; a fleet of tool servers behind a load balancer
/// needs a shared store (a database or cache with a unique key and an expiry), or a replay sent to
/// another instance goes through.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `claims.jti` as used at `now_s` (seconds since the epoch) and answers `true`, or
    /// answers `false` when it was recorded before. Must remember it at least until
    /// `claims.exp + MAX_LEEWAY_SECONDS`. An error refuses the receipt.
    fn first_use(&self, claims: &Claims, now_s: i64) -> impl Future<Output = Result<bool, Error>> + Send;
}

/// The default [`ReplayStore`]: in memory, bounded ([`DEFAULT_REPLAY_CAPACITY`] unless
/// [`new`](Self::new) says otherwise), each `jti` kept until its receipt has expired. When full of
/// receipts that have not expired, a new receipt is refused (`replay_cache_unavailable`) rather
/// than one being forgotten that could then be replayed: fail closed.
#[derive(Debug)]
pub struct MemoryReplayCache {
    cache: Mutex<ReplayCache>,
}

impl MemoryReplayCache {
    /// A cache that remembers at most `capacity` receipts at once.
    pub fn new(capacity: usize) -> Self {
        MemoryReplayCache { cache: Mutex::new(ReplayCache::new(capacity)) }
    }

    /// Receipts remembered now.
    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayStore for MemoryReplayCache {
    fn first_use(&self, claims: &Claims, now_s: i64) -> impl Future<Output = Result<bool, Error>> + Send {
        let answer = match self.cache.lock().unwrap_or_else(PoisonError::into_inner).check_and_insert(claims, now_s) {
            Ok(()) => Ok(true),
            Err(Rejection::Replayed) => Ok(false),
            Err(other) => Err(Error::Receipt(other)),
        };
        std::future::ready(answer)
    }
}

/// The current time in seconds since the Unix epoch.
type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The fetched key set and when.
#[derive(Default)]
struct Keys {
    set: Option<Arc<JwkSet>>,
    fetched_at: Option<Instant>,
    /// The last fetch attempted, successful or not.
    attempted_at: Option<Instant>,
}

/// Verifies receipts for one OakAuth deployment. Cheap to clone: clones share the key cache and
/// the replay store. See the [module docs](self).
pub struct ReceiptVerifier<R: ReplayStore = MemoryReplayCache> {
    http: Http,
    issuer: String,
    keys: Arc<tokio::sync::Mutex<Keys>>,
    replay: Arc<R>,
    refetch_interval: Duration,
    jwks_max_age: Duration,
    leeway: i64,
    clock: Clock,
}

impl<R: ReplayStore> Clone for ReceiptVerifier<R> {
    fn clone(&self) -> Self {
        ReceiptVerifier {
            http: self.http.clone(),
            issuer: self.issuer.clone(),
            keys: self.keys.clone(),
            replay: self.replay.clone(),
            refetch_interval: self.refetch_interval,
            jwks_max_age: self.jwks_max_age,
            leeway: self.leeway,
            clock: self.clock.clone(),
        }
    }
}

impl<R: ReplayStore> std::fmt::Debug for ReceiptVerifier<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptVerifier")
            .field("base_url", &self.http.base_url())
            .field("issuer", &self.issuer)
            .field("refetch_interval", &self.refetch_interval)
            .field("jwks_max_age", &self.jwks_max_age)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`ReceiptVerifier`], from [`ReceiptVerifier::builder`].
#[must_use]
pub struct VerifierBuilder<R: ReplayStore = MemoryReplayCache> {
    base_url: String,
    issuer: Option<String>,
    allow_insecure_loopback: bool,
    timeout: Duration,
    retries: u32,
    client: Option<reqwest::Client>,
    replay: R,
    refetch_interval: Duration,
    jwks_max_age: Duration,
    leeway: i64,
    clock: Option<Clock>,
}

impl ReceiptVerifier {
    /// Settings for verifying the receipts of the deployment at `base_url` (such as
    /// `https://oakauth.example.com`), whose keys are at `{base_url}/.well-known/jwks.json`.
    pub fn builder(base_url: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            base_url: base_url.into(),
            issuer: None,
            allow_insecure_loopback: false,
            timeout: http::DEFAULT_TIMEOUT,
            retries: http::DEFAULT_RETRIES,
            client: None,
            replay: MemoryReplayCache::default(),
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            leeway: MAX_LEEWAY_SECONDS,
            clock: None,
        }
    }
}

impl<R: ReplayStore> VerifierBuilder<R> {
    /// The `iss` receipts must name (default: the base URL, without a trailing slash). Set it when
    /// the deployment sets `RECEIPT_ISSUER`, or when its keys are fetched through another address.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Allows a plain `http:` base URL to a loopback host (`127.0.0.0/8`, `::1`, `localhost`), for
    /// a service on this machine. Off by default; `http:` to any other host is always refused.
    pub fn allow_insecure_loopback(mut self, allow: bool) -> Self {
        self.allow_insecure_loopback = allow;
        self
    }

    /// How long one attempt to fetch the keys may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed fetch of the keys is retried (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Uses this `reqwest` client (build it with `redirect(reqwest::redirect::Policy::none())`).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// How often, at most, a receipt with an unknown `kid` makes the verifier fetch the keys
    /// again (default 30 s).
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// How long a fetched key set is used before it is fetched again (default 5 minutes).
    pub fn jwks_max_age(mut self, age: Duration) -> Self {
        self.jwks_max_age = age;
        self
    }

    /// Clock difference forgiven on `exp` and `iat`, in seconds (default and most: 5).
    pub fn leeway_seconds(mut self, leeway: i64) -> Self {
        self.leeway = leeway.clamp(0, MAX_LEEWAY_SECONDS);
        self
    }

    /// Where used receipts are remembered (default: a [`MemoryReplayCache`]).
    pub fn replay_store<S: ReplayStore>(self, store: S) -> VerifierBuilder<S> {
        VerifierBuilder {
            base_url: self.base_url,
            issuer: self.issuer,
            allow_insecure_loopback: self.allow_insecure_loopback,
            timeout: self.timeout,
            retries: self.retries,
            client: self.client,
            replay: store,
            refetch_interval: self.refetch_interval,
            jwks_max_age: self.jwks_max_age,
            leeway: self.leeway,
            clock: self.clock,
        }
    }

    /// The clock receipts are checked against, in seconds since the Unix epoch (default: the
    /// system clock). For tests.
    pub fn clock(mut self, now_seconds: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now_seconds));
        self
    }

    /// Checks the settings and makes the verifier. Nothing is fetched yet.
    pub fn build(self) -> Result<ReceiptVerifier<R>, Error> {
        let http = Http::public(self.client, &self.base_url, self.allow_insecure_loopback, self.timeout, self.retries)?;
        let issuer = self.issuer.unwrap_or_else(|| http.base_url().to_owned()).trim_end_matches('/').to_owned();
        Ok(ReceiptVerifier {
            http,
            issuer,
            keys: Arc::default(),
            replay: Arc::new(self.replay),
            refetch_interval: self.refetch_interval,
            jwks_max_age: self.jwks_max_age,
            leeway: self.leeway,
            clock: self.clock.unwrap_or_else(|| Arc::new(system_now)),
        })
    }
}

fn system_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl<R: ReplayStore> ReceiptVerifier<R> {
    /// The `iss` receipts must name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The replay store.
    pub fn replay_store(&self) -> &R {
        &self.replay
    }

    /// Checks `receipt` for the call about to run: this `tool`, `scope` and exactly these
    /// `arguments` (`None`: no arguments, the same as an empty object), and records its `jti` so
    /// that it is refused the next time. Returns what the receipt says. Any error means: do not
    /// run the call.
    pub async fn verify(
        &self,
        receipt: &str,
        tool: &str,
        scope: &str,
        arguments: Option<&Map<String, Value>>,
    ) -> Result<Claims, Error> {
        let kid = oakauth_core::receipt::key_id(receipt).map_err(Error::Receipt)?;
        let keys = self.keys_for(&kid).await?;
        let now = (self.clock)();
        let expected = Expected { issuer: &self.issuer, tool, scope, arguments };
        let claims =
            oakauth_core::receipt::verify(receipt, &keys, &expected, now, self.leeway).map_err(Error::Receipt)?;
        if !self.replay.first_use(&claims, now).await? {
            return Err(Error::Receipt(Rejection::Replayed));
        }
        Ok(claims)
    }

    /// The key set to check a receipt signed with `kid` against: the cached one, fetched anew
    /// when it is too old, or when it lacks `kid` and the last fetch is long enough ago.
    async fn keys_for(&self, kid: &str) -> Result<Arc<JwkSet>, Error> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched_at.is_none_or(|t| t.elapsed() >= self.jwks_max_age);
        let unknown = keys.set.as_ref().is_none_or(|set| set.find(kid).is_none());
        let may_refetch = keys.attempted_at.is_none_or(|t| t.elapsed() >= self.refetch_interval);
        if stale || (unknown && may_refetch) {
            keys.attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(set) => {
                    keys.set = Some(Arc::new(set));
                    keys.fetched_at = Some(Instant::now());
                }
                // A set too old is not trusted on; a fresh one without the kid answers unknown_key.
                Err(e) if stale => return Err(e),
                Err(_) => {}
            }
        }
        keys.set.clone().ok_or(Error::Receipt(Rejection::UnknownKey))
    }

    async fn fetch(&self) -> Result<JwkSet, Error> {
        let set: JwkSet = self.http.json(Call::new(Method::GET, JWKS_PATH, Retry::Always)).await?;
        if set.keys.len() > MAX_KEYS {
            return Err(Error::Decode {
                status: 200,
                detail: format!("{} keys in the key set, more than {MAX_KEYS}", set.keys.len()),
                body: String::new(),
            });
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str, exp: i64) -> Claims {
        Claims {
            iss: "https://oakauth.example".into(),
            org: "org_1".into(),
            agent: "agt_1".into(),
            tool: "t".into(),
            scope: "s".into(),
            args: String::new(),
            jti: jti.into(),
            iat: exp - 60,
            exp,
        }
    }

    #[tokio::test]
    async fn the_memory_cache_refuses_a_second_use_and_stays_bounded() {
        let cache = MemoryReplayCache::new(2);
        assert!(cache.first_use(&claims("dec_1", 1_000), 950).await.unwrap());
        assert!(!cache.first_use(&claims("dec_1", 1_000), 951).await.unwrap());
        assert!(cache.first_use(&claims("dec_2", 1_010), 952).await.unwrap());
        // Full of live receipts: a new one is refused, nothing remembered is forgotten.
        let full = cache.first_use(&claims("dec_3", 1_020), 953).await.unwrap_err();
        assert!(matches!(full, Error::Receipt(Rejection::ReplayCacheFull)), "{full:?}");
        assert_eq!(cache.len(), 2, "bounded");
        assert!(!cache.first_use(&claims("dec_1", 1_000), 954).await.unwrap());
        // Once the first has expired there is room again.
        assert!(cache.first_use(&claims("dec_3", 1_020), 1_006).await.unwrap());
    }

    #[test]
    fn a_verifier_needs_https_or_an_allowed_loopback() {
        assert!(ReceiptVerifier::builder("http://oakauth.example.com").build().is_err());
        assert!(ReceiptVerifier::builder("http://127.0.0.1:8787").build().is_err());
        let local = ReceiptVerifier::builder("http://127.0.0.1:8787/").allow_insecure_loopback(true).build().unwrap();
        assert_eq!(local.issuer(), "http://127.0.0.1:8787");
        let named = ReceiptVerifier::builder("https://keys.example.com").issuer("https://oakauth.example.com/").build();
        assert_eq!(named.unwrap().issuer(), "https://oakauth.example.com");
    }
}
