//! `oakauth whoami`: who the credentials are (an admin key, or a person with a bearer session
//! token), in which organization, with which role.

use std::process::ExitCode;

use oakauth::wire::accounts::{Actor, ActorKind};
use oakauth::Admin;

use super::Outcome;
use crate::output::{fields, Out};

/// The admin key's name and prefix, or the person's name and e-mail address.
fn who(actor: &Actor) -> String {
    match actor.kind {
        ActorKind::Key => match &actor.key_prefix {
            Some(prefix) => format!("admin key {} ({prefix}…)", actor.name),
            None => format!("admin key {}", actor.name),
        },
        ActorKind::User => match &actor.email {
            Some(email) => format!("{} <{email}>", actor.name),
            None => actor.name.clone(),
        },
        ActorKind::System => format!("OakAuth ({})", actor.name),
    }
}

pub async fn run(admin: &Admin, out: &Out) -> Outcome {
    let me = admin.me().await?;
    out.print(&me, |me| {
        fields(&[
            ("organization", format!("{} ({})", me.organization.name, me.organization.id)),
            ("role", me.role.as_str().to_owned()),
            ("who", who(&me.actor)),
            ("base URL", admin.base_url().to_owned()),
        ])
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_shown_by_name_and_prefix_and_a_person_by_name_and_email() {
        let key = Actor {
            kind: ActorKind::Key,
            id: "adk_1".into(),
            name: "ci".into(),
            email: None,
            key_prefix: Some("oakadm_ab".into()),
        };
        assert_eq!(who(&key), "admin key ci (oakadm_ab…)");
        let person = Actor {
            kind: ActorKind::User,
            id: "usr_1".into(),
            name: "Ada Lovelace".into(),
            email: Some("ada@example.com".into()),
            key_prefix: None,
        };
        assert_eq!(who(&person), "Ada Lovelace <ada@example.com>");
    }
}
