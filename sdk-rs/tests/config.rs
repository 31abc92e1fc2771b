//! Client configuration, without a server: the base URL must be given and be https (plain http
//! only to a loopback host, and only when asked for), and no `Debug` output shows a key.

use std::sync::Mutex;

use oakauth::{Admin, Builder, Error, FromBuilder, OakAuth};

const KEY: &str = "oak_SecretKeyMaterial0123456789";
const ADMIN_KEY: &str = "oakadm_SecretAdminMaterial0123456789";

/// The tests here read and change the process environment: one at a time.
static ENV: Mutex<()> = Mutex::new(());

fn env_lock() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|e| e.into_inner())
}

fn config_error<C: FromBuilder + std::fmt::Debug>(builder: Builder<C>) -> String {
    match builder.build() {
        Err(Error::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn a_missing_base_url_is_a_configuration_error_naming_both_ways() {
    let _env = env_lock();
    std::env::remove_var("OAKAUTH_BASE_URL");
    for message in [config_error(OakAuth::builder(KEY)), config_error(Admin::builder(ADMIN_KEY))] {
        assert!(message.contains("base_url") && message.contains("OAKAUTH_BASE_URL"), "{message}");
    }
    assert!(matches!(OakAuth::new(KEY), Err(Error::Config(_))));
    assert!(matches!(Admin::new(ADMIN_KEY), Err(Error::Config(_))));

    // The environment variable is the other way.
    std::env::set_var("OAKAUTH_BASE_URL", "https://oakauth.example.com/");
    let oak = OakAuth::new(KEY).unwrap();
    std::env::remove_var("OAKAUTH_BASE_URL");
    assert_eq!(oak.base_url(), "https://oakauth.example.com");
}

#[test]
fn plain_http_is_refused_except_to_loopback_with_an_explicit_opt_in() {
    let _env = env_lock();
    std::env::remove_var("OAKAUTH_ALLOW_INSECURE_LOOPBACK");
    let build = |url: &str| OakAuth::builder(KEY).base_url(url);

    for url in ["https://oakauth.example.com", "https://127.0.0.1:8443", "https://[::1]"] {
        assert!(build(url).build().is_ok(), "{url}");
    }
    // Not loopback: never, whatever the opt-in says.
    for url in [
        "http://oakauth.example.com",
        "http://10.0.0.1:8787",
        "http://192.168.1.10",
        "http://0.0.0.0:8787",
        "http://[::2]:8787",
        "http://[::ffff:127.0.0.1]",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
    ] {
        assert!(config_error(build(url)).contains("https"), "{url}");
        assert!(config_error(build(url).allow_insecure_loopback(true)).contains("https"), "{url}");
    }
    // Loopback: only with the opt-in, from the builder or the environment.
    for url in
        ["http://127.0.0.1:8787", "http://127.9.8.7", "http://localhost:8787", "http://LOCALHOST", "http://[::1]:8787"]
    {
        let message = config_error(build(url));
        assert!(
            message.contains("allow_insecure_loopback") && message.contains("OAKAUTH_ALLOW_INSECURE_LOOPBACK"),
            "{url}: {message}"
        );
        assert!(build(url).allow_insecure_loopback(true).build().is_ok(), "{url}");

        std::env::set_var("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "1");
        let from_env = build(url).build();
        let refused_by_builder = build(url).allow_insecure_loopback(false).build();
        std::env::set_var("OAKAUTH_ALLOW_INSECURE_LOOPBACK", "0");
        let env_says_no = build(url).build();
        std::env::remove_var("OAKAUTH_ALLOW_INSECURE_LOOPBACK");
        assert!(from_env.is_ok(), "{url}: {from_env:?}");
        assert!(refused_by_builder.is_err(), "the builder's setting wins over the environment");
        assert!(env_says_no.is_err(), "{url}");
    }
    // The same rule for the admin client.
    assert!(Admin::builder(ADMIN_KEY).base_url("http://127.0.0.1:8787").build().is_err());
    assert!(Admin::builder(ADMIN_KEY).base_url("http://127.0.0.1:8787").allow_insecure_loopback(true).build().is_ok());
    assert!(Admin::builder(ADMIN_KEY).base_url("http://example.com").allow_insecure_loopback(true).build().is_err());
}

#[test]
fn debug_output_never_shows_a_key() {
    let _env = env_lock();
    let oak_builder = OakAuth::builder(KEY).base_url("https://oakauth.example.com");
    let admin_builder = Admin::builder(ADMIN_KEY).base_url("https://oakauth.example.com");
    let oak = oak_builder.clone().build().unwrap();
    let admin = admin_builder.clone().build().unwrap();
    let printed = [
        format!("{oak_builder:?}"),
        format!("{admin_builder:?}"),
        format!("{oak:?}"),
        format!("{oak:#?}"),
        format!("{admin:?}"),
        #[cfg(feature = "rmcp")]
        format!("{:?}", oakauth::mcp::McpGuard::new(oak.clone())),
    ];
    for text in printed {
        assert!(!text.contains(KEY) && !text.contains(ADMIN_KEY), "{text}");
        assert!(!text.contains("SecretKeyMaterial") && !text.contains("SecretAdminMaterial"), "{text}");
        assert!(text.contains("oakauth.example.com"), "the rest is still shown: {text}");
    }
}
