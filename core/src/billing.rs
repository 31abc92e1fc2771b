//! Stripe billing without I/O (issue 20, docs/billing.md): checking a webhook's
//! `Stripe-Signature`, reading the events OakAuth acts on, the organization's billing record
//! after an event, and the form bodies of the Checkout and Customer Portal session requests.
//!
//! The worker does the network and database work around these (src/billing.rs). Stripe's own
//! libraries do not run in a Rust worker, so the signature is checked here, the way Stripe
//! documents it; the end-to-end tests sign with the official `stripe` npm package.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::plans::{BillingStatus, PlanId};
use crate::Error;

/// How far a signature's timestamp may be from now, in seconds, either way.
pub const TOLERANCE_SECONDS: i64 = 300;
/// The longest `Stripe-Signature` header read (a few signatures during a secret roll fit easily).
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 2_048;
/// The largest event body accepted. Stripe's events are a few kilobytes.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// The header Stripe signs its webhooks in.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// The longest grace period that can be configured (`BILLING_GRACE_DAYS`).
pub const MAX_GRACE_DAYS: u32 = 90;
/// The grace period when none is configured.
pub const DEFAULT_GRACE_DAYS: u32 = 7;
/// The longest Stripe id (customer, subscription, event, price) kept.
const MAX_ID_LEN: usize = 255;
/// The longest session URL passed on to the caller.
const MAX_URL_LEN: usize = 2_048;

const DAY_MS: i64 = 86_400_000;

/// Checks `header` (the `Stripe-Signature` value, `t=…,v1=…[,v1=…][,v0=…]`) against the raw
/// `payload` as Stripe's libraries do: one of the `v1` signatures must be the hex HMAC-SHA256 of
/// `"{t}.{payload}"` keyed with `secret` (the whole `whsec_…` string, as bytes), and `t` must be
/// within [`TOLERANCE_SECONDS`] of `now` (Unix seconds) in both directions. Other schemes (`v0`,
/// unknown ones) are skipped. Comparison is constant-time. The messages never contain the secret.
pub fn verify_signature(payload: &[u8], header: &str, secret: &str, now: i64) -> Result<(), Error> {
    let bad = |what: &str| Error::Invalid(format!("{SIGNATURE_HEADER} {what}"));
    if header.len() > MAX_SIGNATURE_HEADER_BYTES {
        return Err(bad(&format!("is longer than {MAX_SIGNATURE_HEADER_BYTES} bytes")));
    }
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            return Err(bad("is not a list of key=value items"));
        };
        match key {
            "t" if timestamp.is_some() => return Err(bad("has more than one timestamp (t=)")),
            "t" => timestamp = Some(value),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| bad("has no timestamp (t=)"))?;
    if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("timestamp (t=) is not a Unix time in seconds"));
    }
    let seconds: i64 = timestamp.parse().map_err(|_| bad("timestamp (t=) is not a Unix time in seconds"))?;
    if signatures.is_empty() {
        return Err(bad("has no v1 signature"));
    }
    if seconds < now.saturating_sub(TOLERANCE_SECONDS) {
        return Err(bad(&format!("timestamp is more than {TOLERANCE_SECONDS} s old")));
    }
    if seconds > now.saturating_add(TOLERANCE_SECONDS) {
        return Err(bad(&format!("timestamp is more than {TOLERANCE_SECONDS} s in the future")));
    }
    let expected = mac(secret, timestamp, payload);
    let mut found = false;
    for candidate in signatures {
        if let Some(bytes) = decode_hex(candidate) {
            // Not short-circuited: every candidate costs the same whether or not one matched.
            found |= bool::from(subtle::ConstantTimeEq::ct_eq(&bytes[..], &expected[..]));
        }
    }
    if found {
        Ok(())
    } else {
        Err(Error::Invalid(format!("no v1 signature in {SIGNATURE_HEADER} matches the payload")))
    }
}

fn mac(secret: &str, timestamp: &str, payload: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// The `Stripe-Signature` header for `payload` at `timestamp`, as Stripe sends it (one `v1`).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mac = mac(secret, &timestamp.to_string(), payload);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// 32 bytes from 64 hex digits (either case), or `None`.
fn decode_hex(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// A Stripe event as delivered to the webhook endpoint (only the fields OakAuth reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// `evt_…`: what replays are recognized by.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When Stripe created the event, Unix seconds.
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

impl Event {
    /// Reads a (verified) webhook body; ids are bounded.
    pub fn parse(payload: &[u8]) -> Result<Event, Error> {
        if payload.len() > MAX_EVENT_BYTES {
            return Err(Error::Invalid(format!("a Stripe event must be at most {MAX_EVENT_BYTES} bytes")));
        }
        let event: Event = serde_json::from_slice(payload)
            .map_err(|e| Error::Invalid(format!("the body is not a Stripe event: {}", strip_position(&e))))?;
        if event.id.is_empty() || event.id.len() > MAX_ID_LEN || event.kind.len() > MAX_ID_LEN {
            return Err(Error::Invalid("the Stripe event's id or type is empty or too long".into()));
        }
        Ok(event)
    }

    /// `created` in milliseconds, the unit of `organizations.billing_updated_at`.
    pub fn created_ms(&self) -> i64 {
        self.created.saturating_mul(1000)
    }

    /// What the event means for billing, or [`Change::Ignored`] for types OakAuth does not act on.
    pub fn change(&self) -> Result<Change, Error> {
        let object = &self.data.object;
        let read = |what: &str| -> Result<_, Error> {
            Ok(match self.kind.as_str() {
                "checkout.session.completed" => {
                    let s: CheckoutSession = from_object(object, what)?;
                    Change::CheckoutCompleted {
                        org_id: s.client_reference_id,
                        customer: s.customer.map(Expandable::into_id),
                        subscription: s.subscription.map(Expandable::into_id),
                    }
                }
                "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
                    let s: Subscription = from_object(object, what)?;
                    Change::Subscription {
                        deleted: self.kind == "customer.subscription.deleted",
                        id: s.id,
                        customer: s.customer.map(Expandable::into_id),
                        status: s.status,
                        org_id: s.metadata.and_then(|m| m.org_id),
                        prices: s
                            .items
                            .map(|i| i.data.into_iter().filter_map(|i| i.price.map(|p| p.id)).collect())
                            .unwrap_or_default(),
                    }
                }
                "invoice.payment_failed" | "invoice.paid" => {
                    let i: Invoice = from_object(object, what)?;
                    Change::Invoice {
                        paid: self.kind == "invoice.paid",
                        customer: i.customer.map(Expandable::into_id),
                        subscription: i.subscription.map(Expandable::into_id),
                    }
                }
                _ => Change::Ignored,
            })
        };
        let change = read(&self.kind)?;
        change.check_bounds()?;
        Ok(change)
    }
}

fn from_object<T: serde::de::DeserializeOwned>(object: &serde_json::Value, kind: &str) -> Result<T, Error> {
    T::deserialize(object)
        .map_err(|e| Error::Invalid(format!("the object of a {kind} event is not as expected: {}", strip_position(&e))))
}

fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// A reference Stripe sends either as an id or, when expanded, as the object itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn into_id(self) -> String {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Deserialize)]
struct CheckoutSession {
    client_reference_id: Option<String>,
    customer: Option<Expandable>,
    subscription: Option<Expandable>,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    customer: Option<Expandable>,
    status: String,
    metadata: Option<Metadata>,
    items: Option<List<Item>>,
}

#[derive(Deserialize)]
struct Metadata {
    org_id: Option<String>,
}

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Item {
    price: Option<Price>,
}

#[derive(Deserialize)]
struct Price {
    id: String,
}

#[derive(Deserialize)]
struct Invoice {
    customer: Option<Expandable>,
    subscription: Option<Expandable>,
}

/// What an event tells OakAuth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `checkout.session.completed`: the organization (its `client_reference_id`) now has a
    /// Stripe customer and subscription.
    CheckoutCompleted { org_id: Option<String>, customer: Option<String>, subscription: Option<String> },
    /// `customer.subscription.created`, `.updated` or `.deleted`.
    Subscription {
        deleted: bool,
        id: String,
        customer: Option<String>,
        status: String,
        /// The subscription's `metadata.org_id` (set by OakAuth's Checkout session).
        org_id: Option<String>,
        /// The price of each item.
        prices: Vec<String>,
    },
    /// `invoice.paid` or `invoice.payment_failed`.
    Invoice { paid: bool, customer: Option<String>, subscription: Option<String> },
    /// Any other event type: answered 200 and otherwise left alone.
    Ignored,
}

impl Change {
    /// Where to find the organization: an organization id Stripe carries for us, and the
    /// customer id (the organization that has it), tried in that order.
    pub fn organization(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Change::CheckoutCompleted { org_id, customer, .. } => (org_id.as_deref(), customer.as_deref()),
            Change::Subscription { org_id, customer, .. } => (org_id.as_deref(), customer.as_deref()),
            Change::Invoice { customer, .. } => (None, customer.as_deref()),
            Change::Ignored => (None, None),
        }
    }

    fn check_bounds(&self) -> Result<(), Error> {
        let ids: Vec<&str> = match self {
            Change::CheckoutCompleted { org_id, customer, subscription } => {
                [org_id, customer, subscription].into_iter().flatten().map(String::as_str).collect()
            }
            Change::Subscription { id, customer, status, org_id, prices, .. } => {
                let mut ids = vec![id.as_str(), status.as_str()];
                ids.extend([customer, org_id].into_iter().flatten().map(String::as_str));
                ids.extend(prices.iter().map(String::as_str));
                ids
            }
            Change::Invoice { customer, subscription, .. } => {
                [customer, subscription].into_iter().flatten().map(String::as_str).collect()
            }
            Change::Ignored => Vec::new(),
        };
        if ids.iter().any(|id| id.len() > MAX_ID_LEN) {
            return Err(Error::Invalid(format!("an id in the Stripe event is longer than {MAX_ID_LEN} characters")));
        }
        Ok(())
    }
}

/// An organization's billing columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingRecord {
    pub plan: PlanId,
    pub status: BillingStatus,
    pub grace_until_ms: Option<i64>,
    pub customer_id: Option<String>,
    pub subscription_id: Option<String>,
    /// The `created` time (ms) of the last event that changed the plan or status.
    pub billing_updated_at_ms: Option<i64>,
}

/// How this deployment maps Stripe to plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// `STRIPE_PRICE_PRO`: a subscription with an item at this price is on Pro.
    pub pro_price: Option<String>,
    /// `BILLING_GRACE_DAYS`: how long a failed payment keeps the plan.
    pub grace_days: u32,
}

impl BillingSettings {
    /// Reads `BILLING_GRACE_DAYS` (unset: [`DEFAULT_GRACE_DAYS`]; 0 to [`MAX_GRACE_DAYS`]).
    pub fn grace_days(value: Option<&str>) -> Result<u32, Error> {
        match value.map(str::trim) {
            None | Some("") => Ok(DEFAULT_GRACE_DAYS),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n <= MAX_GRACE_DAYS => Ok(n),
                _ => Err(Error::Invalid(format!(
                    "BILLING_GRACE_DAYS must be a whole number of days from 0 to {MAX_GRACE_DAYS}"
                ))),
            },
        }
    }
}

/// The record after an event, and whether anything in it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub record: BillingRecord,
    pub changed: bool,
}

/// The organization's billing record after `event` (whose [`Event::change`] is `change`).
///
/// - An event created before `billing_updated_at` changes nothing (Stripe does not deliver in
///   order). Only plan and status changes move `billing_updated_at` forward.
/// - `checkout.session.completed` remembers the customer and subscription ids.
/// - Subscription events remember the ids too; `active`/`trialing` make the billing status
///   active, `past_due`/`unpaid` past due (with a grace period), `canceled`/`incomplete_expired`
///   and a deleted subscription put the organization on Free. An item at the Pro price puts it
///   on Pro; other statuses (`incomplete`, `paused`) change nothing but the ids. An update or
///   deletion of a subscription other than the organization's current one changes nothing.
/// - `invoice.payment_failed` makes the status past due; `invoice.paid` makes a past-due
///   organization active again.
/// - The grace period ends `grace_days` after the event that first made the status past due.
/// - An Enterprise organization's plan and status are never changed by Stripe (Enterprise is
///   arranged with the operator); only the ids are remembered.
pub fn apply(record: &BillingRecord, event: &Event, change: &Change, settings: &BillingSettings) -> Applied {
    let unchanged = || Applied { record: record.clone(), changed: false };
    let at = event.created_ms();
    if record.billing_updated_at_ms.is_some_and(|last| at < last) {
        return unchanged();
    }
    let mut next = record.clone();
    let past_due = |next: &mut BillingRecord| {
        if next.status != BillingStatus::PastDue || next.grace_until_ms.is_none() {
            next.grace_until_ms = Some(at.saturating_add(i64::from(settings.grace_days) * DAY_MS));
        }
        next.status = BillingStatus::PastDue;
    };
    let active = |next: &mut BillingRecord| {
        next.status = BillingStatus::Active;
        next.grace_until_ms = None;
    };
    let canceled = |next: &mut BillingRecord| {
        next.plan = PlanId::Free;
        next.status = BillingStatus::Canceled;
        next.grace_until_ms = None;
    };
    match change {
        Change::Ignored => return unchanged(),
        Change::CheckoutCompleted { customer, subscription, .. } => {
            if customer.is_some() {
                next.customer_id.clone_from(customer);
            }
            if subscription.is_some() {
                next.subscription_id.clone_from(subscription);
            }
        }
        Change::Subscription { deleted, id, customer, status, prices, .. } => {
            let current = record.subscription_id.as_deref();
            if current.is_some_and(|c| c != id) && (*deleted || event.kind != "customer.subscription.created") {
                // An older subscription of this organization: not the one in force.
                return unchanged();
            }
            if customer.is_some() {
                next.customer_id.clone_from(customer);
            }
            next.subscription_id = Some(id.clone());
            if *deleted {
                canceled(&mut next);
            } else {
                let pro = settings.pro_price.as_ref().is_some_and(|p| prices.iter().any(|price| price == p));
                match status.as_str() {
                    "active" | "trialing" => active(&mut next),
                    "past_due" | "unpaid" => past_due(&mut next),
                    "canceled" | "incomplete_expired" => canceled(&mut next),
                    _ => {}
                }
                if pro && next.status != BillingStatus::Canceled && next.status != BillingStatus::None {
                    next.plan = PlanId::Pro;
                }
            }
        }
        Change::Invoice { paid: false, .. } => past_due(&mut next),
        Change::Invoice { paid: true, .. } => {
            if record.status == BillingStatus::PastDue {
                active(&mut next);
            }
        }
    }
    if record.plan == PlanId::Enterprise {
        (next.plan, next.status, next.grace_until_ms) = (record.plan, record.status, record.grace_until_ms);
    }
    if (next.plan, next.status, next.grace_until_ms) != (record.plan, record.status, record.grace_until_ms) {
        next.billing_updated_at_ms = Some(record.billing_updated_at_ms.map_or(at, |last| last.max(at)));
    }
    let changed = next != *record;
    Applied { record: next, changed }
}

/// The form body of `POST /v1/checkout/sessions`: a subscription to `price` for `org_id`
/// (the organization is named three times so that every later event carries it), returning to
/// `success_url` or `cancel_url`; the organization's Stripe customer when it has one.
pub fn checkout_form(org_id: &str, price: &str, customer: Option<&str>, success_url: &str, cancel_url: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("mode", "subscription")
        .append_pair("line_items[0][price]", price)
        .append_pair("line_items[0][quantity]", "1")
        .append_pair("client_reference_id", org_id)
        .append_pair("metadata[org_id]", org_id)
        .append_pair("subscription_data[metadata][org_id]", org_id)
        .append_pair("success_url", success_url)
        .append_pair("cancel_url", cancel_url);
    if let Some(customer) = customer {
        form.append_pair("customer", customer);
    }
    form.finish()
}

/// The form body of `POST /v1/billing_portal/sessions`.
pub fn portal_form(customer: &str, return_url: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("customer", customer)
        .append_pair("return_url", return_url)
        .finish()
}

/// The page to send the owner to, from Stripe's answer to a session request
/// (`{"id": "…", "url": "https://…"}`): an `https` URL of bounded length.
pub fn session_url(answer: &[u8]) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Session {
        url: String,
    }
    let session: Session =
        serde_json::from_slice(answer).map_err(|_| Error::Invalid("Stripe's answer has no session url".into()))?;
    let parsed =
        url::Url::parse(&session.url).map_err(|_| Error::Invalid("Stripe's session url is not a URL".into()))?;
    if parsed.scheme() != "https" || session.url.len() > MAX_URL_LEN {
        return Err(Error::Invalid("Stripe's session url is not an https URL of reasonable length".into()));
    }
    Ok(session.url)
}

#[cfg(test)]
mod tests;
