//! The webhook types of the API: endpoints, their secrets, and their delivery log.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::webhook::EventType;

/// A registered endpoint (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Why OakAuth disabled it (a `410 Gone` answer).
    pub disabled_reason: Option<String>,
    pub description: String,
    /// Until when the previous secret signs too, after a rotation.
    pub secret_rotating_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An endpoint with its secret: the answer to creating it or rotating its secret, only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub url: String,
    pub event_types: Vec<EventType>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<EventType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// How long the previous secret keeps signing, 0 to 604800 (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::opt_whole_u32")]
    pub overlap_seconds: Option<u32>,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DeliveryStatus {
    /// Not delivered yet; attempts remain.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Attempts exhausted, or the endpoint was disabled.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One message to one endpoint, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `msg_…`, the `webhook-id` of every attempt.
    pub id: String,
    pub webhook_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The body sent: `{type, timestamp, data}`.
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    pub next_cursor: Option<String>,
}
