//! One downstream session: the MCP server the host talks to, with one upstream connection behind
//! it. Tool calls (and, when guarded, resource reads and prompt gets) are decided by OakAuth
//! first; everything else is relayed as it is, both ways.

// Logging and resources/subscribe are deprecated by the newest MCP revision; relayed as they are.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::JsonRpcMessage;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotification,
    CancelledNotificationParam, ClientNotification, ClientRequest, ClientResult, CompleteRequest,
    CompleteRequestParams, CompleteResult, ContentBlock, CustomNotification, CustomRequest, CustomResult,
    GetPromptRequest, GetPromptRequestParams, GetPromptResponse, InitializeRequestParams, InitializeResult,
    ListPromptsRequest, ListPromptsResult, ListResourceTemplatesRequest, ListResourceTemplatesResult,
    ListResourcesRequest, ListResourcesResult, ListToolsRequest, ListToolsResult, PaginatedRequestParams,
    ProgressNotification, ProgressNotificationParam, ProgressToken, ProtocolVersion, ReadResourceRequest,
    ReadResourceRequestParams, ReadResourceResponse, RequestId, RequestMetaObject, RootsListChangedNotification,
    ServerNotification, ServerRequest, ServerResult, SetLevelRequest, SetLevelRequestParams, SubscribeRequest,
    SubscribeRequestParams, UnsubscribeRequest, UnsubscribeRequestParams,
};
use rmcp::service::{
    NotificationContext, OriginatingRequestId, Peer, PeerRequestOptions, RequestContext, RunningService, Service,
    ServiceError, ServiceRole,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{ErrorData, RoleClient, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::config::{Config, Target, Upstream};
use crate::mcp::{explain, hides, mcp_context, with_reasoning_argument};
use crate::{Error, OakAuth, ValidateRequest};

/// The `_meta` key that carries the decision's receipt to the upstream.
pub const RECEIPT_META_KEY: &str = oakauth_core::receipt::MCP_META_KEY;
/// Protocol versions the proxy speaks: those with an `initialize` handshake (a session per
/// connection, so one upstream connection per downstream session).
const PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2024_11_05,
];

/// Settings shared by every session of one proxy.
#[derive(Debug)]
pub struct Settings {
    /// The checked configuration.
    pub config: Config,
    /// The MCP server behind the proxy.
    pub upstream: Upstream,
    /// The client of the configured key, when there is one; in bearer mode each session has its
    /// own.
    pub oak: Option<OakAuth>,
    /// Print each call's timings to standard error.
    pub timings: bool,
}

impl Settings {
    /// An OakAuth client with `key` and the configuration's base URL, timeout and retries.
    pub fn client(config: &Config, key: String) -> Result<OakAuth, Error> {
        let s = &config.oakauth;
        let mut b =
            OakAuth::builder(key).base_url(s.base_url.clone()).allow_insecure_loopback(s.allow_insecure_loopback);
        if let Some(t) = s.timeout {
            b = b.timeout(t);
        }
        if let Some(r) = s.retries {
            b = b.retries(r);
        }
        b.build()
    }
}

/// Upstream progress tokens (the proxy's) to the downstream client's, and back.
type ProgressMap = Arc<Mutex<HashMap<ProgressToken, ProgressToken>>>;
/// Downstream requests being relayed upstream: upstream request id → downstream request id.
type InFlight = Arc<Mutex<HashMap<RequestId, RequestId>>>;
/// The last `tools/list` check of one OakAuth tool and scope: when, and whether it is shown.
type ListCheck = Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>;

/// The downstream side of one session (an rmcp [`ServerHandler`]).
#[derive(Clone)]
pub struct Session {
    settings: Arc<Settings>,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    oak: OnceLock<OakAuth>,
    /// The bearer key the session began with (HTTP, bearer mode): later requests must present it.
    caller_key: OnceLock<String>,
    upstream: tokio::sync::Mutex<Option<RunningService<RoleClient, Relay>>>,
    upstream_peer: OnceLock<Peer<RoleClient>>,
    upstream_info: OnceLock<InitializeResult>,
    progress_up: ProgressMap,
    progress_down: ProgressMap,
    /// Downstream requests being relayed upstream, by upstream request id.
    in_flight: InFlight,
    list_checks: Mutex<HashMap<(String, String), ListCheck>>,
}

impl Session {
    /// A session that has not met its client yet.
    pub fn new(settings: Arc<Settings>) -> Self {
        Session { settings, state: Arc::default() }
    }

    /// Stops the upstream connection (and the upstream process).
    pub async fn close(&self) {
        if let Some(mut running) = self.state.upstream.lock().await.take() {
            let _ = running.close_with_timeout(Duration::from_secs(5)).await;
        }
    }

    fn oak(&self) -> Result<&OakAuth, ErrorData> {
        self.state.oak.get().ok_or_else(|| ErrorData::internal_error("the session has no agent key", None))
    }

    fn upstream(&self) -> Result<&Peer<RoleClient>, ErrorData> {
        self.state.upstream_peer.get().ok_or_else(|| ErrorData::invalid_request("the session is not initialized", None))
    }

    /// In bearer mode, a request of a session must present the key the session began with.
    fn check_caller(&self, context_extensions: &rmcp::model::Extensions) -> Result<(), ErrorData> {
        let Some(expected) = self.state.caller_key.get() else { return Ok(()) };
        let presented = bearer(context_extensions).unwrap_or_default();
        if oakauth_core::keys::hashes_equal(expected, &presented) {
            Ok(())
        } else {
            Err(ErrorData::invalid_request("this session belongs to another agent key", None))
        }
    }

    /// Connects the upstream with the downstream client's own identity and capabilities, so that
    /// the upstream sees what the client can do (sampling, roots, elicitation).
    async fn connect(
        &self,
        client: InitializeRequestParams,
        downstream: Peer<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let notifications =
            NotificationRelay { downstream: downstream.clone(), progress_up: self.state.progress_up.clone() };
        let relay = Relay {
            downstream,
            info: client,
            progress_down: self.state.progress_down.clone(),
            in_flight: self.state.in_flight.clone(),
        };
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            ErrorData::internal_error(format!("OakAuth proxy: the upstream MCP server {what}: {e}"), None)
        };
        let running = match &self.settings.upstream {
            Upstream::Command(argv) => {
                let mut command = tokio::process::Command::new(&argv[0]);
                command.args(&argv[1..]);
                let transport = rmcp::transport::TokioChildProcess::new(command)
                    .map_err(|e| failed(&format!("({}) did not start", argv[0]), &e))?;
                let transport = Ordered { inner: transport, relay: notifications };
                relay.serve(transport).await.map_err(|e| failed("did not initialize", &e))?
            }
            Upstream::Url(url) => {
                ensure_tls_provider();
                let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.clone());
                let transport = Ordered { inner: transport, relay: notifications };
                relay.serve(transport).await.map_err(|e| failed(&format!("at {url} did not initialize"), &e))?
            }
        };
        let peer_info = running.peer().peer_info().ok_or_else(|| failed("sent no server info", &""))?;
        let mut info = InitializeResult::new(peer_info.capabilities.clone())
            .with_protocol_version(peer_info.protocol_version.clone());
        if let Some(server) = &peer_info.server_info {
            info = info.with_server_info(server.clone());
        }
        info.instructions = peer_info.instructions.clone();
        info.meta = peer_info.meta.clone();
        let _ = self.state.upstream_peer.set(running.peer().clone());
        let _ = self.state.upstream_info.set(info.clone());
        *self.state.upstream.lock().await = Some(running);
        Ok(info)
    }

    /// Relays a request upstream: its `_meta` (the progress token mapped), its cancellation.
    async fn relay(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        self.check_caller(&context.extensions)?;
        let upstream = self.upstream()?.clone();
        forward(
            &upstream,
            request,
            context.meta,
            context.ct,
            &self.state.progress_up,
            Some((&self.state.in_flight, context.id)),
        )
        .await
    }

    /// Decides a call: `Ok(receipt)` to go on, `Err(text)` to refuse with that text.
    async fn decide(
        &self,
        kind: Kind,
        name: &str,
        target: Option<&Target>,
        arguments: Option<Map<String, Value>>,
        reasoning: Option<String>,
    ) -> Result<(Option<String>, Duration), String> {
        let Some(Target { tool, scope }) = target else {
            return Err(unmapped(kind, name));
        };
        let Ok(oak) = self.oak() else {
            return Err(format!(
                "OakAuth could not check {tool}:{scope} (the session has no agent key), so the tool did not run."
            ));
        };
        let mut check =
            ValidateRequest::new(tool.clone(), scope.clone()).with_context(mcp_context(kind.context_key(), name));
        check.reasoning = reasoning;
        check.arguments = arguments;
        let started = Instant::now();
        let decided = oak.validate(&check).await;
        let took = started.elapsed();
        let err = match decided {
            Ok(decision) if decision.is_allowed() => return Ok((decision.response.receipt, took)),
            Ok(decision) => decision.into_error(&check).unwrap_or(Error::Config("contradictory decision".into())),
            Err(err) => err,
        };
        Err(explain(&err, tool, scope, &self.settings.config.reasoning_argument))
    }

    /// Whether `tools/list` shows an MCP tool: it is mapped, and the agent may use its OakAuth
    /// tool and scope at all (checked without arguments and without creating an approval, at
    /// most once per `list_cache_ms` for each tool and scope).
    async fn listed(&self, name: &str) -> bool {
        let Some(Target { tool, scope }) = self.settings.config.tools.target(name) else { return false };
        let Ok(oak) = self.oak() else { return false };
        let slot = {
            let mut checks = self.state.list_checks.lock().unwrap_or_else(PoisonError::into_inner);
            checks.entry((tool.clone(), scope.clone())).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some((checked_at, shown)) = *slot {
            if checked_at.elapsed() < self.settings.config.oakauth.list_cache {
                return shown;
            }
        }
        let mut check =
            ValidateRequest::new(tool.clone(), scope.clone()).with_context(mcp_context("mcp", "tools/list"));
        check.request_approval = Some(false);
        let shown = match oak.guard(check, std::future::ready(())).await {
            Ok(()) => true,
            Err(err) => !hides(&err),
        };
        *slot = Some((Instant::now(), shown));
        shown
    }

    fn timing(&self, what: &str, name: &str, started: Instant, validate: Duration, upstream: Duration) {
        if self.settings.timings {
            let total = started.elapsed();
            let own = total.saturating_sub(validate).saturating_sub(upstream);
            eprintln!(
                "oakauth-proxy timing {what} {name}: total_us={} validate_us={} upstream_us={} proxy_us={}",
                total.as_micros(),
                validate.as_micros(),
                upstream.as_micros(),
                own.as_micros()
            );
        }
    }
}

/// What a decision is about.
#[derive(Clone, Copy)]
enum Kind {
    Tool,
    Resource,
    Prompt,
}

impl Kind {
    fn context_key(self) -> &'static str {
        match self {
            Kind::Tool => "mcp_tool",
            Kind::Resource => "mcp_resource",
            Kind::Prompt => "mcp_prompt",
        }
    }
}

/// The refusal of a name the configuration does not map (`default = "deny"`).
fn unmapped(kind: Kind, name: &str) -> String {
    let (what, table) = match kind {
        Kind::Tool => ("tool", "tools"),
        Kind::Resource => ("resource", "resources"),
        Kind::Prompt => ("prompt", "prompts"),
    };
    format!(
        "OakAuth denied {what} {name:?}: the OakAuth proxy's configuration maps it to no OakAuth tool ([[{table}]]; \
         default = \"deny\"). The tool did not run."
    )
}

/// A request whose parameters are optional (a paginated list), with these.
fn optional<R: Default + OptionalParams>(params: Option<PaginatedRequestParams>) -> R {
    let mut request = R::default();
    request.set(params);
    request
}

trait OptionalParams {
    fn set(&mut self, params: Option<PaginatedRequestParams>);
}

impl<M> OptionalParams for rmcp::model::RequestOptionalParam<M, PaginatedRequestParams> {
    fn set(&mut self, params: Option<PaginatedRequestParams>) {
        self.params = params;
    }
}

fn refusal(text: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(text)]).into()
}

/// A refused resource read or prompt get: those have no error result, so a JSON-RPC error.
fn refused_request(text: String) -> ErrorData {
    ErrorData::invalid_request(text, None)
}

/// The bearer key of the HTTP request a message came in, if any.
pub(crate) fn bearer(extensions: &rmcp::model::Extensions) -> Option<String> {
    let parts = extensions.get::<http::request::Parts>()?;
    let value = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim().to_owned())
}

/// rmcp's HTTP client (reqwest with rustls) needs a process-wide TLS provider.
pub(crate) fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ServerHandler for Session {
    fn get_info(&self) -> InitializeResult {
        self.state.upstream_info.get().cloned().unwrap_or_default()
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        context.peer.set_peer_info(request.clone());
        let oak = match &self.settings.oak {
            Some(oak) => oak.clone(),
            None => {
                let key = bearer(&context.extensions).ok_or_else(|| {
                    ErrorData::invalid_request(
                        "OakAuth proxy: present your agent key as Authorization: Bearer oak_…",
                        None,
                    )
                })?;
                let _ = self.state.caller_key.set(key.clone());
                Settings::client(&self.settings.config, key)
                    .map_err(|e| ErrorData::invalid_request(e.to_string(), None))?
            }
        };
        let _ = self.state.oak.set(oak);
        if let Some(info) = self.state.upstream_info.get() {
            return Ok(info.clone());
        }
        let mut info = self.connect(request, context.peer.clone()).await?;
        // Tasks and skills (extensions) are not relayed.
        info.capabilities.extensions = None;
        Ok(info)
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.check_caller(&context.extensions)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let result =
            self.relay(ClientRequest::ListToolsRequest(optional::<ListToolsRequest>(request)), context).await?;
        let ServerResult::ListToolsResult(mut list) = result else {
            return Err(ErrorData::internal_error("the upstream answered tools/list with something else", None));
        };
        let reasoning = &self.settings.config.reasoning_argument;
        list.tools = list.tools.into_iter().map(|t| with_reasoning_argument(t, reasoning)).collect();
        if self.settings.config.hide_denied {
            let keep = futures_util::future::join_all(list.tools.iter().map(|t| self.listed(&t.name))).await;
            let mut keep = keep.into_iter();
            list.tools.retain(|_| keep.next().unwrap_or(false));
        }
        Ok(list)
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.check_caller(&context.extensions)?;
        let started = Instant::now();
        let reasoning_argument = &self.settings.config.reasoning_argument;
        let reasoning = match request.arguments.as_mut().and_then(|args| args.remove(reasoning_argument)) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                return Ok(refusal(format!(
                    "The `{reasoning_argument}` argument must be a string that says why you need this call; the tool did not run."
                )))
            }
        };
        let target = self.settings.config.tools.target(&request.name);
        let (receipt, validate) =
            match self.decide(Kind::Tool, &request.name, target, request.arguments.clone(), reasoning).await {
                Ok(allowed) => allowed,
                Err(text) => {
                    self.timing("tools/call", &request.name, started, Duration::ZERO, Duration::ZERO);
                    return Ok(refusal(text));
                }
            };
        // A receipt is the proxy's to give: one the client sent is never passed on.
        context.meta.remove(RECEIPT_META_KEY);
        if let Some(receipt) = receipt {
            context.meta.insert(RECEIPT_META_KEY.to_owned(), Value::String(receipt));
        }
        let name = request.name.to_string();
        let upstream_started = Instant::now();
        let result = self.relay(ClientRequest::CallToolRequest(CallToolRequest::new(request)), context).await;
        self.timing("tools/call", &name, started, validate, upstream_started.elapsed());
        match result? {
            ServerResult::CallToolResult(r) => Ok(CallToolResponse::Complete(r)),
            ServerResult::InputRequiredResult(r) => Ok(CallToolResponse::InputRequired(r)),
            ServerResult::CreateTaskResult(r) => Ok(CallToolResponse::Task(r)),
            _ => Err(ErrorData::internal_error("the upstream answered tools/call with something else", None)),
        }
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.check_caller(&context.extensions)?;
        context.meta.remove(RECEIPT_META_KEY);
        if self.settings.config.guard_resources {
            let target = self.settings.config.resources.target(&request.uri);
            let mut arguments = Map::new();
            arguments.insert("uri".into(), Value::String(request.uri.clone()));
            match self.decide(Kind::Resource, &request.uri, target, Some(arguments), None).await {
                Ok((Some(receipt), _)) => {
                    context.meta.insert(RECEIPT_META_KEY.to_owned(), Value::String(receipt));
                }
                Ok((None, _)) => {}
                Err(text) => return Err(refused_request(text)),
            }
        }
        match self.relay(ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request)), context).await? {
            ServerResult::ReadResourceResult(r) => Ok(ReadResourceResponse::Complete(r)),
            ServerResult::InputRequiredResult(r) => Ok(ReadResourceResponse::InputRequired(r)),
            _ => Err(ErrorData::internal_error("the upstream answered resources/read with something else", None)),
        }
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.check_caller(&context.extensions)?;
        context.meta.remove(RECEIPT_META_KEY);
        if self.settings.config.guard_prompts {
            let target = self.settings.config.prompts.target(&request.name);
            match self.decide(Kind::Prompt, &request.name, target, request.arguments.clone(), None).await {
                Ok((Some(receipt), _)) => {
                    context.meta.insert(RECEIPT_META_KEY.to_owned(), Value::String(receipt));
                }
                Ok((None, _)) => {}
                Err(text) => return Err(refused_request(text)),
            }
        }
        match self.relay(ClientRequest::GetPromptRequest(GetPromptRequest::new(request)), context).await? {
            ServerResult::GetPromptResult(r) => Ok(GetPromptResponse::Complete(r)),
            ServerResult::InputRequiredResult(r) => Ok(GetPromptResponse::InputRequired(r)),
            _ => Err(ErrorData::internal_error("the upstream answered prompts/get with something else", None)),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        match self.relay(ClientRequest::ListPromptsRequest(optional::<ListPromptsRequest>(request)), context).await? {
            ServerResult::ListPromptsResult(r) => Ok(r),
            _ => Err(ErrorData::internal_error("the upstream answered prompts/list with something else", None)),
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        match self
            .relay(ClientRequest::ListResourcesRequest(optional::<ListResourcesRequest>(request)), context)
            .await?
        {
            ServerResult::ListResourcesResult(r) => Ok(r),
            _ => Err(ErrorData::internal_error("the upstream answered resources/list with something else", None)),
        }
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let request = ClientRequest::ListResourceTemplatesRequest(optional::<ListResourceTemplatesRequest>(request));
        match self.relay(request, context).await? {
            ServerResult::ListResourceTemplatesResult(r) => Ok(r),
            _ => Err(ErrorData::internal_error(
                "the upstream answered resources/templates/list with something else",
                None,
            )),
        }
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        match self.relay(ClientRequest::CompleteRequest(CompleteRequest::new(request)), context).await? {
            ServerResult::CompleteResult(r) => Ok(r),
            _ => Err(ErrorData::internal_error("the upstream answered completion/complete with something else", None)),
        }
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.relay(ClientRequest::SetLevelRequest(SetLevelRequest::new(request)), context).await.map(drop)
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.relay(ClientRequest::SubscribeRequest(SubscribeRequest::new(request)), context).await.map(drop)
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.relay(ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(request)), context).await.map(drop)
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        match self.relay(ClientRequest::CustomRequest(request), context).await? {
            ServerResult::CustomResult(r) => Ok(r),
            other => Ok(CustomResult(serde_json::to_value(other).unwrap_or(Value::Null))),
        }
    }

    async fn on_progress(
        &self,
        mut notification: ProgressNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        // Progress of a request the upstream sent the client (sampling, elicitation).
        let mapped = self
            .state
            .progress_down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&notification.progress_token)
            .cloned();
        if let (Some(token), Ok(upstream)) = (mapped, self.upstream()) {
            notification.progress_token = token;
            let _ = upstream
                .send_notification(ClientNotification::ProgressNotification(ProgressNotification::new(notification)))
                .await;
        }
    }

    async fn on_roots_list_changed(&self, _context: NotificationContext<RoleServer>) {
        if let Ok(upstream) = self.upstream() {
            let _ = upstream
                .send_notification(ClientNotification::RootsListChangedNotification(
                    RootsListChangedNotification::default(),
                ))
                .await;
        }
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        _context: NotificationContext<RoleServer>,
    ) {
        if let Ok(upstream) = self.upstream() {
            let _ = upstream.send_notification(ClientNotification::CustomNotification(notification)).await;
        }
    }
}

/// The upstream side of one session (an rmcp client): what the upstream server asks or tells
/// the client (sampling, roots, elicitation, notifications, progress) goes downstream.
struct Relay {
    downstream: Peer<RoleServer>,
    info: InitializeRequestParams,
    progress_down: ProgressMap,
    in_flight: InFlight,
}

impl Service<RoleClient> for Relay {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        if let ServerRequest::PingRequest(_) = request {
            return Ok(ClientResult::empty(()));
        }
        // The downstream request this one belongs to: the one it came on the stream of, or else
        // the only one in flight.
        let origin = {
            let in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            match context.extensions.get::<rmcp::service::InboundStreamOrigin>() {
                Some(rmcp::service::InboundStreamOrigin::OutboundRequest(id)) => in_flight.get(id).cloned(),
                _ if in_flight.len() == 1 => in_flight.values().next().cloned(),
                _ => None,
            }
        };
        let mut request = request;
        if let Some(origin) = origin {
            use rmcp::model::GetExtensions;
            request.extensions_mut().insert(OriginatingRequestId(origin));
        }
        let (downstream, progress) = (self.downstream.clone(), self.progress_down.clone());
        // On a task of its own, outside this handler's task-local request id (the upstream's),
        // which rmcp would otherwise take for the downstream request this one belongs to.
        tokio::spawn(async move { forward(&downstream, request, context.meta, context.ct, &progress, None).await })
            .await
            .unwrap_or_else(|e| Err(ErrorData::internal_error(format!("relay failed: {e}"), None)))
    }

    /// Only the upstream's cancellations of its own requests get here (rmcp acts on them); every
    /// other notification was relayed by [`Ordered`] as it arrived.
    async fn handle_notification(
        &self,
        _notification: ServerNotification,
        _context: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    fn get_info(&self) -> InitializeRequestParams {
        self.info.clone()
    }
}

/// Relays the upstream's notifications downstream in the order they arrive, before any later
/// message of the upstream (the answer to a call after its last progress, above all): rmcp hands
/// notifications to handlers on tasks of their own, which would lose that order.
struct Ordered<T> {
    inner: T,
    relay: NotificationRelay,
}

#[derive(Clone)]
struct NotificationRelay {
    downstream: Peer<RoleServer>,
    progress_up: ProgressMap,
}

impl NotificationRelay {
    async fn relay(&self, notification: ServerNotification) {
        let notification = match notification {
            ServerNotification::ProgressNotification(mut n) => {
                let mapped = self
                    .progress_up
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&n.params.progress_token)
                    .cloned();
                // Progress of a request whose client asked for none is not passed on.
                let Some(token) = mapped else { return };
                n.params.progress_token = token;
                ServerNotification::ProgressNotification(n)
            }
            other => other,
        };
        let _ = self.downstream.send_notification(notification).await;
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Ordered<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            match self.inner.receive().await? {
                // The upstream cancelling a request it sent is for rmcp to act on.
                JsonRpcMessage::Notification(n)
                    if !matches!(n.notification, ServerNotification::CancelledNotification(_)) =>
                {
                    self.relay.relay(n.notification).await;
                }
                other => return Some(other),
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.inner.close().await
    }
}

/// Sends `request` to `peer` with the `_meta` it came with, maps the progress token both ways
/// and passes a cancellation on; the answer, or the peer's error, comes back as it is.
async fn forward<R: ServiceRole>(
    peer: &Peer<R>,
    request: R::Req,
    mut meta: RequestMetaObject,
    ct: CancellationToken,
    progress: &ProgressMap,
    in_flight: Option<(&InFlight, RequestId)>,
) -> Result<R::PeerResp, ErrorData> {
    let their_token = meta.get_progress_token();
    meta.remove("progressToken");
    let options = PeerRequestOptions::no_options().with_meta(meta);
    let handle = peer.send_request_with_option(request, options).await.map_err(service_error)?;
    let (id, token) = (handle.id.clone(), handle.progress_token.clone());
    if let Some(theirs) = their_token {
        progress.lock().unwrap_or_else(PoisonError::into_inner).insert(token.clone(), theirs);
    }
    if let Some((map, downstream_id)) = &in_flight {
        map.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), downstream_id.clone());
    }
    let result = tokio::select! {
        result = handle.await_response() => result.map_err(service_error),
        () = ct.cancelled() => {
            let cancel = CancelledNotification::new(CancelledNotificationParam::new(Some(id.clone()), Some("cancelled by the client".into())));
            let _ = peer.send_notification(cancel.into()).await;
            Err(ErrorData::internal_error("cancelled by the client", None))
        }
    };
    progress.lock().unwrap_or_else(PoisonError::into_inner).remove(&token);
    if let Some((map, _)) = in_flight {
        map.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }
    result
}

fn service_error(e: ServiceError) -> ErrorData {
    match e {
        ServiceError::McpError(e) => e,
        other => ErrorData::internal_error(format!("OakAuth proxy: the upstream MCP server failed: {other}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmapped_name_is_refused_saying_so() {
        let text = unmapped(Kind::Tool, "list_directory");
        assert!(
            text.starts_with("OakAuth denied tool \"list_directory\": the OakAuth proxy's configuration maps it"),
            "{text}"
        );
        assert!(
            text.contains("[[tools]]")
                && text.contains("default = \"deny\"")
                && text.ends_with("The tool did not run.")
        );
        assert!(unmapped(Kind::Resource, "file:///etc/passwd").contains("resource \"file:///etc/passwd\""));
        assert!(unmapped(Kind::Prompt, "p").contains("[[prompts]]"));
    }

    #[test]
    fn the_bearer_key_comes_from_the_http_request() {
        let parts = |value: Option<&str>| {
            let mut builder = http::Request::builder();
            if let Some(v) = value {
                builder = builder.header("authorization", v);
            }
            let mut extensions = rmcp::model::Extensions::new();
            extensions.insert(builder.body(()).unwrap().into_parts().0);
            extensions
        };
        assert_eq!(bearer(&parts(Some("Bearer oak_abc"))).as_deref(), Some("oak_abc"));
        assert_eq!(bearer(&parts(Some("bearer  oak_abc "))).as_deref(), Some("oak_abc"));
        assert_eq!(bearer(&parts(Some("Basic dXNlcg=="))), None);
        assert_eq!(bearer(&parts(None)), None);
        assert_eq!(bearer(&rmcp::model::Extensions::new()), None, "stdio has no HTTP request");
    }
}
