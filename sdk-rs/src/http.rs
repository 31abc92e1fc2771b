//! The one HTTP helper: builds URLs, sends with a timeout, retries transient failures with backoff,
//! reads bounded bodies and turns error answers into [`Error`]s.

use std::time::Duration;

use reqwest::{header::HeaderMap, Method, Url};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{ApiError, Error};
use crate::wire::ErrorBody;

/// Answers larger than this are refused (a page of 200 log rows is far smaller).
const MAX_BODY_BYTES: usize = 16 << 20;
/// The first retry waits about this long; each further one twice as long.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A `Retry-After` on a 5xx longer than this is cut to it, so a client never sleeps for minutes.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);

pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_RETRIES: u32 = 2;

/// Not nameable outside the crate (its module is private); public only so the sealed
/// [`FromBuilder`](crate::FromBuilder) can mention it.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// Without a trailing slash.
    base_url: String,
    /// Sent as a bearer token; `None` for the public endpoints (the receipt keys).
    key: Option<String>,
    /// Sent as `OakAuth-Organization`: the organization a person acts in (a bearer session token).
    organization: Option<String>,
    timeout: Duration,
    retries: u32,
}

/// Everything but the key.
impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base_url", &self.base_url)
            .field("key", &HIDDEN)
            .field("organization", &self.organization)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// What `Debug` shows instead of a key.
pub(crate) const HIDDEN: &str = "[hidden]";

/// A complete answer that is not a 5xx.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Whether a request may be sent again after a failure that happened after it left (a timeout or
/// a 5xx). A request that never reached the server (connection refused) is always retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Always,
    OnlyIfUnsent,
}

/// One request: method, path, query, JSON body, and whether it may be sent again.
pub struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Result<Vec<u8>>>,
    retry: Retry,
    held: Duration,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, retry: Retry) -> Self {
        Call { method, path: path.into(), query: Vec::new(), body: None, retry, held: Duration::ZERO }
    }

    /// The service may hold the answer this long on purpose (a long poll): each attempt's
    /// timeout is this much longer.
    pub fn held_for(mut self, held: Duration) -> Self {
        self.held = held;
        self
    }

    pub fn query(mut self, query: Vec<(&'static str, String)>) -> Self {
        self.query = query;
        self
    }

    /// The JSON body (a value that fails to serialize is an error when the call is sent).
    pub fn body<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.body = Some(serde_json::to_vec(body));
        self
    }
}

impl Http {
    pub fn new(
        client: Option<reqwest::Client>,
        base_url: &str,
        allow_insecure_loopback: bool,
        key: String,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, Error> {
        if key.is_empty() {
            return Err(Error::Config("the API key is empty".into()));
        }
        Self::with_key(client, base_url, allow_insecure_loopback, Some(key), timeout, retries)
    }

    /// A client without a key, for the service's public endpoints; the same checks of the base URL.
    #[cfg(feature = "receipts")]
    pub fn public(
        client: Option<reqwest::Client>,
        base_url: &str,
        allow_insecure_loopback: bool,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, Error> {
        Self::with_key(client, base_url, allow_insecure_loopback, None, timeout, retries)
    }

    fn with_key(
        client: Option<reqwest::Client>,
        base_url: &str,
        allow_insecure_loopback: bool,
        key: Option<String>,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, Error> {
        let trimmed = base_url.trim_end_matches('/');
        let parsed = Url::parse(trimmed).map_err(|e| Error::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::Config(format!("base URL {base_url:?} is not an http(s) URL")));
        }
        if parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(Error::Config(format!(
                "base URL {base_url:?} is plain http to a host that is not loopback: use https"
            )));
        }
        if parsed.scheme() == "http" && !allow_insecure_loopback {
            return Err(Error::Config(format!(
                "base URL {base_url:?} is plain http: use https, or allow http to this loopback host with \
                 allow_insecure_loopback(true) or OAKAUTH_ALLOW_INSECURE_LOOPBACK=1"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::Config(format!("base URL {base_url:?} must not have a query or fragment")));
        }
        if timeout.is_zero() {
            return Err(Error::Config("the timeout must be above zero".into()));
        }
        let client = match client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        Ok(Http { client, base_url: trimmed.to_owned(), key, organization: None, timeout, retries })
    }

    /// Sends `OakAuth-Organization: <id>` with every request.
    pub fn with_organization(mut self, organization: Option<String>) -> Self {
        self.organization = organization;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a request, retrying transient failures. Returns any answer below 500; a 5xx, a
    /// timeout or a connection failure that outlasts the retries is an error.
    pub async fn send(&self, call: Call) -> Result<Answer, Error> {
        let Call { method, path, query, body, retry, held } = call;
        let mut url = Url::parse(&format!("{}{path}", self.base_url))
            .map_err(|e| Error::Config(format!("URL for {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let body = body.transpose().map_err(|e| Error::Config(format!("request body: {e}")))?;

        let mut attempt = 0;
        loop {
            let outcome = self.attempt(method.clone(), url.clone(), body.clone(), held).await;
            let transient = match &outcome {
                Ok(answer) if answer.status >= 500 => retry == Retry::Always,
                Ok(_) => false,
                Err(Error::Connection(e)) => e.is_connect() || retry == Retry::Always,
                Err(Error::Timeout(_)) => retry == Retry::Always,
                Err(_) => false,
            };
            if !transient || attempt >= self.retries {
                return match outcome {
                    Ok(answer) if answer.status >= 500 => {
                        Err(Error::Server { status: answer.status, api: parse_api_error(&answer) })
                    }
                    other => other,
                };
            }
            let retry_after = outcome.as_ref().ok().and_then(|a| retry_after(&a.headers));
            tokio::time::sleep(backoff(attempt, retry_after)).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, method: Method, url: Url, body: Option<Vec<u8>>, held: Duration) -> Result<Answer, Error> {
        let mut request = self
            .client
            .request(method, url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::USER_AGENT, concat!("oakauth-rust/", env!("CARGO_PKG_VERSION")));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(organization) = &self.organization {
            request = request.header("OakAuth-Organization", organization);
        }
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let exchange = async {
            let mut response = request.send().await.map_err(Error::Connection)?;
            let status = response.status().as_u16();
            // Decisions and admin answers come from the configured origin only: a redirect is a
            // failure (never retried), and so is an answer that a caller's own HTTP client fetched
            // from elsewhere by following one.
            if response.status().is_redirection() {
                let location = response.headers().get(reqwest::header::LOCATION);
                let location = location.map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
                return Err(Error::Redirect { status, location });
            }
            if response.url() != &url {
                return Err(Error::Redirect { status, location: Some(response.url().to_string()) });
            }
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Error::Connection)? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(Error::Decode {
                        status,
                        detail: format!("answer larger than {MAX_BODY_BYTES} bytes"),
                        body: String::new(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer { status, headers, body })
        };
        let timeout = self.timeout + held;
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Err(Error::Connection(e))) if e.is_timeout() => Err(Error::Timeout(timeout)),
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    /// Sends a request and decodes a 2xx answer as `T`; any other answer becomes its error.
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let answer = self.send(call).await?;
        if !(200..300).contains(&answer.status) {
            return Err(error_for(&answer));
        }
        decode(&answer)
    }

    /// Sends a request that answers `204 No Content` on success.
    pub async fn empty(&self, call: Call) -> Result<(), Error> {
        let answer = self.send(call).await?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(error_for(&answer))
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        status: answer.status,
        detail: e.to_string(),
        body: body_excerpt(&answer.body),
    })
}

/// Whether the URL's host is a loopback address: 127.0.0.0/8, ::1 or `localhost`.
fn is_loopback(url: &Url) -> bool {
    // An IPv6 host comes in brackets; an IPv4 one is already normalized (`127.1` is `127.0.0.1`).
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The error a non-2xx answer stands for.
pub(crate) fn error_for(answer: &Answer) -> Error {
    let status = answer.status;
    let Some(api) = parse_api_error(answer) else {
        if status >= 500 {
            return Error::Server { status, api: None };
        }
        return Error::Decode {
            status,
            detail: "error answer without an OakAuth error body".into(),
            body: body_excerpt(&answer.body),
        };
    };
    match status {
        402 if api.code == "plan_limit" => {
            let detail = serde_json::from_slice::<ErrorBody>(&answer.body).ok().map(|b| b.error);
            let (quota, limit, plan) = detail.map(|d| (d.quota, d.limit, d.plan)).unwrap_or_default();
            Error::PlanLimit { api, quota, limit, plan }
        }
        401 | 403 => Error::Auth { status, api },
        404 => Error::NotFound { api },
        409 => Error::Conflict { api },
        429 => Error::RateLimited {
            retry_after: retry_after(&answer.headers).unwrap_or_default(),
            message: api.message,
            decision_id: None,
        },
        s if s >= 500 => Error::Server { status, api: Some(api) },
        _ => Error::BadRequest { status, api },
    }
}

fn parse_api_error(answer: &Answer) -> Option<ApiError> {
    let body: ErrorBody = serde_json::from_slice(&answer.body).ok()?;
    Some(ApiError { code: body.error.code, message: body.error.message, request_id: request_id(&answer.headers) })
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("x-request-id")?.to_str().ok().map(str::to_owned)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by OakAuth and is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// How long to wait before retry number `attempt + 1`: exponential with jitter, or the server's
/// `Retry-After` when it asked for longer.
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_MAX);
    // Full jitter between half and all of the step, so clients that failed together spread out.
    let jittered = exp / 2 + exp.mul_f64(random_unit() / 2.0);
    match retry_after {
        Some(ra) => ra.min(RETRY_AFTER_MAX).max(jittered),
        None => jittered,
    }
}

/// A number in [0, 1) that differs between calls; good enough for jitter, not for secrets.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    text.into_owned()
}

/// Percent-encodes one path segment (ids are plain base62, but names typed by people may not be).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 0..20 {
            let d = backoff(attempt, None);
            let step = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_MAX);
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn backoff_honours_retry_after_up_to_a_cap() {
        assert!(backoff(0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert_eq!(backoff(0, Some(Duration::from_secs(3600))), RETRY_AFTER_MAX);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("agt_AbC09"), "agt_AbC09");
        assert_eq!(seg("a/b?c d"), "a%2Fb%3Fc%20d");
    }

    #[test]
    fn base_url_must_be_http() {
        let new = |u: &str| Http::new(None, u, true, "k".into(), DEFAULT_TIMEOUT, 0);
        assert!(new("ftp://x").is_err());
        assert!(new("not a url").is_err());
        assert!(new("http://x/?a=b").is_err());
        assert_eq!(new("http://127.0.0.1:8787/").unwrap().base_url(), "http://127.0.0.1:8787");
    }
}
