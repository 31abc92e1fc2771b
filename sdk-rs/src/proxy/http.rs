//! The proxy's Streamable HTTP listener: rmcp's Streamable HTTP server, one [`Session`] (and one
//! upstream connection) per MCP session, behind a check of the bearer key.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::config::ListenAuth;
use super::session::{Session, Settings};
use crate::Error;

type Response = http::Response<BoxBody<Bytes, Infallible>>;

/// Serves the MCP endpoint on `listener` until `shutdown` is cancelled.
///
/// In bearer mode (the default), a request without `Authorization: Bearer oak_…` (a well-formed
/// agent key) is answered 401 before anything else happens; a session is bound to the key it
/// began with, and OakAuth decides each of its calls with that key.
pub async fn serve_http(
    settings: Arc<Settings>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let listen = settings.config.listen.clone().unwrap_or(super::config::Listen {
        address: super::config::DEFAULT_LISTEN.into(),
        path: super::config::DEFAULT_PATH.into(),
        auth: if settings.oak.is_some() { ListenAuth::Config } else { ListenAuth::Bearer },
        allowed_hosts: None,
    });
    let mut server_config = StreamableHttpServerConfig::default();
    server_config.cancellation_token = shutdown.child_token();
    if let Some(hosts) = listen.allowed_hosts.clone() {
        server_config.allowed_hosts = hosts;
    }
    let factory_settings = settings.clone();
    let service = StreamableHttpService::new(
        move || Ok(Session::new(factory_settings.clone())),
        Arc::new(LocalSessionManager::default()),
        server_config,
    );
    let bearer_mode = listen.auth == ListenAuth::Bearer;
    let path: Arc<str> = listen.path.into();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.map_err(|e| Error::Proxy(format!("accept failed: {e}")))?,
            () = shutdown.cancelled() => return Ok(()),
        };
        let (service, path) = (service.clone(), path.clone());
        let handler = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let (service, path) = (service.clone(), path.clone());
            async move {
                if request.uri().path() != &*path {
                    return Ok::<_, Infallible>(plain(http::StatusCode::NOT_FOUND, "not found\n"));
                }
                if bearer_mode && !has_agent_key(request.headers()) {
                    let mut refused = plain(
                        http::StatusCode::UNAUTHORIZED,
                        "present your OakAuth agent key as Authorization: Bearer oak_…\n",
                    );
                    refused
                        .headers_mut()
                        .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
                    return Ok(refused);
                }
                Ok(service.handle(request).await)
            }
        });
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), handler);
            tokio::select! {
                _ = connection => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
}

/// Whether the request carries a well-formed agent key (its checksum holds); OakAuth itself
/// decides whether the key is known.
fn has_agent_key(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some((scheme, key)) = value.split_once(' ') else { return false };
    scheme.eq_ignore_ascii_case("bearer")
        && matches!(oakauth_core::keys::parse(key.trim()), Ok(oakauth_core::keys::KeyKind::Agent))
}

fn plain(status: http::StatusCode, text: &'static str) -> Response {
    let mut response = http::Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
