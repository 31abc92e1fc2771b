//! `oakauth webhooks`: the endpoints OakAuth sends signed events to, their secrets, and their
//! delivery logs.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use oakauth::wire::{
    CreateWebhook, Delivery, DeliveryStatus, EventType, RotateWebhookSecret, UpdateWebhook, Webhook, WebhookWithSecret,
};
use oakauth::{Admin, DeliveryQuery};

use super::{Failure, Outcome, PageArgs, Switch};
use crate::output::{clip, fields, Out};

#[derive(Subcommand)]
pub enum WebhooksCmd {
    /// List the endpoints.
    List,
    /// Register an endpoint and print its signing secret (shown this once).
    Create {
        /// Where to POST the events: https, and not a private address.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        events: Events,
        /// What the endpoint is for.
        #[arg(long)]
        description: Option<String>,
        /// Create it disabled (nothing is sent until it is enabled).
        #[arg(long)]
        disabled: bool,
    },
    /// Show one endpoint (never its secret).
    Show {
        /// Webhook id (whk_…).
        webhook: String,
    },
    /// Change an endpoint's URL, events or description, or enable it (also after a 410 Gone disabled
    /// it) or disable it (nothing is sent until it is enabled again).
    Update {
        /// Webhook id (whk_…).
        webhook: String,
        /// A new URL.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        events: OptionalEvents,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        switch: Switch,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        /// Webhook id (whk_…).
        webhook: String,
    },
    /// Give an endpoint a new secret (shown this once); the old one keeps signing too during the overlap.
    RotateSecret {
        /// Webhook id (whk_…).
        webhook: String,
        /// Seconds the previous secret keeps signing, 0 to 604800 (default 86400).
        #[arg(long, value_name = "N")]
        overlap_seconds: Option<u32>,
    },
    /// An endpoint's delivery log, newest first: status, attempts, last answer.
    Deliveries {
        /// Webhook id (whk_…).
        webhook: String,
        /// Only deliveries with this status.
        #[arg(long, value_enum)]
        status: Option<DeliveryStatus>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Send a message again now, with a fresh series of attempts (same webhook-id).
    Redeliver {
        /// Webhook id (whk_…).
        webhook: String,
        /// Delivery id (msg_…), from `deliveries`.
        delivery: String,
    },
}

/// The event type names, for `--event`.
fn event_parser() -> impl clap::builder::TypedValueParser<Value = EventType> {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(EventType::ALL.map(EventType::as_str))
        .map(|name| EventType::parse(&name).unwrap_or_else(|| unreachable!("one of the possible values")))
}

#[derive(Args)]
pub struct Events {
    /// An event type to send, repeatable or comma-separated (decision.denied is every denied call:
    /// it can be loud).
    #[arg(long = "event", value_name = "TYPE", required = true, value_delimiter = ',', value_parser = event_parser())]
    event_types: Vec<EventType>,
}

#[derive(Args)]
pub struct OptionalEvents {
    /// The new event types (they replace the list), repeatable or comma-separated.
    #[arg(long = "event", value_name = "TYPE", value_delimiter = ',', value_parser = event_parser())]
    event_types: Vec<EventType>,
}

pub async fn run(admin: &Admin, out: &Out, cmd: WebhooksCmd) -> Outcome {
    match cmd {
        WebhooksCmd::List => {
            let all: Vec<Webhook> = admin.webhooks().try_collect().await?;
            let empty = "No webhooks yet. Register one with: oakauth webhooks create --url URL --event TYPE";
            out.list(&all, empty, &["ID", "URL", "EVENTS", "STATUS", "DESCRIPTION"], |w| {
                vec![w.id.clone(), w.url.clone(), events(&w.event_types), status(w), clip(&w.description, 40)]
            });
        }
        WebhooksCmd::Create { url, events: Events { event_types }, description, disabled } => {
            let body = CreateWebhook { url, event_types, enabled: disabled.then_some(false), description };
            print_secret(out, &admin.create_webhook(&body).await?);
        }
        WebhooksCmd::Show { webhook } => out.print(&admin.get_webhook(&webhook).await?, show),
        WebhooksCmd::Update { webhook, url, events: OptionalEvents { event_types }, description, switch } => {
            let enabled = switch.enabled();
            let event_types = (!event_types.is_empty()).then_some(event_types);
            let body = UpdateWebhook { url, event_types, enabled, description };
            if body == UpdateWebhook::default() {
                return Err(Failure::Usage(
                    "nothing to change: pass --url, --event, --description, --enable or --disable".into(),
                ));
            }
            out.print(&admin.update_webhook(&webhook, &body).await?, show);
        }
        WebhooksCmd::Delete { webhook } => {
            admin.delete_webhook(&webhook).await?;
            out.done(format!("Deleted webhook {webhook} and its delivery log."));
        }
        WebhooksCmd::RotateSecret { webhook, overlap_seconds } => {
            let rotated = admin.rotate_webhook_secret(&webhook, &RotateWebhookSecret { overlap_seconds }).await?;
            print_secret(out, &rotated);
        }
        WebhooksCmd::Deliveries { webhook, status, page: PageArgs { limit, cursor } } => {
            let query = DeliveryQuery { status, limit: Some(limit), cursor };
            let page = admin.list_deliveries(&webhook, &query).await?;
            let headers = ["ID", "EVENT", "STATUS", "ATTEMPTS", "LAST ANSWER", "CREATED", "NEXT ATTEMPT"];
            out.page(&page, &page.deliveries, page.next_cursor.is_some(), "deliveries", &headers, |d| {
                vec![
                    d.id.clone(),
                    d.event_type.as_str().into(),
                    d.status.as_str().into(),
                    d.attempts.to_string(),
                    clip(&last_answer(d), 50),
                    d.created_at.clone(),
                    d.next_attempt_at.clone().unwrap_or_else(|| "-".into()),
                ]
            });
        }
        WebhooksCmd::Redeliver { webhook, delivery } => {
            let queued = admin.redeliver(&webhook, &delivery).await?;
            out.print(&queued, |d| {
                fields(&[
                    ("delivery", d.id.clone()),
                    ("event", d.event_type.as_str().into()),
                    ("status", d.status.as_str().into()),
                    ("next attempt", d.next_attempt_at.clone().unwrap_or_else(|| "-".into())),
                ])
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_secret(out: &Out, with_secret: &WebhookWithSecret) {
    out.print(with_secret, |w| {
        let mut pairs = webhook_fields(&w.webhook);
        pairs.push(("secret", w.secret.clone()));
        fields(&pairs)
    });
    eprintln!("warning: store this signing secret now; OakAuth shows it only once.");
}

fn show(w: &Webhook) -> String {
    fields(&webhook_fields(w))
}

fn webhook_fields(w: &Webhook) -> Vec<(&'static str, String)> {
    let mut pairs =
        vec![("id", w.id.clone()), ("url", w.url.clone()), ("events", events(&w.event_types)), ("status", status(w))];
    if !w.description.is_empty() {
        pairs.push(("description", w.description.clone()));
    }
    if let Some(until) = &w.secret_rotating_until {
        pairs.push(("previous secret signs until", until.clone()));
    }
    pairs.push(("created", w.created_at.clone()));
    pairs.push(("updated", w.updated_at.clone()));
    pairs
}

fn events(types: &[EventType]) -> String {
    types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
}

/// `enabled`, `disabled`, or why OakAuth disabled it.
fn status(w: &Webhook) -> String {
    match (&w.enabled, &w.disabled_reason) {
        (true, _) => "enabled".into(),
        (false, Some(reason)) => format!("DISABLED: {reason}"),
        (false, None) => "disabled".into(),
    }
}

/// The last attempt's HTTP status and error, `-` before any attempt.
fn last_answer(d: &Delivery) -> String {
    match (d.last_status_code, &d.last_error) {
        (Some(code), Some(e)) => format!("{code} {e}"),
        (Some(code), None) => code.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => "-".into(),
    }
}
