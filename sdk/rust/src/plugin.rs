//! The upstream Rust plugin API (`nexo_microapp_sdk::plugin`), on this SDK.
//!
//! Code written for the upstream crate's `plugin` module compiles against this
//! module unchanged once the dependency is renamed
//! (`nexo-microapp-sdk = { package = "nexo-plugin-sdk", path = "..." }`): the
//! same builder (`PluginAdapter::new(..)?.on_broker_event(..).on_tool(..)
//! .run_stdio()`), handler traits, `BrokerSender` calls (`recall_memory`,
//! `complete_llm`, `complete_llm_stream`, `request`, `publish`), `RpcError` and
//! `ToolInvocationError` variants. Underneath it is this crate's adapter, so
//! the wire is the same as with the native API (ordered events, batching,
//! stdout guard, drain on shutdown, replies correlated to the handled event).
//!
//! ```no_run
//! use nexo_plugin_sdk::plugin::{BrokerSender, Event, PluginAdapter, ToolInvocation, ToolInvocationError};
//!
//! const MANIFEST: &str = "[plugin]\nid = \"slack\"\nversion = \"0.1.0\"\n[plugin.extends]\ntools = [\"slack_echo\"]\n";
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     Ok(PluginAdapter::new(MANIFEST)?
//!         .on_broker_event(|_topic: String, event: Event, broker: BrokerSender| async move {
//!             let ack = Event::new("plugin.inbound.slack", "slack", serde_json::json!({ "echo": event.payload }));
//!             let _ = broker.publish("plugin.inbound.slack", ack).await;
//!         })
//!         .on_tool(|inv: ToolInvocation| async move {
//!             match inv.tool_name.as_str() {
//!                 "slack_echo" => Ok(inv.args),
//!                 other => Err(ToolInvocationError::NotFound(other.into())),
//!             }
//!         })
//!         .on_shutdown(|| async { Ok(()) })
//!         .run_stdio()
//!         .await?)
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::errors::{HostCallError, ManifestError, ToolError};

pub use crate::broker::MemoryEntry;
pub use crate::event::Event;
pub use crate::tools::{ToolDef, ToolInvocation};

/// A chat message of `complete_llm` (`role`, `content`).
pub type ChatMessage = crate::broker::Message;

/// A boxed, sendable future (what the handler traits return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Handles each `broker.event`. Implemented for every `Fn(String, Event, BrokerSender) -> impl Future<Output = ()>`.
pub trait BrokerEventHandler: Send + Sync + 'static {
    /// Handle one event.
    fn handle(&self, topic: String, event: Event, broker: BrokerSender) -> BoxFuture<'static, ()>;
}

impl<F, Fut> BrokerEventHandler for F
where
    F: Fn(String, Event, BrokerSender) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn handle(&self, topic: String, event: Event, broker: BrokerSender) -> BoxFuture<'static, ()> {
        Box::pin((self)(topic, event, broker))
    }
}

/// Runs at `shutdown`, before the reply; `Err(message)` makes the reply a -32000 error.
pub trait ShutdownHandler: Send + Sync + 'static {
    /// Run the hook.
    fn handle(&self) -> BoxFuture<'static, Result<(), String>>;
}

impl<F, Fut> ShutdownHandler for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn handle(&self) -> BoxFuture<'static, Result<(), String>> {
        Box::pin((self)())
    }
}

/// A `tool.invoke` failure, one variant per contract code.
#[non_exhaustive]
#[derive(Debug)]
pub enum ToolInvocationError {
    /// -33401: the plugin does not implement this tool.
    NotFound(String),
    /// -33402: the arguments are wrong.
    ArgumentInvalid(String),
    /// -33403: the tool ran and failed.
    ExecutionFailed(String),
    /// -33404: cannot run now.
    Unavailable(String),
    /// -33405: the caller may not use it.
    Denied(String),
}

impl ToolInvocationError {
    /// The JSON-RPC error code of the variant.
    pub fn code(&self) -> i32 {
        match self {
            Self::NotFound(_) => -33401,
            Self::ArgumentInvalid(_) => -33402,
            Self::ExecutionFailed(_) => -33403,
            Self::Unavailable(_) => -33404,
            Self::Denied(_) => -33405,
        }
    }
}

impl fmt::Display for ToolInvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(m) => write!(f, "tool not found: {m}"),
            Self::ArgumentInvalid(m) => write!(f, "invalid argument: {m}"),
            Self::ExecutionFailed(m) => write!(f, "execution failed: {m}"),
            Self::Unavailable(m) => write!(f, "unavailable: {m}"),
            Self::Denied(m) => write!(f, "denied: {m}"),
        }
    }
}

impl std::error::Error for ToolInvocationError {}

impl ToolInvocationError {
    /// This crate's ToolError with the variant's code and message (`?` alone would make any error a -33403).
    pub fn into_tool_error(self) -> ToolError {
        ToolError::with_code(i64::from(self.code()), self.to_string())
    }
}

/// A `tool.invoke` handler. Implemented for every `Fn(ToolInvocation) -> impl Future<Output = Result<Value, ToolInvocationError>>`.
pub trait ToolHandler: Send + Sync + 'static {
    /// Handle one call.
    fn call(&self, invocation: ToolInvocation) -> BoxFuture<'static, Result<Value, ToolInvocationError>>;
}

impl<F, Fut> ToolHandler for F
where
    F: Fn(ToolInvocation) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, ToolInvocationError>> + Send + 'static,
{
    fn call(&self, invocation: ToolInvocation) -> BoxFuture<'static, Result<Value, ToolInvocationError>> {
        Box::pin((self)(invocation))
    }
}

/// What a context-aware tool handler gets besides the invocation.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// Publish and call the host from inside the tool.
    pub broker: BrokerSender,
    /// `[plugin].id` of the manifest.
    pub plugin_id: String,
}

/// A `tool.invoke` handler with a ToolContext. Implemented for every `Fn(ToolInvocation, ToolContext) -> impl Future<...>`.
pub trait ToolHandlerWithContext: Send + Sync + 'static {
    /// Handle one call.
    fn call(&self, invocation: ToolInvocation, ctx: ToolContext) -> BoxFuture<'static, Result<Value, ToolInvocationError>>;
}

impl<F, Fut> ToolHandlerWithContext for F
where
    F: Fn(ToolInvocation, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, ToolInvocationError>> + Send + 'static,
{
    fn call(&self, invocation: ToolInvocation, ctx: ToolContext) -> BoxFuture<'static, Result<Value, ToolInvocationError>> {
        Box::pin((self)(invocation, ctx))
    }
}

/// A failed request to the host.
#[derive(Debug)]
pub enum RpcError {
    /// The host answered with a JSON-RPC error (-32603 not configured, -32602 bad params, -32601 not wired).
    Server {
        /// Its code.
        code: i32,
        /// Its message.
        message: String,
    },
    /// No reply within the deadline (default 30 s); a late reply is dropped.
    Timeout(Duration),
    /// Could not send, or the plugin is shutting down.
    Transport(String),
    /// The reply does not have the expected shape.
    Decode(String),
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Server { code, message } => write!(f, "rpc error {code}: {message}"),
            RpcError::Timeout(d) => write!(f, "rpc request timed out after {d:?}"),
            RpcError::Transport(m) => write!(f, "rpc transport closed before reply: {m}"),
            RpcError::Decode(m) => write!(f, "rpc decode error: {m}"),
        }
    }
}

impl std::error::Error for RpcError {}

impl From<HostCallError> for RpcError {
    fn from(e: HostCallError) -> RpcError {
        match e {
            HostCallError::Rpc(r) => RpcError::Server { code: r.code as i32, message: r.message },
            HostCallError::Timeout { timeout_ms, .. } => RpcError::Timeout(Duration::from_millis(timeout_ms)),
            HostCallError::BadReply { method, reason } => RpcError::Decode(format!("{method}: {reason}")),
            other => RpcError::Transport(other.to_string()),
        }
    }
}

/// Params of `complete_llm`: unset `max_tokens` / `temperature` are the host's defaults (4096 / 0.7).
#[derive(Debug, Clone, Default)]
pub struct LlmCompleteParams {
    /// Provider name as the operator configured it.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// The prompt.
    pub messages: Vec<ChatMessage>,
    /// Token cap.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// A system prompt.
    pub system_prompt: Option<String>,
}

impl LlmCompleteParams {
    fn native(self) -> crate::broker::LlmCompleteParams {
        let mut p = crate::broker::LlmCompleteParams::new(self.messages);
        p.provider = Some(self.provider);
        p.model = Some(self.model);
        if let Some(m) = self.max_tokens {
            p.max_tokens = m;
        }
        if let Some(t) = self.temperature {
            p.temperature = f64::from(t);
        }
        p.system_prompt = self.system_prompt;
        p
    }
}

/// Token usage of a completion.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TokenCount {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u32,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u32,
}

/// Result of `complete_llm`; `content` is empty on a streamed call (the chunks were the content).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LlmCompleteResult {
    /// The assistant's text.
    #[serde(default)]
    pub content: String,
    /// `stop`, `length`, `tool_use` or `other:<reason>`.
    pub finish_reason: String,
    /// Token usage.
    #[serde(default)]
    pub usage: TokenCount,
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, RpcError> {
    serde_json::from_value(v).map_err(|e| RpcError::Decode(format!("{what}: {e}")))
}

fn completion(c: crate::broker::LlmCompletion) -> LlmCompleteResult {
    let usage = c.usage.and_then(|u| serde_json::from_value(u).ok()).unwrap_or_default();
    LlmCompleteResult { content: c.content.unwrap_or_default(), finish_reason: c.finish_reason, usage }
}

/// Publish events and call the host. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BrokerSender(crate::BrokerSender);

impl BrokerSender {
    /// This crate's native sender (subscriptions, acked publishes, per-sender deadlines...).
    pub fn native(&self) -> &crate::BrokerSender {
        &self.0
    }

    /// Any host method; `timeout` defaults to 30 s.
    pub async fn request(&self, method: &str, params: Value, timeout: Option<Duration>) -> Result<Value, RpcError> {
        let sender = match timeout {
            Some(t) => self.0.with_timeout(t),
            None => self.0.clone(),
        };
        Ok(sender.request(method, params).await?)
    }

    /// `memory.recall`: up to `limit` entries of `agent_id` matching `query`.
    pub async fn recall_memory(&self, agent_id: &str, query: &str, limit: u64) -> Result<Vec<MemoryEntry>, RpcError> {
        let r = self.request("memory.recall", serde_json::json!({ "agent_id": agent_id, "query": query, "limit": limit }), None).await?;
        decode("memory.recall entries", r.get("entries").cloned().unwrap_or(Value::Null))
    }

    /// `llm.complete` in one reply.
    pub async fn complete_llm(&self, p: LlmCompleteParams) -> Result<LlmCompleteResult, RpcError> {
        Ok(completion(self.0.llm_complete(p.native()).await?))
    }

    /// `llm.complete` streamed: `next_chunk()` yields the text chunks, then `await_final()` the result.
    pub async fn complete_llm_stream(&self, p: LlmCompleteParams) -> Result<LlmStream, RpcError> {
        let (chunk_tx, chunks) = mpsc::unbounded_channel::<String>();
        let (final_tx, finished) = oneshot::channel();
        let sender = self.0.clone();
        tokio::spawn(async move {
            let r = sender
                .llm_complete_stream(p.native(), move |chunk| {
                    if let Value::String(s) = chunk {
                        let _ = chunk_tx.send(s);
                    }
                })
                .await;
            let r = match r {
                Ok(done) => Ok(completion(done)),
                Err(e) => Err(RpcError::from(e)),
            };
            let _ = final_tx.send(r);
        });
        Ok(LlmStream { chunks, finished: Some(finished) })
    }

    /// `broker.publish`; the event gets the handled event's id as `correlation_id` when it has none.
    pub async fn publish(&self, topic: &str, event: Event) -> std::io::Result<()> {
        self.0.publish(topic, event).await.map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// A streamed completion: text chunks, then the final result.
#[derive(Debug)]
pub struct LlmStream {
    chunks: mpsc::UnboundedReceiver<String>,
    finished: Option<oneshot::Receiver<Result<LlmCompleteResult, RpcError>>>,
}

impl LlmStream {
    /// The next chunk; None once the host sent its final reply.
    pub async fn next_chunk(&mut self) -> Option<String> {
        self.chunks.recv().await
    }

    /// The final result (its `content` is empty); the host's error as `RpcError::Server`.
    pub async fn await_final(mut self) -> Result<LlmCompleteResult, RpcError> {
        let rx = self.finished.take().ok_or_else(|| RpcError::Transport("await_final already consumed".into()))?;
        rx.await.unwrap_or_else(|_| Err(RpcError::Transport("the plugin stopped before the final reply".into())))
    }
}

/// The upstream builder: `new(manifest)?`, handlers, `run_stdio().await`.
pub struct PluginAdapter {
    inner: crate::PluginAdapter,
    plugin_id: String,
    on_broker_event: Option<Arc<dyn BrokerEventHandler>>,
    on_shutdown: Option<Arc<dyn ShutdownHandler>>,
    tool_handler: Option<Arc<dyn ToolHandler>>,
    tool_handler_with_context: Option<Arc<dyn ToolHandlerWithContext>>,
}

impl fmt::Debug for PluginAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginAdapter").field("plugin_id", &self.plugin_id).finish()
    }
}

impl PluginAdapter {
    /// Parse the manifest; `Err` when it is not TOML or has no valid `[plugin].id`.
    pub fn new(manifest_toml: &str) -> Result<Self, ManifestError> {
        let inner = crate::PluginAdapter::try_new(manifest_toml)?;
        let plugin_id = crate::Manifest::parse(manifest_toml)?.id;
        Ok(PluginAdapter { inner, plugin_id, on_broker_event: None, on_shutdown: None, tool_handler: None, tool_handler_with_context: None })
    }

    /// `initialize`'s `server_version` (default `<id>-<version>`).
    pub fn with_server_version(mut self, version: impl Into<String>) -> Self {
        self.inner = self.inner.server_version(version);
        self
    }

    /// The handler of each `broker.event` (events run one at a time, in order).
    pub fn on_broker_event<H: BrokerEventHandler>(mut self, handler: H) -> Self {
        self.on_broker_event = Some(Arc::new(handler));
        self
    }

    /// The tools advertised in `initialize`; each must be listed in `[plugin.extends].tools`.
    pub fn declare_tools(mut self, defs: impl IntoIterator<Item = ToolDef>) -> Self {
        self.inner = self.inner.tools(defs.into_iter().collect());
        self
    }

    /// The `tool.invoke` handler.
    pub fn on_tool<H: ToolHandler>(mut self, handler: H) -> Self {
        self.tool_handler = Some(Arc::new(handler));
        self
    }

    /// The `tool.invoke` handler with a ToolContext; wins over `on_tool` when both are set.
    pub fn on_tool_with_context<H: ToolHandlerWithContext>(mut self, handler: H) -> Self {
        self.tool_handler_with_context = Some(Arc::new(handler));
        self
    }

    /// The shutdown hook.
    pub fn on_shutdown<H: ShutdownHandler>(mut self, handler: H) -> Self {
        self.on_shutdown = Some(Arc::new(handler));
        self
    }

    /// A sender usable before `run_stdio` (e.g. for a poller task).
    pub fn broker(&self) -> BrokerSender {
        BrokerSender(self.inner.broker())
    }

    /// This crate's native adapter with the handlers registered so far, to use native builder options.
    pub fn into_native(self) -> crate::PluginAdapter {
        let PluginAdapter { mut inner, plugin_id, on_broker_event, on_shutdown, tool_handler, tool_handler_with_context } = self;
        if let Some(h) = on_broker_event {
            inner = inner.on_event(move |topic, event, broker| {
                let fut = h.handle(topic, event, BrokerSender(broker));
                async move {
                    fut.await;
                    Ok(())
                }
            });
        }
        if let Some(h) = tool_handler_with_context {
            inner = inner.on_tool(move |inv, ctx| {
                let fut = h.call(inv, ToolContext { broker: BrokerSender(ctx.broker), plugin_id: plugin_id.clone() });
                async move { fut.await.map_err(ToolInvocationError::into_tool_error) }
            });
        } else if let Some(h) = tool_handler {
            inner = inner.on_tool(move |inv, _ctx| {
                let fut = h.call(inv);
                async move { fut.await.map_err(ToolInvocationError::into_tool_error) }
            });
        }
        if let Some(h) = on_shutdown {
            inner = inner.on_shutdown(move || {
                let fut = h.handle();
                async move { fut.await.map_err(crate::BoxError::from) }
            });
        }
        inner
    }

    /// Serve on stdin/stdout until `shutdown`, SIGTERM/SIGINT or stdin EOF; then the process exits 0.
    pub async fn run_stdio(self) -> std::io::Result<()> {
        self.into_native().run().await
    }

    /// Serve over tokio byte streams (tests drive it with `tokio::io::duplex`): no stdout
    /// guard, no signals, never exits the process; returns once the plugin shut down.
    /// The streams are bridged to the adapter's blocking reader and writer through pipes.
    pub async fn run<R, W>(self, reader: R, writer: W) -> std::io::Result<()>
    where
        R: tokio::io::AsyncBufRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        use std::io::{Read, Write};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (plugin_reads, mut into_plugin) = std::io::pipe()?;
        let (mut from_plugin, plugin_writes) = std::io::pipe()?;
        // Host to plugin: async reads, blocking pipe writes on a thread; EOF closes the pipe.
        let (in_tx, in_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for chunk in in_rx {
                if into_plugin.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let mut reader = reader;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = reader.read(&mut buf).await {
                if in_tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        // Plugin to host: blocking pipe reads on a thread, async writes.
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = from_plugin.read(&mut buf) {
                if out_tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut writer = writer;
        let pump = tokio::spawn(async move {
            while let Some(chunk) = out_rx.recv().await {
                if writer.write_all(&chunk).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
        });
        let served = self.into_native().run_on(plugin_reads, plugin_writes).await;
        // The adapter closed its writer: the pump ends once the last frames reached `writer`.
        let _ = pump.await;
        served
    }
}
