//! OakAuth's core: everything about a decision that does not need a network, a database or a
//! JavaScript runtime. The worker is a thin adapter over this crate; the Rust SDK shares its
//! [`wire`] types.

pub mod accounts;
pub mod approval;
pub mod audit;
pub mod audit_writer;
pub mod billing;
pub mod bucket;
pub mod client;
pub mod condition;
pub mod config_cache;
pub mod decision;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod observe;
pub mod oidc;
pub mod plans;
pub mod policy;
pub mod quota;
pub mod reasoning;
pub mod receipt;
pub mod redact;
pub mod time;
pub mod webhook;
pub mod wire;

/// The one error type of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Input that breaks a documented bound or format; the message is safe to show the caller.
    #[error("{0}")]
    Invalid(String),
    /// The platform's random number generator failed.
    #[error("random number generator unavailable")]
    Random,
}
