use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use reqwest::Method;

use crate::error::Error;
use crate::http::seg;
use crate::http::{self, Call, Http, Retry};
use crate::wire::{ApprovalStatus, ApprovalTicket, Health, ReasonCode, ValidateRequest, ValidateResponse};

/// The longest long poll of [`OakAuth::get_approval`]: the service holds an answer at most 25
/// seconds, under common client and proxy time-outs.
pub const MAX_APPROVAL_WAIT: Duration = Duration::from_secs(25);
/// The shortest pause between two polls of a pending approval, whatever the service advises.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What [`OakAuth::guard_with`] does with a call that needs a person's approval
/// (`approval_required`, from a `require_approval` rule).
///
/// ```
/// use std::time::Duration;
/// use oakauth::ApprovalMode;
///
/// // The default of `guard`: Error::ApprovalPending at once.
/// assert_eq!(ApprovalMode::default(), ApprovalMode::Throw);
/// // Wait up to ten minutes for an administrator, then run the action if approved.
/// let wait = ApprovalMode::Wait(Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApprovalMode {
    /// Return [`Error::ApprovalPending`] at once, with the approval's id and expiry, for agents
    /// that park the work and make the identical call again once it is approved.
    #[default]
    Throw,
    /// Wait up to this long for a person to decide: long-poll the approval (at most
    /// [`MAX_APPROVAL_WAIT`] per request), then ask OakAuth again with the same request naming
    /// the approval, and run the action only if that answer is an allow. A wait that runs out is
    /// [`Error::ApprovalPending`] with `timed_out: true`; the approval stays pending.
    Wait(Duration),
}

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
    organization: Option<String>,
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
            .field("organization", &self.organization)
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
            organization: None,
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
            .map(|http| C::from_http(http.with_organization(self.organization)))
    }
}

impl Builder<crate::Admin> {
    /// The organization (`org_…`) to act in, sent as `OakAuth-Organization`: needed when the key
    /// is a person's bearer session token (`oaks_…`) and the person belongs to several
    /// organizations. An admin key belongs to one organization and needs none.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
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
    /// From the `Retry-After` header of a rate-limited or `quota_exceeded` (HTTP 429) decision.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// Whether the action may run: `allowed` is true *and* the reason is an allowing one
    /// (`allowed` or `reasoning_missing_soft`). A contradictory answer is not an allow.
    pub fn is_allowed(&self) -> bool {
        self.response.allowed && self.response.reason.is_allow()
    }

    /// The decision as an error when it is not an allow, `None` when it is.
    pub(crate) fn into_error(self, request: &ValidateRequest) -> Option<Error> {
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
        if let (ReasonCode::QuotaExceeded, Some(quota)) = (r.reason, &r.quota) {
            return Some(Error::QuotaExceeded {
                tool: request.tool.clone(),
                scope: request.scope.clone(),
                quota: Box::new(quota.clone()),
                retry_after: self.retry_after.unwrap_or_default(),
                decision_id: r.decision_id,
            });
        }
        let (tool, scope, message, decision_id) =
            (request.tool.clone(), request.scope.clone(), r.message, r.decision_id);
        // `validate` saw to it that the approval reasons carry their approval, except a mismatch
        // that names none of this agent's, and an `approval_required` to a call that asked for no
        // approval (`request_approval: false`): a deny, with nothing to wait for.
        Some(match (r.reason, r.approval.map(Box::new)) {
            (ReasonCode::ApprovalRequired, Some(approval)) => {
                Error::ApprovalPending { approval, timed_out: false, message, decision_id }
            }
            (ReasonCode::ApprovalDenied, Some(approval)) => Error::ApprovalDenied { approval, message, decision_id },
            (ReasonCode::ApprovalExpired, Some(approval)) => Error::ApprovalExpired { approval, message, decision_id },
            (ReasonCode::ApprovalCancelled, Some(approval)) => {
                Error::ApprovalCancelled { approval, message, decision_id }
            }
            (ReasonCode::ApprovalConsumed, Some(approval)) => {
                Error::ApprovalConsumed { approval, message, decision_id }
            }
            (ReasonCode::ApprovalMismatch, approval) => Error::ApprovalMismatch {
                tool,
                scope,
                approval_id: approval.map(|a| a.id).or_else(|| request.approval_id.clone()),
                message,
                decision_id,
            },
            (reason, _) => {
                Error::Denied { tool, scope, reason, message, decision_id, explanation: r.explanation.map(Box::new) }
            }
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
                } else if answer.status == 429
                    && !matches!(response.reason, ReasonCode::RateLimited | ReasonCode::QuotaExceeded)
                {
                    Some(format!("a 429 decision with reason {}", response.reason.as_str()))
                } else if response.reason == ReasonCode::QuotaExceeded && response.quota.is_none() {
                    Some("a quota_exceeded decision without its quota".into())
                } else {
                    approval_contradiction(request, &response)
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
    /// failure to get a well-formed allow, the future is dropped without being polled. A call that
    /// needs a person's approval is [`Error::ApprovalPending`] at once (the
    /// [`ApprovalMode::Throw`] of [`guard_with`](Self::guard_with)).
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
    ///     Err(Error::ApprovalPending { approval, .. }) => {
    ///         eprintln!("waiting for an administrator to approve {} (until {})", approval.id, approval.expires_at)
    ///     }
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn guard<F: Future>(&self, request: ValidateRequest, action: F) -> Result<F::Output, Error> {
        self.guard_with(request, ApprovalMode::Throw, action).await
    }

    /// [`guard`](Self::guard), with what to do when the call needs a person's approval.
    ///
    /// With [`ApprovalMode::Wait`] it long-polls the approval until it is decided (or the bound
    /// runs out), then asks OakAuth again with the same request naming the approval
    /// (`approval_id`), and runs the action only if that answer is an allow: an approval is used
    /// by the identical call, once. Whatever else became of the approval comes back as that
    /// decision's error: [`Error::ApprovalDenied`] (with the comment), [`Error::ApprovalExpired`]
    /// (nobody decided in time: not a denial), [`Error::ApprovalCancelled`],
    /// [`Error::ApprovalConsumed`] (used already) or [`Error::ApprovalMismatch`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use oakauth::{ApprovalMode, Error, OakAuth, ValidateRequest};
    ///
    /// # async fn send_payment(amount: u64) {}
    /// # async fn run(oak: OakAuth) -> Result<(), Error> {
    /// let arguments = serde_json::json!({"amount": 900, "to": "acct_7"}).as_object().cloned().unwrap();
    /// let request = ValidateRequest::new("payments", "send").with_arguments(arguments);
    /// match oak.guard_with(request, ApprovalMode::Wait(Duration::from_secs(600)), send_payment(900)).await {
    ///     Ok(()) => println!("sent"),
    ///     Err(Error::ApprovalDenied { approval, .. }) => println!("an administrator said no: {:?}", approval.comment),
    ///     Err(Error::ApprovalExpired { .. }) => println!("nobody decided in time"),
    ///     Err(Error::ApprovalPending { approval, .. }) => println!("still pending: {}", approval.id),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn guard_with<F: Future>(
        &self,
        mut request: ValidateRequest,
        approval: ApprovalMode,
        action: F,
    ) -> Result<F::Output, Error> {
        let deadline = match approval {
            ApprovalMode::Throw => None,
            ApprovalMode::Wait(bound) => Some(tokio::time::Instant::now() + bound),
        };
        let mut decision = self.validate(&request).await?;
        let mut seen = Vec::new();
        loop {
            let pending = match (&decision.approval, deadline) {
                (Some(ticket), Some(deadline)) if decision.reason == ReasonCode::ApprovalRequired => {
                    // Asked again after the approval left `pending`, it is still pending: waiting
                    // more would not change that.
                    (!seen.contains(&ticket.id)).then(|| (ticket.clone(), deadline))
                }
                _ => None,
            };
            let Some((ticket, deadline)) = pending else { break };
            seen.push(ticket.id.clone());
            let last = self.wait_for_decision(ticket, deadline).await?;
            if last.status == ApprovalStatus::Pending {
                return match decision.into_error(&request) {
                    Some(mut err) => {
                        if let Error::ApprovalPending { timed_out, .. } = &mut err {
                            *timed_out = true;
                        }
                        Err(err)
                    }
                    None => Ok(action.await),
                };
            }
            // The outcome is OakAuth's decision on the same call naming the approval: only the
            // identical call uses (consumes) it, and a denial, an expiry or a cancellation comes
            // back as that decision's reason.
            request.approval_id = Some(last.id);
            decision = self.validate(&request).await?;
        }
        match decision.into_error(&request) {
            None => Ok(action.await),
            Some(err) => Err(err),
        }
    }

    /// Long-polls an approval until it leaves `pending` or `deadline` passes; the last ticket
    /// seen (still pending when the time ran out).
    async fn wait_for_decision(
        &self,
        mut ticket: ApprovalTicket,
        deadline: tokio::time::Instant,
    ) -> Result<ApprovalTicket, Error> {
        while ticket.status == ApprovalStatus::Pending {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            let wait = (deadline - now).min(MAX_APPROVAL_WAIT);
            ticket = self.get_approval(&ticket.id, wait).await?;
            // A service that answered at once, still pending, is not asked faster than it advises.
            let pause = Duration::from_millis(ticket.poll_after_ms).max(MIN_POLL_INTERVAL);
            if ticket.status == ApprovalStatus::Pending && now.elapsed() < pause {
                tokio::time::sleep_until((now + pause).min(deadline)).await;
            }
        }
        Ok(ticket)
    }

    /// `GET /v1/approvals/{id}`: where one of this agent's approvals stands. With a `wait` above
    /// zero, the service holds the answer until the approval leaves `pending` (decided,
    /// cancelled or expired) or `wait` has passed: a long poll. `wait` is rounded up to whole
    /// seconds and cut to [`MAX_APPROVAL_WAIT`]; each attempt's timeout is extended by it.
    /// Another agent's approval is [`Error::NotFound`].
    ///
    /// ```no_run
    /// # async fn run(oak: oakauth::OakAuth, approval_id: &str) -> Result<(), oakauth::Error> {
    /// let ticket = oak.get_approval(approval_id, std::time::Duration::from_secs(25)).await?;
    /// println!("{} {} {:?}", ticket.id, ticket.status.as_str(), ticket.comment);
    /// # Ok(()) }
    /// ```
    pub async fn get_approval(&self, approval_id: &str, wait: Duration) -> Result<ApprovalTicket, Error> {
        let seconds = wait.min(MAX_APPROVAL_WAIT).as_millis().div_ceil(1000) as u64;
        let mut call = Call::new(Method::GET, format!("/v1/approvals/{}", seg(approval_id)), Retry::Always);
        if seconds > 0 {
            call = call.query(vec![("wait", seconds.to_string())]).held_for(Duration::from_secs(seconds));
        }
        self.http.json(call).await
    }

    /// `POST /v1/approvals/{id}/cancel`: withdraws one of this agent's pending approvals; its
    /// call then answers `approval_cancelled` until the approval would have expired. An approval
    /// that is no longer pending is [`Error::Conflict`].
    pub async fn cancel_approval(&self, approval_id: &str) -> Result<ApprovalTicket, Error> {
        let path = format!("/v1/approvals/{}/cancel", seg(approval_id));
        self.http.json(Call::new(Method::POST, path, Retry::OnlyIfUnsent)).await
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

/// What is wrong with a decision's approval, if anything: the reasons that are about an approval
/// must carry it (`approval_required` a pending one), since there is nothing to wait for or to
/// tell without it. Only a mismatch may name none (the `approval_id` sent is nobody's), and an
/// `approval_required` asked with `request_approval: false` (none was requested).
fn approval_contradiction(request: &ValidateRequest, response: &ValidateResponse) -> Option<String> {
    let reason = response.reason;
    let status = response.approval.as_ref().map(|t| t.status);
    let fine = match reason {
        ReasonCode::ApprovalRequired => {
            status == Some(ApprovalStatus::Pending) || (status.is_none() && request.request_approval == Some(false))
        }
        ReasonCode::ApprovalDenied
        | ReasonCode::ApprovalExpired
        | ReasonCode::ApprovalCancelled
        | ReasonCode::ApprovalConsumed => status.is_some(),
        _ => true,
    };
    (!fine).then(|| match status {
        None => format!("a decision with reason {} and no approval", reason.as_str()),
        Some(s) => format!("a decision with reason {} and an approval that is {}", reason.as_str(), s.as_str()),
    })
}
