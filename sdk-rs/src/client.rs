use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use reqwest::Method;

use crate::error::Error;
use crate::http::{self, Call, Http, Retry};
use crate::wire::{Health, ReasonCode, ValidateRequest, ValidateResponse};

/// The client for agent code: asks OakAuth before a tool runs.
///
/// Cheap to clone (clones share one connection pool). Create it once and reuse it.
///
/// ```no_run
/// use oakauth::{OakAuth, ValidateRequest};
///
/// # async fn run() -> Result<(), oakauth::Error> {
/// let oak = OakAuth::new(std::env::var("OAKAUTH_API_KEY").unwrap())?;
/// let rows = oak
///     .guard(
///         ValidateRequest::new("database", "read").with_reasoning("the user asked for last week's orders"),
///         async { vec!["order 1", "order 2"] },
///     )
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OakAuth {
    http: Http,
}

/// Settings for [`OakAuth`] and [`Admin`](crate::Admin), made by their `builder` functions.
///
/// The base URL has no default: [`base_url`](Self::base_url), else `OAKAUTH_BASE_URL`, else
/// [`build`](Self::build) fails. It must be `https:`; plain `http:` only to a loopback host and
/// only with [`allow_insecure_loopback`](Self::allow_insecure_loopback). Defaults: a 10 second
/// timeout per attempt; 2 retries; a new `reqwest` client with rustls that follows no redirects.
///
/// ```
/// use std::time::Duration;
///
/// let oak = oakauth::OakAuth::builder("oak_example")
///     .base_url("https://oakauth.example.com")
///     .timeout(Duration::from_secs(3))
///     .retries(1)
///     .build()
///     .unwrap();
/// assert_eq!(oak.base_url(), "https://oakauth.example.com");
/// ```
#[derive(Clone)]
#[must_use]
pub struct Builder<C> {
    key: String,
    base_url: Option<String>,
    allow_insecure_loopback: Option<bool>,
    timeout: Duration,
    retries: u32,
    client: Option<reqwest::Client>,
    _client: PhantomData<fn() -> C>,
}

/// Everything but the key.
impl<C> std::fmt::Debug for Builder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("key", &http::HIDDEN)
            .field("base_url", &self.base_url)
            .field("allow_insecure_loopback", &self.allow_insecure_loopback)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// What [`Builder::build`] can make.
pub trait FromBuilder: Sized + sealed::Sealed {
    #[doc(hidden)]
    fn from_http(http: Http) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::OakAuth {}
    impl Sealed for crate::Admin {}
}

impl<C: FromBuilder> Builder<C> {
    pub(crate) fn new(key: String) -> Self {
        Builder {
            key,
            base_url: None,
            allow_insecure_loopback: None,
            timeout: http::DEFAULT_TIMEOUT,
            retries: http::DEFAULT_RETRIES,
            client: None,
            _client: PhantomData,
        }
    }

    /// Where the OakAuth service answers, such as `https://oakauth.example.com`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Whether a plain `http:` base URL is allowed when its host is loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`), for a service on this machine such as `scripts/dev.sh`'s. Unset, it is
    /// `OAKAUTH_ALLOW_INSECURE_LOOPBACK=1` (or `true`) in the environment. Off by default;
    /// `http:` to any other host is always refused.
    pub fn allow_insecure_loopback(mut self, allow: bool) -> Self {
        self.allow_insecure_loopback = Some(allow);
        self
    }

    /// How long one attempt may take, from connecting to the last byte of the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times to retry after a connection failure, a timeout or a 5xx (0 disables
    /// retries). A deny is never retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Uses this `reqwest` client (for proxies, custom roots, connection limits). The builder's
    /// timeout still applies to each attempt. Build it with
    /// `redirect(reqwest::redirect::Policy::none())`: an answer that it fetched from another URL
    /// by following a redirect is refused anyway ([`Error::Redirect`]).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Checks the settings and makes the client.
    ///
    /// Fails with [`Error::Config`] when there is no base URL (neither [`base_url`](Self::base_url)
    /// nor `OAKAUTH_BASE_URL`), or when it is plain `http:` and not allowed (see
    /// [`allow_insecure_loopback`](Self::allow_insecure_loopback)).
    pub fn build(self) -> Result<C, Error> {
        let base_url = match self.base_url {
            Some(url) => url,
            None => std::env::var("OAKAUTH_BASE_URL").ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::Config(
                    "no base URL: set it with the builder's base_url(..) or the OAKAUTH_BASE_URL environment variable"
                        .into(),
                )
            })?,
        };
        let allow_insecure_loopback = self.allow_insecure_loopback.unwrap_or_else(|| {
            std::env::var("OAKAUTH_ALLOW_INSECURE_LOOPBACK").is_ok_and(|v| matches!(v.trim(), "1" | "true"))
        });
        Http::new(self.client, &base_url, allow_insecure_loopback, self.key, self.timeout, self.retries)
            .map(C::from_http)
    }
}

impl FromBuilder for OakAuth {
    fn from_http(http: Http) -> Self {
        OakAuth { http }
    }
}

/// A decision of the service: the answer of `POST /v1/validate`.
///
/// Dereferences to the [`ValidateResponse`] the service sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The answer as the service sent it.
    pub response: ValidateResponse,
    /// From the `Retry-After` header of a rate-limited (HTTP 429) decision.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// Whether the action may run: `allowed` is true *and* the reason is an allowing one
    /// (`allowed` or `reasoning_missing_soft`). A contradictory answer is not an allow.
    pub fn is_allowed(&self) -> bool {
        self.response.allowed && self.response.reason.is_allow()
    }

    /// The decision as an error when it is not an allow, `None` when it is.
    fn into_error(self, request: &ValidateRequest) -> Option<Error> {
        if self.is_allowed() {
            return None;
        }
        let r = self.response;
        if r.reason == ReasonCode::RateLimited {
            return Some(Error::RateLimited {
                retry_after: self.retry_after.unwrap_or_default(),
                message: r.message,
                decision_id: Some(r.decision_id),
            });
        }
        Some(Error::Denied {
            tool: request.tool.clone(),
            scope: request.scope.clone(),
            reason: r.reason,
            message: r.message,
            decision_id: r.decision_id,
            explanation: r.explanation.map(Box::new),
        })
    }
}

impl std::ops::Deref for Decision {
    type Target = ValidateResponse;
    fn deref(&self) -> &ValidateResponse {
        &self.response
    }
}

impl OakAuth {
    /// A client with an agent key (`oak_…`) and the default settings (see [`Builder`]): the base
    /// URL comes from `OAKAUTH_BASE_URL`.
    ///
    /// ```no_run
    /// let oak = oakauth::OakAuth::new(std::env::var("OAKAUTH_API_KEY").unwrap()).unwrap();
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder(api_key).build()
    }

    /// A builder for a client with an agent key, to change the base URL, timeout, retries or HTTP
    /// client.
    pub fn builder(api_key: impl Into<String>) -> Builder<OakAuth> {
        Builder::new(api_key.into())
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// Asks whether this agent may use `request.tool` with `request.scope`.
    ///
    /// Returns the service's decision, an allow or a deny alike (a rate-limited decision too); an
    /// error means no decision was had (transport, timeout, 5xx, a bad key, a malformed answer).
    /// Check [`Decision::is_allowed`] before acting, or use [`guard`](Self::guard).
    ///
    /// ```no_run
    /// # async fn run(oak: oakauth::OakAuth) -> Result<(), oakauth::Error> {
    /// let decision = oak.validate(&oakauth::ValidateRequest::new("email", "send")).await?;
    /// if !decision.is_allowed() {
    ///     println!("denied: {} ({})", decision.message, decision.reason.as_str());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn validate(&self, request: &ValidateRequest) -> Result<Decision, Error> {
        // A retry after a timeout or a 5xx is a new question with its own audit row; that is
        // preferable to failing an agent's call because of one dropped connection.
        let answer = self.http.send(Call::new(Method::POST, "/v1/validate", Retry::Always).body(request)).await?;
        match answer.status {
            200 | 429 => {
                let response: ValidateResponse = http::decode(&answer)?;
                // A decision that contradicts itself is not a decision.
                let contradiction = if response.allowed != response.reason.is_allow() {
                    Some(format!("allowed is {} but the reason is {}", response.allowed, response.reason.as_str()))
                } else if answer.status == 429 && response.reason != ReasonCode::RateLimited {
                    Some(format!("a 429 decision with reason {}", response.reason.as_str()))
                } else {
                    None
                };
                if let Some(detail) = contradiction {
                    return Err(Error::Decode {
                        status: answer.status,
                        detail,
                        body: String::from_utf8_lossy(&answer.body).chars().take(512).collect(),
                    });
                }
                let retry_after = if answer.status == 429 { http::retry_after(&answer.headers) } else { None };
                Ok(Decision { response, retry_after })
            }
            _ => Err(http::error_for(&answer)),
        }
    }

    /// Runs `action` only if OakAuth allows `request`, and returns its output.
    ///
    /// Fails closed: on a deny ([`Error::Denied`]), a rate limit ([`Error::RateLimited`]) or any
    /// failure to get a well-formed allow, the future is dropped without being polled.
    ///
    /// ```no_run
    /// use oakauth::{Error, OakAuth, ValidateRequest};
    ///
    /// # async fn delete_user(id: u64) -> std::io::Result<()> { Ok(()) }
    /// # async fn run(oak: OakAuth) -> Result<(), Error> {
    /// let request = ValidateRequest::new("users", "delete").with_reasoning("GDPR erasure request #4411");
    /// match oak.guard(request, delete_user(42)).await {
    ///     Ok(result) => result.expect("delete failed"),
    ///     Err(Error::Denied { reason, message, .. }) => eprintln!("not allowed ({}): {message}", reason.as_str()),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn guard<F: Future>(&self, request: ValidateRequest, action: F) -> Result<F::Output, Error> {
        let decision = self.validate(&request).await?;
        match decision.into_error(&request) {
            None => Ok(action.await),
            Some(err) => Err(err),
        }
    }

    /// Checks that the service answers `GET /health`, and returns its status and version.
    ///
    /// ```no_run
    /// # async fn run(oak: oakauth::OakAuth) -> Result<(), oakauth::Error> {
    /// let health = oak.healthcheck().await?;
    /// assert_eq!(health.status, "ok");
    /// # Ok(()) }
    /// ```
    pub async fn healthcheck(&self) -> Result<Health, Error> {
        self.http.json(Call::new(Method::GET, "/health", Retry::Always)).await
    }
}
