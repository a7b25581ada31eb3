//! The plugin's view of the host: publish events, subscribe, call host services.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};

use crate::errors::{BoxError, FrameError, HostCallError, RpcError};
use crate::event::Event;
use crate::framing::{encode_frame, Outgoing};

/// Default deadline of a plugin-to-host request (contract: 30 s).
pub const DEFAULT_HOST_CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type SubscriptionFn = Arc<dyn Fn(String, Event) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
type DeltaFn = Box<dyn FnMut(Value) + Send>;

struct Pending {
    method: String,
    reply: oneshot::Sender<Result<Value, HostCallError>>,
    on_delta: Option<DeltaFn>,
}

/// The plugin's own requests in flight. Bounded by the calls the plugin has
/// made, each with a deadline; `closed` refuses new ones once shutdown began.
#[derive(Default)]
struct CallTable {
    closed: bool,
    pending: HashMap<u64, Pending>,
}

/// What the adapter and every `BrokerSender` clone share.
pub(crate) struct Shared {
    pub(crate) plugin_id: String,
    pub(crate) max_frame_bytes: AtomicUsize,
    pub(crate) host_call_timeout_ms: AtomicU64,
    out: mpsc::Sender<Outgoing>,
    calls: Mutex<CallTable>,
    next_id: AtomicU64,
    pub(crate) subscriptions: Mutex<HashMap<String, SubscriptionFn>>,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) shutdown: watch::Sender<bool>,
}

#[derive(Serialize)]
struct RequestFrame<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: &'a P,
}

#[derive(Serialize)]
struct NotificationFrame<'a, P: Serialize> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a P,
}

#[derive(Serialize)]
struct PublishParams<'a> {
    topic: &'a str,
    event: &'a Event,
}

impl Shared {
    pub(crate) fn new(plugin_id: String, out: mpsc::Sender<Outgoing>) -> Self {
        Shared {
            plugin_id,
            max_frame_bytes: AtomicUsize::new(crate::MAX_FRAME_BYTES),
            host_call_timeout_ms: AtomicU64::new(DEFAULT_HOST_CALL_TIMEOUT.as_millis() as u64),
            out,
            calls: Mutex::new(CallTable::default()),
            next_id: AtomicU64::new(1),
            subscriptions: Mutex::new(HashMap::new()),
            events_dropped: AtomicU64::new(0),
            shutdown: watch::channel(false).0,
        }
    }

    /// One line on stderr, tagged with the plugin id. Never panics (unlike `eprintln!`) if stderr is gone.
    pub(crate) fn log(&self, message: impl std::fmt::Display) {
        let _ = writeln!(std::io::stderr(), "[{}] {message}", self.plugin_id);
    }

    /// Encode and queue one frame for the writer; waits while the writer's queue is full.
    pub(crate) async fn send_frame(&self, frame: &impl Serialize) -> Result<(), FrameError> {
        let line = encode_frame(frame, self.max_frame_bytes.load(Ordering::Relaxed))?;
        self.out.send(Outgoing::Frame(line)).await.map_err(|_| FrameError::Closed)
    }

    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.out.send(Outgoing::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn notify(&self, method: &str, params: &impl Serialize) -> Result<(), FrameError> {
        self.send_frame(&NotificationFrame { jsonrpc: "2.0", method, params }).await
    }

    /// Send `method` as a request and wait for its reply, the deadline or shutdown.
    pub(crate) async fn request(&self, method: &str, params: &impl Serialize, timeout: Option<Duration>, on_delta: Option<DeltaFn>) -> Result<Value, HostCallError> {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            // Checking `closed` under the same lock as the insert: a call cannot slip in after `close_calls` emptied the table.
            let mut t = self.calls.lock().unwrap();
            if t.closed {
                return Err(HostCallError::ShuttingDown { method: method.to_string() });
            }
            t.pending.insert(id, Pending { method: method.to_string(), reply: tx, on_delta });
        }
        if let Err(e) = self.send_frame(&RequestFrame { jsonrpc: "2.0", id, method, params }).await {
            self.calls.lock().unwrap().pending.remove(&id);
            return Err(e.into());
        }
        let limit = timeout.unwrap_or_else(|| Duration::from_millis(self.host_call_timeout_ms.load(Ordering::Relaxed)));
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(HostCallError::ShuttingDown { method: method.to_string() }),
            Err(_) => {
                self.calls.lock().unwrap().pending.remove(&id);
                Err(HostCallError::Timeout { method: method.to_string(), timeout_ms: limit.as_millis() as u64 })
            }
        }
    }

    /// Route a response frame; false when no call of ours has that id (late, or after its deadline).
    pub(crate) fn on_response(&self, frame: &Map<String, Value>) -> bool {
        let Some(id) = frame.get("id").and_then(Value::as_u64) else { return false };
        let Some(p) = self.calls.lock().unwrap().pending.remove(&id) else { return false };
        let outcome = match frame.get("error") {
            Some(e @ Value::Object(_)) => Err(HostCallError::Rpc(RpcError::from_value(e))),
            _ => Ok(frame.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = p.reply.send(outcome);
        true
    }

    /// Hand a streamed chunk (`llm.complete.delta {request_id, chunk}`) to its call.
    pub(crate) fn on_delta(&self, request_id: &Value, chunk: Value) -> bool {
        let id = match request_id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let Some(id) = id else { return false };
        let mut t = self.calls.lock().unwrap();
        match t.pending.get_mut(&id).and_then(|p| p.on_delta.as_mut()) {
            Some(f) => {
                f(chunk);
                true
            }
            None => false,
        }
    }

    /// Refuse new calls and fail every pending one (shutdown: handlers waiting on the host would hold the drain).
    pub(crate) fn close_calls(&self) {
        let pending: Vec<Pending> = {
            let mut t = self.calls.lock().unwrap();
            t.closed = true;
            t.pending.drain().map(|(_, p)| p).collect()
        };
        for p in pending {
            let _ = p.reply.send(Err(HostCallError::ShuttingDown { method: p.method }));
        }
    }
}

/// One entry of a `memory.recall` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub agent_id: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub concept_tags: Vec<String>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub memory_type: String,
    /// Fields a newer host adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `memory.recall`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryRecall {
    #[serde(default)]
    pub entries: Vec<MemoryEntry>,
}

/// One chat message of `llm.complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message { role: role.into(), content: content.into() }
    }
    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::new("user", content)
    }
}

/// Options of `memory.recall` (`BrokerSender::memory_recall_with`): `limit` defaults
/// to the contract's 10; `timeout`, when set, is this call's deadline instead of the sender's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryRecallParams {
    pub agent_id: String,
    pub query: String,
    pub limit: u32,
    /// Not sent: the deadline the SDK waits for the reply.
    #[serde(skip)]
    pub timeout: Option<Duration>,
}

impl MemoryRecallParams {
    /// A recall of `query` in `agent_id`'s memory, with the contract's default limit (10) and the sender's deadline.
    pub fn new(agent_id: impl Into<String>, query: impl Into<String>) -> Self {
        MemoryRecallParams { agent_id: agent_id.into(), query: query.into(), limit: 10, timeout: None }
    }

    /// At most `limit` entries (the contract's maximum is 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Wait at most `timeout` for the host's reply.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Params of `llm.complete`; `max_tokens` defaults to 4096 and `temperature` to 0.7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmCompleteParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
}

impl LlmCompleteParams {
    /// The given messages with the contract's defaults for everything else.
    pub fn new(messages: Vec<Message>) -> Self {
        LlmCompleteParams { provider: None, model: None, messages, max_tokens: 4096, temperature: 0.7, system_prompt: None }
    }
}

#[derive(Serialize)]
struct LlmWire<'a> {
    #[serde(flatten)]
    params: &'a LlmCompleteParams,
    /// Sent only when true: a plain call carries no `stream` member (as the reference SDKs send it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

/// The result of `llm.complete` (`content` is absent on a streamed call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmCompletion {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub finish_reason: String,
    #[serde(default)]
    pub usage: Option<Value>,
    /// Fields a newer host adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Publish events and call host services. Cheap to clone; every clone writes
/// through the adapter's one serialized writer, so frames never interleave.
/// Usable before `run()` (frames wait for the writer to start).
#[derive(Clone)]
pub struct BrokerSender {
    pub(crate) shared: Arc<Shared>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for BrokerSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerSender").field("plugin_id", &self.shared.plugin_id).field("timeout", &self.timeout).finish()
    }
}

impl BrokerSender {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        BrokerSender { shared, timeout: None }
    }

    /// A sender whose host calls use `timeout` instead of the adapter's default (30 s).
    pub fn with_timeout(&self, timeout: Duration) -> BrokerSender {
        BrokerSender { shared: self.shared.clone(), timeout: Some(timeout) }
    }

    /// `broker.publish` as a notification; the host drops (and logs) what is outside the allowlist.
    /// Fails only if the frame is over the size limit or the plugin has shut down.
    ///
    /// ```no_run
    /// # async fn f(broker: nexo_plugin_sdk::BrokerSender) -> Result<(), nexo_plugin_sdk::FrameError> {
    /// use nexo_plugin_sdk::Event;
    /// let t = "plugin.inbound.webhook";
    /// broker.publish(t, Event::new(t, "my_plugin", serde_json::json!({ "ok": true }))).await
    /// # }
    /// ```
    pub async fn publish(&self, topic: &str, event: Event) -> Result<(), FrameError> {
        let event = crate::event::outgoing(event);
        self.shared.notify("broker.publish", &PublishParams { topic, event: &event }).await
    }

    /// `broker.publish` as a request: `Ok` once the host accepted it, `Err(Rpc)` when refused (e.g. outside the allowlist).
    pub async fn publish_acked(&self, topic: &str, event: Event) -> Result<(), HostCallError> {
        let event = crate::event::outgoing(event);
        self.shared.request("broker.publish", &PublishParams { topic, event: &event }, self.timeout, None).await.map(|_| ())
    }

    /// `broker.subscribe {topic_pattern}`: matching events (within the allowlist)
    /// go to `handler`, in order with every other event. Returns the subscriber id.
    pub async fn subscribe<F, Fut>(&self, pattern: &str, handler: F) -> Result<String, HostCallError>
    where
        F: Fn(String, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let r = self.shared.request("broker.subscribe", &serde_json::json!({ "topic_pattern": pattern }), self.timeout, None).await?;
        let id = match r.get("subscriber_id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(HostCallError::BadReply { method: "broker.subscribe".into(), reason: "no subscriber_id".into() }),
        };
        let f: SubscriptionFn = Arc::new(move |topic, event| Box::pin(handler(topic, event)));
        self.shared.subscriptions.lock().unwrap().insert(id.clone(), f);
        Ok(id)
    }

    /// `broker.unsubscribe`: the handler stops at once, then the host is told.
    pub async fn unsubscribe(&self, subscriber_id: &str) -> Result<(), HostCallError> {
        self.shared.subscriptions.lock().unwrap().remove(subscriber_id);
        self.shared.request("broker.unsubscribe", &serde_json::json!({ "subscriber_id": subscriber_id }), self.timeout, None).await.map(|_| ())
    }

    /// `memory.recall {agent_id, query, limit}` (the contract's default limit is 10, max 1000).
    pub async fn memory_recall(&self, agent_id: &str, query: &str, limit: u32) -> Result<MemoryRecall, HostCallError> {
        self.memory_recall_with(MemoryRecallParams::new(agent_id, query).limit(limit)).await
    }

    /// `memory.recall` with its options in one value, as the other SDKs take them:
    /// `limit` defaults to 10 and `timeout` (when set) replaces this sender's deadline for this call.
    ///
    /// ```no_run
    /// # async fn f(broker: nexo_plugin_sdk::BrokerSender) -> Result<(), nexo_plugin_sdk::HostCallError> {
    /// use nexo_plugin_sdk::MemoryRecallParams;
    /// use std::time::Duration;
    /// let found = broker.memory_recall_with(MemoryRecallParams::new("a1", "cats").limit(5).timeout(Duration::from_secs(2))).await?;
    /// # let _ = found; Ok(())
    /// # }
    /// ```
    pub async fn memory_recall_with(&self, params: MemoryRecallParams) -> Result<MemoryRecall, HostCallError> {
        let timeout = params.timeout.or(self.timeout);
        let r = self.shared.request("memory.recall", &params, timeout, None).await?;
        decode_reply("memory.recall", r)
    }

    /// `llm.complete` answered in one reply.
    pub async fn llm_complete(&self, params: LlmCompleteParams) -> Result<LlmCompletion, HostCallError> {
        let r = self.shared.request("llm.complete", &LlmWire { params: &params, stream: false }, self.timeout, None).await?;
        decode_reply("llm.complete", r)
    }

    /// `llm.complete` with `stream: true`: `on_delta` gets each `llm.complete.delta`
    /// chunk in order (on the SDK's dispatch task: keep it short), then the final reply returns.
    pub async fn llm_complete_stream(&self, params: LlmCompleteParams, on_delta: impl FnMut(Value) + Send + 'static) -> Result<LlmCompletion, HostCallError> {
        let r = self.shared.request("llm.complete", &LlmWire { params: &params, stream: true }, self.timeout, Some(Box::new(on_delta))).await?;
        decode_reply("llm.complete", r)
    }

    /// Any other plugin-to-host request, for methods this SDK does not wrap yet.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, HostCallError> {
        self.shared.request(method, &params, self.timeout, None).await
    }

    /// A streamed request for methods this SDK does not wrap: `on_delta` gets each
    /// `<method>.delta {request_id, chunk}` chunk of this call, then the final reply returns.
    pub async fn request_streaming(&self, method: &str, params: Value, on_delta: impl FnMut(Value) + Send + 'static) -> Result<Value, HostCallError> {
        self.shared.request(method, &params, self.timeout, Some(Box::new(on_delta))).await
    }

    /// `broker.event`s dropped because the adapter's event queue was full.
    pub fn events_dropped(&self) -> u64 {
        self.shared.events_dropped.load(Ordering::Relaxed)
    }

    /// The id from the manifest.
    pub fn plugin_id(&self) -> &str {
        &self.shared.plugin_id
    }
}

fn decode_reply<T: serde::de::DeserializeOwned>(method: &str, v: Value) -> Result<T, HostCallError> {
    serde_json::from_value(v).map_err(|e| HostCallError::BadReply { method: method.into(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn llm_params_carry_the_contract_defaults_and_skip_unset_fields() {
        let p = LlmCompleteParams::new(vec![Message::user("hi")]);
        let v = serde_json::to_value(LlmWire { params: &p, stream: true }).unwrap();
        assert_eq!(v, json!({ "messages": [{ "role": "user", "content": "hi" }], "max_tokens": 4096, "temperature": 0.7, "stream": true }));
    }

    #[test]
    fn replies_decode_leniently_and_keep_unknown_fields() {
        let r: MemoryRecall = decode_reply("memory.recall", json!({ "entries": [{ "id": "m1", "content": "cats", "score": 0.9 }] })).unwrap();
        assert_eq!(r.entries[0].id, "m1");
        assert_eq!(r.entries[0].extra["score"], json!(0.9));
        let c: LlmCompletion = decode_reply("llm.complete", json!({ "finish_reason": "stop" })).unwrap();
        assert_eq!(c.content, None);
        assert!(matches!(decode_reply::<MemoryRecall>("memory.recall", json!({ "entries": 5 })), Err(HostCallError::BadReply { .. })));
    }

    /// The frame the sender wrote, as JSON.
    async fn sent_frame(rx: &mut mpsc::Receiver<Outgoing>) -> Value {
        match rx.recv().await {
            Some(Outgoing::Frame(bytes)) => serde_json::from_slice(&bytes).unwrap(),
            _ => panic!("expected a frame"),
        }
    }

    #[tokio::test]
    async fn memory_recall_options_default_the_limit_send_the_same_params_as_the_positional_form_and_bound_the_wait() {
        let (tx, mut rx) = mpsc::channel(16);
        let broker = BrokerSender::new(Arc::new(Shared::new("t".into(), tx)));
        let b = broker.clone();
        let positional = tokio::spawn(async move { b.with_timeout(Duration::from_millis(30)).memory_recall("a1", "cats", 5).await });
        let frame = sent_frame(&mut rx).await;
        assert_eq!(frame["method"], "memory.recall");
        assert_eq!(frame["params"], json!({ "agent_id": "a1", "query": "cats", "limit": 5 }));
        assert!(matches!(positional.await.unwrap(), Err(HostCallError::Timeout { timeout_ms: 30, .. })));

        let b = broker.clone();
        let options = tokio::spawn(async move { b.memory_recall_with(MemoryRecallParams::new("a1", "cats").limit(5).timeout(Duration::from_millis(20))).await });
        let frame = sent_frame(&mut rx).await;
        assert_eq!(frame["params"], json!({ "agent_id": "a1", "query": "cats", "limit": 5 }), "the deadline is not sent");
        assert!(matches!(options.await.unwrap(), Err(HostCallError::Timeout { timeout_ms: 20, .. })), "the call's own deadline, not the default 30 s");

        let b = broker.with_timeout(Duration::from_millis(10));
        let defaults = tokio::spawn(async move { b.memory_recall_with(MemoryRecallParams::new("a2", "dogs")).await });
        assert_eq!(sent_frame(&mut rx).await["params"], json!({ "agent_id": "a2", "query": "dogs", "limit": 10 }));
        assert!(matches!(defaults.await.unwrap(), Err(HostCallError::Timeout { timeout_ms: 10, .. })), "without its own deadline, the sender's");
    }

    #[tokio::test]
    async fn close_calls_fails_pending_and_refuses_new_ones() {
        let (tx, mut rx) = mpsc::channel(16);
        let shared = Arc::new(Shared::new("t".into(), tx));
        let s2 = shared.clone();
        let call = tokio::spawn(async move { s2.request("memory.recall", &json!({}), None, None).await });
        assert!(matches!(rx.recv().await, Some(Outgoing::Frame(_))));
        shared.close_calls();
        assert!(matches!(call.await.unwrap(), Err(HostCallError::ShuttingDown { .. })));
        assert!(matches!(shared.request("llm.complete", &json!({}), None, None).await, Err(HostCallError::ShuttingDown { .. })));
    }

    #[tokio::test]
    async fn responses_route_by_id_and_late_ones_are_refused() {
        let (tx, mut rx) = mpsc::channel(16);
        let shared = Arc::new(Shared::new("t".into(), tx));
        let s2 = shared.clone();
        let call = tokio::spawn(async move { s2.request("x", &json!({}), Some(Duration::from_secs(5)), None).await });
        let Some(Outgoing::Frame(line)) = rx.recv().await else { panic!("no frame") };
        let req: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(req["method"], "x");
        let id = req["id"].clone();
        let err = json!({ "id": id, "error": { "code": -32603, "message": "not configured" } });
        assert!(shared.on_response(err.as_object().unwrap()));
        match call.await.unwrap() {
            Err(HostCallError::Rpc(e)) => assert_eq!((e.code, e.message.as_str()), (-32603, "not configured")),
            other => panic!("{other:?}"),
        }
        assert!(!shared.on_response(json!({ "id": id, "result": 1 }).as_object().unwrap()), "answered twice");
    }
}
