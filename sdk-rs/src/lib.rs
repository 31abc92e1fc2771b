//! The OakAuth client for Rust.
//!
//! - [`OakAuth`]: for agent code. [`OakAuth::guard`] asks OakAuth whether the agent may use a tool
//!   with a scope, and runs the action only on a well-formed allow; [`OakAuth::guard_with`] can
//!   also wait for a person to approve a call ([`ApprovalMode`]).
//! - [`Admin`]: every admin endpoint (agents, keys, tools, rules, approvals, webhooks, the audit
//!   log and its verification, admin events, stats).
//! - `mcp` (feature `rmcp`): a guard for MCP servers built with the `rmcp` crate.
//! - `proxy` (feature `proxy`, on with `cli`): the MCP proxy behind `oakauth proxy`.
//! - `webhooks` (feature `webhooks`): verifying the signed webhooks OakAuth sends.
//! - `receipts` (feature `receipts`, on by default): verifying OakAuth's signed decision receipts
//!   in a tool server, with the keys it publishes and a replay cache.
//! - The `oakauth` command-line tool (feature `cli`, on by default).
//!
//! The request and answer types are the ones the OakAuth worker itself uses, re-exported from
//! `oakauth-core` as [`wire`].
//!
//! Everything fails closed: a deny, a rate limit, a timeout, a transport error, a 5xx after the
//! retries or a malformed answer is an [`Error`], and the guarded action does not run.
//!
//! ```no_run
//! use oakauth::{Error, OakAuth, ValidateRequest};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     let oak = OakAuth::builder(std::env::var("OAKAUTH_API_KEY").unwrap())
//!         .base_url("https://oakauth.example.com")
//!         .build()?;
//!     let answer = oak
//!         .guard(
//!             ValidateRequest::new("weather", "read").with_reasoning("the user asked for tomorrow's forecast"),
//!             async { "sunny" },
//!         )
//!         .await?;
//!     println!("{answer}");
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod admin;
mod client;
mod error;
mod http;
#[cfg(feature = "rmcp")]
pub mod mcp;
#[cfg(feature = "proxy")]
pub mod proxy;
#[cfg(feature = "receipts")]
pub mod receipts;
#[cfg(feature = "webhooks")]
pub mod webhooks;

pub use admin::{Admin, ApprovalQuery, DeliveryQuery, EventQuery, LogQuery, Page};
pub use client::{ApprovalMode, Builder, Decision, FromBuilder, OakAuth, MAX_APPROVAL_WAIT};
pub use error::{ApiError, Error};
/// The first broken link of an agent's audit chain, in [`wire::ChainVerification`].
pub use oakauth_core::audit::BrokenLink;
/// The request and answer types of the OakAuth API, shared with the worker.
pub use oakauth_core::wire;
pub use oakauth_core::wire::{ReasonCode, ValidateRequest, ValidateResponse};
/// The HTTP client this crate uses, for [`Builder::http_client`].
pub use reqwest;

// The examples in docs/rust-sdk.md compile as doc tests (one of them needs the rmcp feature).
#[cfg(all(doctest, feature = "rmcp"))]
#[doc = include_str!("../../docs/rust-sdk.md")]
struct RustSdkGuide;

// And the Rust examples of docs/receipts.md.
#[cfg(all(doctest, feature = "rmcp", feature = "receipts"))]
#[doc = include_str!("../../docs/receipts.md")]
struct ReceiptsGuide;
