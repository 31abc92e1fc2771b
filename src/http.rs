//! The worker's one error type, and the helpers that turn requests into typed bodies and results
//! into JSON answers.

use futures::StreamExt;
use oakauth_core::wire::{ErrorBody, ErrorCode, ErrorDetail};
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Request, Response};

/// An error answer: status, stable code, and a message safe to show the caller.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    /// Extra headers, such as `Allow` on a 405 or `Retry-After` on a 429.
    pub headers: Vec<(&'static str, String)>,
    /// On `plan_limit`: the limit that was reached, named in the body.
    pub plan_limit: Option<oakauth_core::plans::PlanLimit>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { status: code.http_status(), code, message: message.into(), headers: Vec::new(), plan_limit: None }
    }
    /// 402 `plan_limit`: one more would pass the plan's limit.
    pub fn plan_limit(limit: oakauth_core::plans::PlanLimit) -> Self {
        let mut e = Self::new(ErrorCode::PlanLimit, limit.message());
        e.plan_limit = Some(limit);
        e
    }
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidJson, message)
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::Unauthorized, message);
        e.headers.push(("WWW-Authenticate", "Bearer".into()));
        e
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn method_not_allowed(allow: &[&str]) -> Self {
        let mut e = Self::new(ErrorCode::MethodNotAllowed, "method not allowed on this route");
        e.headers.push(("Allow", allow.join(", ")));
        e
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// An error with one of the specific codes (people: `organization_required`, `csrf_failed`,
    /// `last_owner`, `invitation_*`, `already_set_up`, `sso_not_configured`); the status is the
    /// code's.
    pub fn coded(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, message)
    }
    pub fn too_many_failures(retry_after: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, "too many failed authentications; retry later");
        e.headers.push(("Retry-After", retry_after.to_string()));
        e
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, format!("request body must be at most {limit} bytes"))
    }
    pub fn unsupported_media_type() -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, "request body must be application/json")
    }
    /// Something inside failed. The detail goes to the worker's log (never a secret), not the caller.
    /// Line breaks are escaped so that no detail can start a forged log line.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string().replace('\r', "\\r").replace('\n', "\\n");
        worker::console_error!("internal error: {detail}");
        Self::new(ErrorCode::InternalError, "internal error; nothing was allowed")
    }

    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: self.message,
                quota: self.plan_limit.as_ref().map(|l| l.quota),
                limit: self.plan_limit.as_ref().map(|l| l.limit),
                plan: self.plan_limit.as_ref().map(|l| l.plan),
            },
        };
        let mut resp = json_response(self.status, &body);
        for (name, value) in self.headers {
            let _ = resp.headers_mut().set(name, &value);
        }
        resp
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<oakauth_core::Error> for ApiError {
    fn from(e: oakauth_core::Error) -> Self {
        match e {
            oakauth_core::Error::Invalid(msg) => ApiError::invalid_request(msg),
            other => ApiError::internal(other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON answer. Serializing our own types cannot fail; if it somehow did, the answer is a 500.
pub fn json_response<T: Serialize>(status: u16, body: &T) -> Response {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => {
            (500, r#"{"error":{"code":"internal_error","message":"internal error; nothing was allowed"}}"#.to_string())
        }
    };
    let mut resp = Response::ok(text).expect("a string body is always valid").with_status(status);
    let _ = resp.headers_mut().set("Content-Type", "application/json; charset=utf-8");
    resp
}

pub fn empty_response(status: u16) -> Response {
    Response::empty().expect("an empty body is always valid").with_status(status)
}

/// Reads a JSON body of at most `limit` bytes into `T`, rejecting unknown fields (via `T`),
/// wrong content types and malformed JSON with the documented codes.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request, limit: usize) -> ApiResult<T> {
    read_json_checked(req, limit, |_| Ok(())).await
}

/// Like [`read_json`], with `check` run on the parsed JSON before it is read as `T`: for bodies
/// whose parts deserve a more precise error than serde's (rule conditions, which name the
/// condition at fault).
pub async fn read_json_checked<T: DeserializeOwned>(
    req: &mut Request,
    limit: usize,
    check: impl Fn(&serde_json::Value) -> Result<(), oakauth_core::Error>,
) -> ApiResult<T> {
    let bytes = read_body(req, limit).await?;
    require_json_content_type(req)?;
    parse_json(&bytes, check)
}

/// Like [`read_json`], but an empty body (with no content type) means `T::default()`.
pub async fn read_optional_json<T: DeserializeOwned + Default>(req: &mut Request, limit: usize) -> ApiResult<T> {
    let bytes = read_body(req, limit).await?;
    if bytes.is_empty() {
        return Ok(T::default());
    }
    require_json_content_type(req)?;
    parse_json(&bytes, |_| Ok(()))
}

/// The raw request body, at most `limit` bytes (413 past it).
pub async fn read_body(req: &mut Request, limit: usize) -> ApiResult<Vec<u8>> {
    if let Ok(Some(len)) = req.headers().get("Content-Length") {
        match len.trim().parse::<u64>() {
            Ok(n) if n > limit as u64 => return Err(ApiError::payload_too_large(limit)),
            Ok(_) => {}
            Err(_) => return Err(ApiError::invalid_request("Content-Length is not a number")),
        }
    }
    // Read as a stream and stop at the first byte past the limit: a body sent without a
    // Content-Length (chunked) must not be buffered whole before it is refused.
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let unreadable = || ApiError::invalid_request("could not read the request body");
    let mut stream = req.stream().map_err(|_| unreadable())?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn require_json_content_type(req: &Request) -> ApiResult<()> {
    let ct = req.headers().get("Content-Type").ok().flatten().unwrap_or_default();
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media == "application/json" {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type())
    }
}

fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
    check: impl Fn(&serde_json::Value) -> Result<(), oakauth_core::Error>,
) -> ApiResult<T> {
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::invalid_json("request body is not valid UTF-8"))?;
    // Parse to a value first so syntax errors and shape errors get different codes.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid_json(format!("request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_request("request body must be a JSON object"));
    }
    check(&value)?;
    serde_json::from_value(value).map_err(|e| ApiError::invalid_request(shape_message(&e)))
}

/// serde's messages name the field and the expected type, and never include the input; keep them.
fn shape_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // Strip serde's " at line 1 column 42" suffix, meaningless for a value.
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// The bearer token of the request, if any.
pub fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("Authorization").ok().flatten()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// A query-string parameter, bounded in length.
pub fn query_param(url: &worker::Url, name: &str) -> ApiResult<Option<String>> {
    let mut found = None;
    for (k, v) in url.query_pairs() {
        if k == name {
            if found.is_some() {
                return Err(ApiError::invalid_request(format!("query parameter {name} is given twice")));
            }
            if v.len() > 200 {
                return Err(ApiError::invalid_request(format!("query parameter {name} is too long")));
            }
            found = Some(v.into_owned());
        }
    }
    Ok(found)
}

/// Sends `request` to another service, giving up (and aborting it) after `timeout_ms`. The error
/// says what happened (no answer, no answer in time) without the request's headers.
pub async fn fetch_with_timeout(request: Request, timeout_ms: u64) -> Result<Response, String> {
    let controller = worker::AbortController::default();
    let signal = controller.signal();
    let fetch = worker::Fetch::Request(request);
    let send = fetch.send_with_signal(&signal);
    let timeout = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
    futures::pin_mut!(send);
    futures::pin_mut!(timeout);
    match futures::future::select(send, timeout).await {
        futures::future::Either::Left((Ok(resp), _)) => Ok(resp),
        futures::future::Either::Left((Err(e), _)) => Err(format!("no response: {e}")),
        futures::future::Either::Right(_) => {
            controller.abort();
            Err(format!("no response within {} s", timeout_ms / 1000))
        }
    }
}
