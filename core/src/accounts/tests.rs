use super::*;

#[test]
fn roles_are_explicit_and_ordered() {
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Ok(role));
    }
    for bad in ["", "Owner", "ADMIN", "root", "viewer ", "superadmin"] {
        assert!(Role::parse(bad).is_err(), "{bad:?} must not be a role");
    }
    assert!(Role::Owner.allows(Role::Admin) && Role::Admin.allows(Role::Viewer));
    assert!(!Role::Viewer.allows(Role::Admin) && !Role::Admin.allows(Role::Owner));
}

#[test]
fn only_owners_grant_ownership_and_viewers_grant_nothing() {
    assert!(Role::Owner.may_grant(Role::Owner));
    assert!(Role::Admin.may_grant(Role::Admin) && Role::Admin.may_grant(Role::Viewer));
    assert!(!Role::Admin.may_grant(Role::Owner));
    for r in Role::ALL {
        assert!(!Role::Viewer.may_grant(r));
    }
}

#[test]
fn signup_defaults_to_invite_only_and_refuses_unknown_values() {
    assert_eq!(Signup::parse(None), Ok(Signup::InviteOnly));
    assert_eq!(Signup::parse(Some("")), Ok(Signup::InviteOnly));
    assert_eq!(Signup::parse(Some("open")), Ok(Signup::Open));
    assert_eq!(Signup::parse(Some("invite_only")), Ok(Signup::InviteOnly));
    assert!(Signup::parse(Some("Open")).is_err());
    assert!(Signup::parse(Some("yes")).is_err());
}

#[test]
fn sessions_end_when_idle_at_their_absolute_expiry_or_when_revoked() {
    let t0 = 1_000_000;
    let s = SessionTimes::starting(t0);
    assert_eq!(s.state(t0), SessionState::Live { touch: false });
    assert_eq!(s.state(t0 + TOUCH_EVERY_MS), SessionState::Live { touch: true });
    assert_eq!(s.state(t0 + SESSION_IDLE_MS - 1), SessionState::Live { touch: true });
    assert_eq!(s.state(t0 + SESSION_IDLE_MS), SessionState::Idle);
    // Used every hour, it still ends at the absolute expiry.
    let busy = SessionTimes { last_seen_at: t0 + SESSION_ABSOLUTE_MS - 3_600_000, ..s };
    assert_eq!(busy.state(t0 + SESSION_ABSOLUTE_MS - 1), SessionState::Live { touch: true });
    assert_eq!(busy.state(t0 + SESSION_ABSOLUTE_MS), SessionState::Expired);
    assert_eq!(busy.ends_at(), t0 + SESSION_ABSOLUTE_MS);
    assert_eq!(s.ends_at(), t0 + SESSION_IDLE_MS);
    let revoked = SessionTimes { revoked_at: Some(t0 + 1), ..s };
    assert_eq!(revoked.state(t0 + 2), SessionState::Revoked);
}

#[test]
fn csrf_tokens_are_bound_to_the_session_and_the_secret() {
    let a = csrf_token(b"secret-one-0123456789", "ses_1");
    assert_eq!(a.len(), 64);
    assert!(csrf_matches(b"secret-one-0123456789", "ses_1", Some(&a)));
    assert!(!csrf_matches(b"secret-one-0123456789", "ses_2", Some(&a)));
    assert!(!csrf_matches(b"secret-two-0123456789", "ses_1", Some(&a)));
    assert!(!csrf_matches(b"secret-one-0123456789", "ses_1", None));
    assert!(!csrf_matches(b"secret-one-0123456789", "ses_1", Some("")));
    assert!(!csrf_matches(b"secret-one-0123456789", "ses_1", Some(&a[..63])));
}

#[test]
fn email_addresses_are_normalized_and_bounded() {
    assert_eq!(normalize_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
    for bad in ["", "alice", "@example.com", "alice@", "a@b@c", "a b@example.com", "a@.com", "a@x.", "<a@x.com>"] {
        assert!(normalize_email(bad).is_err(), "{bad:?}");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    assert!(normalize_email(&long).is_err());
}

#[test]
fn display_names_fall_back_to_the_address_and_are_cut_on_a_character() {
    assert_eq!(display_name(None, "alice@example.com"), "alice");
    assert_eq!(display_name(Some("  "), "bob@example.com"), "bob");
    assert_eq!(display_name(Some("Ada\u{0}Lovelace"), "ada@example.com"), "AdaLovelace");
    let long = "é".repeat(80);
    let cut = display_name(Some(&long), "x@example.com");
    assert!(cut.len() <= MAX_NAME_LEN && cut.chars().all(|c| c == 'é'));
}

#[test]
fn invitations_are_single_use_expiring_and_for_one_address() {
    let inv = InvitationState { email: "bob@example.com", expires_at: 100, accepted_at: None, revoked_at: None };
    assert_eq!(check_invitation(&inv, "bob@example.com", true, 99), Ok(()));
    assert_eq!(check_invitation(&inv, "BOB@example.com", true, 99), Ok(()));
    assert_eq!(check_invitation(&inv, "bob@example.com", true, 100), Err(InvitationRefusal::Expired));
    assert_eq!(check_invitation(&inv, "eve@example.com", true, 1), Err(InvitationRefusal::WrongAccount));
    assert_eq!(check_invitation(&inv, "bob@example.com", false, 1), Err(InvitationRefusal::UnverifiedEmail));
    let used = InvitationState { accepted_at: Some(5), ..inv.clone() };
    assert_eq!(check_invitation(&used, "bob@example.com", true, 6), Err(InvitationRefusal::Used));
    let revoked = InvitationState { revoked_at: Some(5), ..inv };
    assert_eq!(check_invitation(&revoked, "bob@example.com", true, 6), Err(InvitationRefusal::Revoked));
}

#[test]
fn mfa_needs_a_second_factor_in_amr_or_a_configured_acr() {
    let amr = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(mfa_satisfied(&amr(&["pwd", "otp"]), None, &[]));
    assert!(mfa_satisfied(&amr(&["mfa"]), None, &[]));
    assert!(!mfa_satisfied(&amr(&["pwd"]), None, &[]));
    assert!(!mfa_satisfied(&[], None, &[]));
    assert!(!mfa_satisfied(&[], Some("mfa"), &[]), "an acr counts only when configured");
    let acrs = vec!["http://schemas.openid.net/pape/policies/2007/06/multi-factor".to_string()];
    assert!(mfa_satisfied(&[], Some(&acrs[0]), &acrs));
    assert!(!mfa_satisfied(&[], Some("pwd"), &acrs));
    assert!(!mfa_satisfied(&[], Some(""), &[String::new()]));
}

#[test]
fn the_last_owner_cannot_leave_or_be_demoted() {
    assert!(!keeps_an_owner(Role::Owner, 1, None));
    assert!(!keeps_an_owner(Role::Owner, 1, Some(Role::Admin)));
    assert!(keeps_an_owner(Role::Owner, 1, Some(Role::Owner)));
    assert!(keeps_an_owner(Role::Owner, 2, None));
    assert!(keeps_an_owner(Role::Admin, 1, None));
}
