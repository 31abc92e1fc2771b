//! `oakauth billing`: Stripe Checkout to subscribe, and the Customer Portal to change or cancel
//! (owners only; the deployment must have Stripe configured, see docs/billing.md).

use std::process::ExitCode;

use clap::Subcommand;
use oakauth::wire::plans::{BillingRedirect, PlanId};
use oakauth::Admin;

use super::Outcome;
use crate::output::Out;

#[derive(Subcommand)]
pub enum BillingCmd {
    /// Print the Stripe Checkout page that subscribes the organization to a plan.
    Checkout {
        /// The plan to subscribe to (only `pro` is self-serve).
        #[arg(long, value_parser = plan)]
        plan: PlanId,
    },
    /// Print the Stripe Customer Portal page, to change or cancel the subscription.
    Portal,
}

fn plan(s: &str) -> Result<PlanId, String> {
    PlanId::parse(s).map_err(|e| e.to_string())
}

pub async fn run(admin: &Admin, out: &Out, cmd: BillingCmd) -> Outcome {
    let redirect = match cmd {
        BillingCmd::Checkout { plan } => admin.billing_checkout(plan).await?,
        BillingCmd::Portal => admin.billing_portal().await?,
    };
    out.print(&redirect, |r: &BillingRedirect| format!("{}\n", r.url));
    Ok(ExitCode::SUCCESS)
}
