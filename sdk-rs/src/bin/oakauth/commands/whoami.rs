//! `oakauth whoami`: the organization of the admin key.

use std::process::ExitCode;

use oakauth::Admin;

use super::Outcome;
use crate::output::{fields, Out};

pub async fn run(admin: &Admin, out: &Out) -> Outcome {
    let me = admin.me().await?;
    out.print(&me, |me| {
        fields(&[
            ("organization", format!("{} ({})", me.organization.name, me.organization.id)),
            ("admin key", format!("{}…", me.key_prefix)),
            ("base URL", admin.base_url().to_owned()),
        ])
    });
    Ok(ExitCode::SUCCESS)
}
