//! Verifying the webhooks OakAuth sends (feature `webhooks`).
//!
//! OakAuth signs every delivery as the [Standard Webhooks](https://www.standardwebhooks.com/)
//! specification says: headers `webhook-id`, `webhook-timestamp` and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per active secret while a secret
//! is rotated), and a JSON body `{type, timestamp, data}`. A [`Verifier`] holds an endpoint's
//! secret (`whsec_…`, shown once when the endpoint is created or its secret rotated) and checks
//! both, with the same code the worker signs with (`oakauth_core::webhook`).
//!
//! ```
//! use oakauth::reqwest::header::HeaderMap;
//! use oakauth::webhooks::{EventType, Verifier};
//!
//! fn receive(verifier: &Verifier, headers: &HeaderMap, body: &[u8]) -> u16 {
//!     match verifier.verify(headers, body) {
//!         Ok(event) if event.event_type == EventType::ApprovalRequested => {
//!             println!("approval {} waits for a person", event.data["id"]);
//!             204
//!         }
//!         Ok(_) => 204,
//!         // Forged, tampered with, stale or not OakAuth's: refuse it and do nothing.
//!         Err(_) => 400,
//!     }
//! }
//!
//! // The secret comes from where you stored it; one shorter than 24 bytes is refused.
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let verifier = Verifier::new(secret).unwrap();
//! assert_eq!(receive(&verifier, &HeaderMap::new(), b"{}"), 400);
//! assert!(Verifier::new("whsec_c2hvcnQ=").is_err());
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

use oakauth_core::webhook::{self, Secret};
pub use oakauth_core::webhook::{
    EventType, Payload, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, MIN_SECRET_BYTES, TOLERANCE_SECONDS,
};

use crate::Error;

/// Checks received webhooks against one endpoint's secret. Make it once, when the receiver
/// starts, so that a wrong secret stops it there; `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct Verifier {
    secret: Secret,
}

impl Verifier {
    /// A verifier for the secret `whsec_<base64>` of an endpoint. A secret that is not of that
    /// form, or whose key is shorter than [`MIN_SECRET_BYTES`] (24) or longer than 64 bytes, is
    /// [`Error::Config`] (the error never repeats the secret).
    pub fn new(secret: &str) -> Result<Self, Error> {
        let secret = Secret::parse(secret.trim()).map_err(|e| Error::Config(e.to_string()))?;
        Ok(Verifier { secret })
    }

    /// Verifies a delivery from its HTTP headers and its raw body (the exact bytes received:
    /// re-serialized JSON does not verify), and returns its payload. [`Error::Webhook`] when a
    /// header is missing, the timestamp is more than [`TOLERANCE_SECONDS`] from this machine's
    /// clock, no `v1` signature matches, or the body is not `{type, timestamp, data}` with a known
    /// event type.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Payload, Error> {
        let header = |name: &str| {
            let value = headers.get(name).ok_or_else(|| Error::Webhook(format!("no {name} header")))?;
            value.to_str().map_err(|_| Error::Webhook(format!("the {name} header is not text")))
        };
        self.verify_parts(header(HEADER_ID)?, header(HEADER_TIMESTAMP)?, header(HEADER_SIGNATURE)?, body)
    }

    /// [`verify`](Self::verify) for a server whose headers are not a `HeaderMap`: the values of
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature`, and the raw body.
    pub fn verify_parts(&self, id: &str, timestamp: &str, signature: &str, body: &[u8]) -> Result<Payload, Error> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        webhook::verify(&self.secret, id, timestamp, signature, body, now)
            .map_err(|e| Error::Webhook(e.to_string()))?;
        serde_json::from_slice(body).map_err(|e| {
            Error::Webhook(format!("the body is signed but not an OakAuth event {{type, timestamp, data}}: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use oakauth_core::webhook::{sign, Payload};
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
    }

    /// A delivery as the worker sends it: signed with `secrets` at `timestamp`.
    fn delivery(secrets: &[&str], timestamp: i64, body: &[u8]) -> HeaderMap {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::parse(s).unwrap()).collect();
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_ID, HeaderValue::from_static("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
        headers.insert(HEADER_TIMESTAMP, timestamp.to_string().parse().unwrap());
        let signature = sign(&secrets, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp, body);
        headers.insert(HEADER_SIGNATURE, signature.parse().unwrap());
        headers
    }

    fn body() -> Vec<u8> {
        let data = json!({"id": "apr_1", "tool": "payments", "scope": "send", "status": "pending"});
        Payload::new(EventType::ApprovalRequested, 1_767_225_600_000, data).to_body()
    }

    #[test]
    fn a_signed_delivery_verifies_and_gives_its_payload() {
        let verifier = Verifier::new(SECRET).unwrap();
        let event = verifier.verify(&delivery(&[SECRET], now(), &body()), &body()).unwrap();
        assert_eq!(event.event_type, EventType::ApprovalRequested);
        assert_eq!(event.timestamp, "2026-01-01T00:00:00.000Z");
        assert_eq!(event.data["id"], "apr_1");
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let new = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let headers = delivery(&[new, SECRET], now(), &body());
        for secret in [new, SECRET] {
            assert!(Verifier::new(secret).unwrap().verify(&headers, &body()).is_ok(), "{secret}");
        }
    }

    #[test]
    fn a_forged_stale_or_incomplete_delivery_is_refused() {
        let verifier = Verifier::new(SECRET).unwrap();
        let refused = |headers: &HeaderMap, body: &[u8]| match verifier.verify(headers, body) {
            Err(Error::Webhook(why)) => why,
            other => panic!("{other:?}"),
        };
        let mut tampered = body();
        tampered[10] ^= 1;
        assert!(refused(&delivery(&[SECRET], now(), &body()), &tampered).contains("signature"));
        let other = "whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
        assert!(refused(&delivery(&[other], now(), &body()), &body()).contains("signature"));
        assert!(refused(&delivery(&[SECRET], now() - 600, &body()), &body()).contains("too old"));
        let mut missing = delivery(&[SECRET], now(), &body());
        missing.remove(HEADER_SIGNATURE);
        assert!(refused(&missing, &body()).contains("webhook-signature"));
        // Signed, but not an OakAuth event.
        let junk = br#"{"type":"something.else","timestamp":"x","data":{}}"#;
        assert!(refused(&delivery(&[SECRET], now(), junk), junk).contains("not an OakAuth event"));
    }

    #[test]
    fn secrets_shorter_than_24_bytes_are_refused_without_repeating_them() {
        // 23 bytes of key: one short of the minimum.
        let short = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
        for bad in [short, "whsec_c2hvcnQ=", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"] {
            let Err(Error::Config(why)) = Verifier::new(bad) else { panic!("{bad} was accepted") };
            assert!(!why.contains(bad.trim_start_matches("whsec_")), "{why}");
        }
        let Err(Error::Config(why)) = Verifier::new(short) else { unreachable!() };
        assert!(why.contains("at least 24 bytes"), "{why}");
        assert_eq!(format!("{:?}", Verifier::new(SECRET).unwrap()), "Verifier { secret: Secret(…) }");
    }
}
