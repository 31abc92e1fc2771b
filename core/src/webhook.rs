//! Signed webhooks, following the Standard Webhooks specification (<https://www.standardwebhooks.com/>)
//! to the letter, so that any of its libraries, in any language, verifies what OakAuth sends.
//!
//! A delivery is an HTTP `POST` of a JSON [`Payload`] (`{type, timestamp, data}`) with three
//! headers:
//!
//! - `webhook-id`: the message id, the same on every retry of one message (receivers deduplicate
//!   on it);
//! - `webhook-timestamp`: when this attempt was signed, in Unix seconds (receivers refuse stale
//!   ones, which bounds replays);
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per active
//!   secret, separated by spaces: while a secret is being rotated both the old and the new one
//!   sign, so receivers can switch at their own pace.
//!
//! Secrets are `whsec_` + standard base64 of 24 to 64 random bytes ([`Secret`]).
//!
//! What this module holds is pure: signing, verifying, the payload, the endpoint URL rules
//! ([`check_url`]) and the retry policy ([`next_attempt`], [`DeliveryOutcome`]). Sending, storing
//! and scheduling belong to the worker.

pub mod degraded;
mod delivery;
mod endpoint;
pub mod sealed;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::Error;

pub use delivery::{next_attempt, retry_delay, DeliveryOutcome, Failure, JITTER_PERMILLE, MAX_ATTEMPTS, SCHEDULE};
pub use endpoint::{check_ip, check_url, MAX_URL_LEN};

/// The header names, lower case as HTTP/2 sends them.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far `webhook-timestamp` may be from the receiver's clock, either way, in seconds. The
/// specification's libraries use five minutes: wide enough for clock skew and a slow network,
/// narrow enough that a captured request cannot be replayed later.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// The specification's bounds on a secret's length, in bytes. Shorter keys are guessable offline
/// from one signed message; longer ones add nothing (HMAC-SHA256 hashes keys over 64 bytes).
pub const MIN_SECRET_BYTES: usize = 24;
pub const MAX_SECRET_BYTES: usize = 64;
/// What [`Secret::generate`] draws: 256 bits, the strength of the HMAC.
pub const GENERATED_SECRET_BYTES: usize = 32;

/// The version tag of HMAC-SHA256 signatures (`v1a` would be Ed25519, which we do not send).
const SIGNATURE_VERSION: &str = "v1";

/// An endpoint's signing secret. It never appears in `Debug` output, so it cannot leak into logs
/// through a `{:?}`; [`Secret::expose`] is the one way to get its text.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A new secret of [`GENERATED_SECRET_BYTES`] from the platform's CSPRNG.
    pub fn generate() -> Result<Secret, Error> {
        let mut bytes = vec![0u8; GENERATED_SECRET_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|_| Error::Random)?;
        Ok(Secret(bytes))
    }

    /// A secret from its raw key bytes, within [`MIN_SECRET_BYTES`]..=[`MAX_SECRET_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, Error> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(Error::Invalid(format!(
                "a webhook secret needs at least {MIN_SECRET_BYTES} bytes; this one has {}",
                bytes.len()
            )));
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(Error::Invalid(format!(
                "a webhook secret has at most {MAX_SECRET_BYTES} bytes; this one has {}",
                bytes.len()
            )));
        }
        Ok(Secret(bytes.to_vec()))
    }

    /// Parses `whsec_<standard base64, padded>`. The prefix is required: it is what tells a
    /// webhook secret from the other secrets a user holds, and a bare base64 string is more often
    /// a mistake than a secret. The error never repeats the input.
    pub fn parse(text: &str) -> Result<Secret, Error> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            Error::Invalid(format!("a webhook secret starts with {SECRET_PREFIX:?}; this one does not"))
        })?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| Error::Invalid(format!("a webhook secret is {SECRET_PREFIX} followed by standard base64")))?;
        Secret::from_bytes(&bytes)
    }

    /// The text form, `whsec_<base64>`, to show the user once or to store.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.0))
    }

    /// The raw HMAC of one message under this secret.
    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = Error;

    fn from_str(s: &str) -> Result<Secret, Error> {
        Secret::parse(s)
    }
}

/// A new message id, `msg_<20 base62>`: fixed per message, reused by every retry of it.
pub fn new_message_id() -> Result<String, Error> {
    crate::ids::new_id("msg")
}

/// The `webhook-signature` header value: `v1,<base64>` for each secret, space-separated, in the
/// order given (the current secret first, then one being retired). Every endpoint has at least
/// one secret; with none this is empty, which no receiver accepts.
pub fn sign(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    secrets
        .iter()
        .map(|secret| format!("{SIGNATURE_VERSION},{}", BASE64.encode(secret.mac(id, &timestamp, body))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a received webhook as a Standard Webhooks receiver does: `timestamp` (the
/// `webhook-timestamp` header) must be an integer within [`TOLERANCE_SECONDS`] of `now` (Unix
/// seconds), and one of the `v1` signatures in `signature` (the `webhook-signature` header) must
/// be the HMAC of `"{id}.{timestamp}.{body}"` under `secret`. Signatures of other versions are
/// skipped, as the specification asks; comparison is constant-time. `body` must be the raw bytes
/// received: re-serialized JSON does not verify.
pub fn verify(secret: &Secret, id: &str, timestamp: &str, signature: &str, body: &[u8], now: i64) -> Result<(), Error> {
    check_timestamp(timestamp, now)?;
    let expected = secret.mac(id, timestamp, body);
    let mut found = false;
    for candidate in signature.split(' ').filter_map(|entry| entry.strip_prefix("v1,")) {
        if let Ok(bytes) = BASE64.decode(candidate) {
            // Not short-circuited: every candidate costs the same whether or not an earlier one
            // matched.
            found |= bool::from(subtle::ConstantTimeEq::ct_eq(&bytes[..], &expected[..]));
        }
    }
    if found {
        Ok(())
    } else {
        Err(Error::Invalid("no webhook-signature matches the message".into()))
    }
}

/// `webhook-timestamp`: decimal digits only (no sign, no fraction, no spaces) and within the
/// tolerance of `now` in both directions, since a timestamp from the future is as replayable as
/// an old one.
fn check_timestamp(timestamp: &str, now: i64) -> Result<(), Error> {
    let bad = || Error::Invalid("webhook-timestamp is not a Unix time in seconds".into());
    if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds: i64 = timestamp.parse().map_err(|_| bad())?;
    if seconds < now.saturating_sub(TOLERANCE_SECONDS) {
        return Err(Error::Invalid("webhook-timestamp is too old".into()));
    }
    if seconds > now.saturating_add(TOLERANCE_SECONDS) {
        return Err(Error::Invalid("webhook-timestamp is too far in the future".into()));
    }
    Ok(())
}

/// What happened, as a webhook's `type`. The names are part of the public contract: receivers
/// switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum EventType {
    /// A call waits for a person's approval.
    #[serde(rename = "approval.requested")]
    ApprovalRequested,
    /// Someone approved or denied.
    #[serde(rename = "approval.decided")]
    ApprovalDecided,
    /// Nobody decided in time.
    #[serde(rename = "approval.expired")]
    ApprovalExpired,
    /// A call was denied.
    #[serde(rename = "decision.denied")]
    DecisionDenied,
    /// An API key was rotated.
    #[serde(rename = "key.rotated")]
    KeyRotated,
    /// An agent was created, changed, disabled or deleted.
    #[serde(rename = "agent.changed")]
    AgentChanged,
    /// An organization's `unavailable` decisions reached the threshold of a minute
    /// ([`degraded`]): once per organization and minute.
    #[serde(rename = "service.degraded")]
    ServiceDegraded,
    /// Someone was invited to the organization; the data carries the single-use link (the
    /// product sends no mail: forward it from here).
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    /// The organization's monthly validations reached 80% or 100% of its plan's limit: once per
    /// threshold and month.
    #[serde(rename = "quota.threshold")]
    QuotaThreshold,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::ApprovalRequested,
        EventType::ApprovalDecided,
        EventType::ApprovalExpired,
        EventType::DecisionDenied,
        EventType::KeyRotated,
        EventType::AgentChanged,
        EventType::ServiceDegraded,
        EventType::InvitationCreated,
        EventType::QuotaThreshold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ApprovalRequested => "approval.requested",
            EventType::ApprovalDecided => "approval.decided",
            EventType::ApprovalExpired => "approval.expired",
            EventType::DecisionDenied => "decision.denied",
            EventType::KeyRotated => "key.rotated",
            EventType::AgentChanged => "agent.changed",
            EventType::ServiceDegraded => "service.degraded",
            EventType::InvitationCreated => "invitation.created",
            EventType::QuotaThreshold => "quota.threshold",
        }
    }

    /// The event type named `name`, if it is one.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// A webhook's body, the specification's envelope: what happened (`type`), when it happened
/// (`timestamp`, RFC 3339 in UTC; not the signing time, which is the header's) and the event's
/// own object (`data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub timestamp: String,
    pub data: Value,
}

impl Payload {
    /// The payload of an event that happened at `at_ms` (milliseconds since the Unix epoch).
    pub fn new(event_type: EventType, at_ms: i64, data: Value) -> Payload {
        Payload { event_type, timestamp: crate::time::format_ms(at_ms), data }
    }

    /// The exact bytes to send, and so to sign.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload always serializes")
    }
}

#[cfg(test)]
mod tests;
