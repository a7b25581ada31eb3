//! `PluginAdapter`: speaks the nexo plugin contract over stdin/stdout.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, Notify};

use crate::broker::{BoxFuture, BrokerSender, Shared, SubscriptionFn};
use crate::channels::{channel_request, ChannelError, ChannelRequest, HookInvocation};
use crate::errors::{codes, BoxError, ManifestError, ToolError};
use crate::event::Event;
use crate::framing::{spawn_writer, BadLine, LineDecoder, Outgoing, OUT_QUEUE_FRAMES};
use crate::manifest::Manifest;
use crate::stdout_guard::{self, StdoutGuard};
use crate::tools::{reply_topic, tool_topic, ToolContext, ToolDef, ToolInvocation};

type EventFn = Arc<dyn Fn(String, Event, BrokerSender) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
type ToolFn = Arc<dyn Fn(ToolInvocation, ToolContext) -> BoxFuture<Result<Value, ToolError>> + Send + Sync>;
type ConfigureFn = Arc<dyn Fn(Value) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
type ShutdownFn = Box<dyn FnOnce() -> BoxFuture<Result<(), BoxError>> + Send>;
type ChannelFn = Arc<dyn Fn(ChannelRequest, ToolContext) -> BoxFuture<Result<Value, ChannelError>> + Send + Sync>;
type HookFn = Arc<dyn Fn(HookInvocation, ToolContext) -> BoxFuture<Result<Value, BoxError>> + Send + Sync>;
type TopicToolFn = Arc<dyn Fn(Value, Event) -> BoxFuture<Result<Value, ToolError>> + Send + Sync>;

/// Lines from the host waiting for dispatch; the reader thread waits beyond it.
const IN_QUEUE_FRAMES: usize = 256;

/// Set when the plugin starts shutting down; hand it to background tasks (pollers, connections) so they stop.
#[derive(Clone, Debug)]
pub struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    /// True once shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when shutdown begins (at once if it already has).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}

/// Runs a plugin: speaks the contract on stdin/stdout, dispatches events (in
/// order, one at a time) and tool calls (concurrently) to your handlers, and
/// shuts down cleanly on `shutdown`, SIGTERM/SIGINT or stdin EOF: new work is
/// refused, pending host calls fail, in-flight handlers drain, `on_shutdown`
/// runs, the host gets `{ok: true}`, and the process exits 0.
///
/// ```no_run
/// use nexo_plugin_sdk::{Event, PluginAdapter};
///
/// const MANIFEST: &str = r#"
/// [plugin]
/// id = "my_plugin"
/// version = "0.1.0"
/// [plugin.entrypoint]
/// command = "./target/release/my_plugin"
/// [[plugin.channels.register]]
/// kind = "my_plugin"
/// "#;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     PluginAdapter::new(MANIFEST)
///         .on_event(|topic, event, broker| async move {
///             let out = topic.replace("plugin.outbound.", "plugin.inbound.");
///             broker.publish(&out, Event::new(&out, "my_plugin", event.payload)).await?;
///             Ok(())
///         })
///         .run()
///         .await
/// }
/// ```
pub struct PluginAdapter {
    shared: Arc<Shared>,
    manifest: Manifest,
    server_version: Option<String>,
    tools: Vec<ToolDef>,
    on_event: Option<EventFn>,
    on_tool: Option<ToolFn>,
    on_configure: Option<ConfigureFn>,
    on_shutdown: Option<ShutdownFn>,
    on_channel: Option<ChannelFn>,
    on_hook: Option<HookFn>,
    topic_tools: HashMap<String, TopicToolFn>,
    enable_stdout_guard: bool,
    handle_process_signals: bool,
    exit_on_shutdown: bool,
    max_queued_events: usize,
    drain_timeout: Duration,
    probe: bool,
    out_rx: mpsc::Receiver<Outgoing>,
}

impl std::fmt::Debug for PluginAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginAdapter").field("plugin_id", &self.manifest.id).field("tools", &self.tools).finish_non_exhaustive()
    }
}

impl PluginAdapter {
    /// An adapter for this manifest text (usually `include_str!("../nexo-plugin.toml")`).
    ///
    /// # Panics
    /// If the manifest is not TOML or has no `[plugin].id`; use [`PluginAdapter::try_new`] to handle that.
    pub fn new(manifest_toml: &str) -> Self {
        match Self::try_new(manifest_toml) {
            Ok(a) => a,
            Err(e) => panic!("PluginAdapter::new: {e}"),
        }
    }

    /// Like [`PluginAdapter::new`], returning the manifest problem instead of panicking.
    pub fn try_new(manifest_toml: &str) -> Result<Self, ManifestError> {
        let manifest = Manifest::parse(manifest_toml)?;
        crate::state_dir::set_adapter_plugin_id(&manifest.id);
        let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE_FRAMES);
        Ok(PluginAdapter {
            shared: Arc::new(Shared::new(manifest.id.clone(), out_tx)),
            manifest,
            server_version: None,
            tools: Vec::new(),
            on_event: None,
            on_tool: None,
            on_configure: None,
            on_shutdown: None,
            on_channel: None,
            on_hook: None,
            topic_tools: HashMap::new(),
            enable_stdout_guard: true,
            handle_process_signals: true,
            exit_on_shutdown: true,
            max_queued_events: 10_000,
            drain_timeout: Duration::from_secs(10),
            probe: false,
            out_rx,
        })
    }

    /// Each `broker.event`, one at a time, in arrival order. An error or panic is
    /// logged on stderr and the next event still runs.
    pub fn on_event<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(String, Event, BrokerSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_event = Some(Arc::new(move |t, e, b| Box::pin(handler(t, e, b))));
        self
    }

    /// Handles `tool.invoke`, concurrently with events. Return any JSON (usually
    /// [`crate::text_result`]); a [`ToolError`] chooses its code, any other error
    /// (via `?`) or a panic is -33403. Without a handler the plugin answers -32601.
    pub fn on_tool<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ToolInvocation, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        self.on_tool = Some(Arc::new(move |i, c| Box::pin(handler(i, c))));
        self
    }

    /// Handles the channel methods (`channel.start`, `channel.stop`,
    /// `channel.send_outbound`) for the kinds in `[plugin.extends] channels`,
    /// concurrently. Answer `{ok: true}` to start/stop and `{message_id,
    /// sent_at_unix}` to a send; a [`ChannelError`] picks the contract's -330xx
    /// code, a panic is -32603. Without a handler the methods answer -32601.
    pub fn on_channel<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ChannelRequest, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ChannelError>> + Send + 'static,
    {
        self.on_channel = Some(Arc::new(move |r, c| Box::pin(handler(r, c))));
        self
    }

    /// Answers `hook.on_hook` for the names in `[plugin.extends] hooks` with a
    /// HookResponse (`{}` allows); an error or panic is -32603, which the host
    /// treats as allow. Without a handler: -32601.
    pub fn on_hook<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(HookInvocation, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, BoxError>> + Send + 'static,
    {
        self.on_hook = Some(Arc::new(move |i, c| Box::pin(handler(i, c))));
        self
    }

    /// Tools advertised in `initialize` (omitted from the result when empty).
    pub fn tools(mut self, tools: Vec<ToolDef>) -> Self {
        self.tools = tools;
        self
    }

    /// The operator's config (`plugin.configure {value}`); an error refuses it (-32602 reply).
    pub fn on_configure<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_configure = Some(Arc::new(move |v| Box::pin(handler(v))));
        self
    }

    /// Runs once during shutdown, after in-flight handlers drained. An error makes the `shutdown` reply -32000.
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_shutdown = Some(Box::new(move || Box::pin(hook())));
        self
    }

    /// Serve a tool in the topic form of tools (docs/writing-plugins.md, Tools): a call arrives as an event
    /// on `plugin.tool.<name>`; the handler's value is published as `{result}` (or
    /// `{error: {code, message}}`) on `plugin.tool.<name>.reply` with the call's
    /// correlation id (else its id) and session id.
    pub fn on_topic_tool<F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(Value, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        self.topic_tools.insert(tool_topic(name), Arc::new(move |a, e| Box::pin(handler(a, e))));
        self
    }

    /// `initialize`'s `server_version`. Default `<id>-<version>`.
    pub fn server_version(mut self, version: impl Into<String>) -> Self {
        self.server_version = Some(version.into());
        self
    }

    /// Largest frame read or written. Default 1,048,576 (1 MiB). Longer input lines are logged and skipped.
    pub fn max_frame_bytes(self, bytes: usize) -> Self {
        self.shared.max_frame_bytes.store(bytes.max(64), Ordering::Relaxed);
        self
    }

    /// Deadline of host calls (memory.recall, llm.complete, broker.subscribe...). Default 30 s.
    pub fn host_call_timeout(self, timeout: Duration) -> Self {
        self.shared.host_call_timeout_ms.store(timeout.as_millis().max(1) as u64, Ordering::Relaxed);
        self
    }

    /// `broker.event`s waiting for `on_event`; beyond it new ones are dropped and counted (at-most-once). Default 10,000.
    pub fn max_queued_events(mut self, n: usize) -> Self {
        self.max_queued_events = n.max(1);
        self
    }

    /// How long shutdown waits for in-flight handlers before running `on_shutdown` anyway. Default 10 s.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Route whatever plugin code writes to fd 1 to stderr (`[stdout-guard] ` prefix). Default true (Unix).
    pub fn enable_stdout_guard(mut self, on: bool) -> Self {
        self.enable_stdout_guard = on;
        self
    }

    /// Drain and exit 0 on SIGTERM/SIGINT. Default true.
    pub fn handle_process_signals(mut self, on: bool) -> Self {
        self.handle_process_signals = on;
        self
    }

    /// Exit the process (code 0) once shut down. Default true; false makes `run()` return instead.
    pub fn exit_on_shutdown(mut self, on: bool) -> Self {
        self.exit_on_shutdown = on;
        self
    }

    /// Serve the `conformance_probe` tool when `nexo plugin test` started the plugin
    /// (`NEXO_CONFORMANCE_PROBE=1`; the daemon never sets it), so the runner can drive
    /// host calls, tool errors, a slow handler and stray prints. Your own tools and
    /// `on_tool` keep working; anywhere else this changes nothing.
    /// See conformance/README.md, "The probe".
    pub fn conformance_probe(mut self) -> Self {
        self.probe = crate::conformance::probe_requested();
        self
    }

    /// Publish and call host services; usable before `run()` (frames wait for the writer).
    pub fn broker(&self) -> BrokerSender {
        BrokerSender::new(self.shared.clone())
    }

    /// Set when shutdown begins; for background tasks that should stop with the plugin.
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        ShutdownSignal(self.shared.shutdown.subscribe())
    }

    /// `[plugin].id` of the manifest.
    pub fn plugin_id(&self) -> &str {
        &self.manifest.id
    }

    /// The whole manifest as JSON, as sent in `initialize`.
    pub fn manifest(&self) -> &Value {
        &self.manifest.json
    }

    /// Serve on stdin/stdout until `shutdown`, SIGTERM/SIGINT or stdin EOF; then
    /// drain, run `on_shutdown` and exit 0 (or return `Ok(())` with
    /// `exit_on_shutdown(false)`). Fails only if the stdout guard cannot be installed.
    pub async fn run(self) -> io::Result<()> {
        let (output, guard): (Box<dyn Write + Send>, Option<StdoutGuard>) = if self.enable_stdout_guard {
            let (out, g) = stdout_guard::install()?;
            (out, Some(g))
        } else {
            (Box::new(io::stdout()), None)
        };
        let (signals, exit) = (self.handle_process_signals, self.exit_on_shutdown);
        self.serve(Box::new(io::stdin()), output, guard, signals, exit).await
    }

    /// Serve over the given byte streams instead of stdin/stdout (tests, embedding):
    /// no stdout guard, no signal handling, never exits the process; returns after shutdown.
    pub async fn run_on<R, W>(self, input: R, output: W) -> io::Result<()>
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        self.serve(Box::new(input), Box::new(output), None, false, false).await
    }

    async fn serve(mut self, input: Box<dyn Read + Send>, output: Box<dyn Write + Send>, guard: Option<StdoutGuard>, signals: bool, exit: bool) -> io::Result<()> {
        if self.probe {
            // Wrapped here, not in conformance_probe(), so the order of the builder calls does not matter.
            self.tools.push(crate::conformance::probe_def());
            let own = self.on_tool.take();
            self.on_tool = Some(Arc::new(move |inv: ToolInvocation, ctx: ToolContext| -> BoxFuture<Result<Value, ToolError>> {
                if inv.tool_name == crate::conformance::CONFORMANCE_PROBE_TOOL {
                    return Box::pin(crate::conformance::run_probe(inv.args, ctx));
                }
                match &own {
                    Some(f) => f(inv, ctx),
                    None => Box::pin(async move { Err(ToolError::not_found(&inv.tool_name)) }),
                }
            }));
        }
        let stdout_closed = Arc::new(Notify::new());
        spawn_writer(self.out_rx, output, stdout_closed.clone())?;
        let (in_tx, mut in_rx) = mpsc::channel(IN_QUEUE_FRAMES);
        spawn_reader(input, in_tx, self.shared.max_frame_bytes.load(Ordering::Relaxed))?;
        let (event_tx, event_rx) = mpsc::channel(self.max_queued_events);
        let server_version = self.server_version.unwrap_or_else(|| format!("{}-{}", self.manifest.id, self.manifest.version));
        let mut init = Map::new();
        init.insert("manifest".into(), self.manifest.json);
        init.insert("server_version".into(), Value::String(server_version));
        if !self.tools.is_empty() {
            init.insert("tools".into(), serde_json::to_value(&self.tools).unwrap_or(Value::Null));
        }
        let core = Arc::new(Core {
            broker: BrokerSender::new(self.shared.clone()),
            shared: self.shared,
            init_result: Value::Object(init),
            on_event: self.on_event,
            on_tool: self.on_tool,
            on_configure: self.on_configure,
            on_channel: self.on_channel,
            on_hook: self.on_hook,
            on_shutdown: Mutex::new(self.on_shutdown),
            topic_tools: self.topic_tools,
            event_tx: Mutex::new(Some(event_tx)),
            inflight: watch::channel(0).0,
            shutting_down: AtomicBool::new(false),
            drain_timeout: self.drain_timeout,
            finished: Notify::new(),
        });
        tokio::spawn(consume_events(core.clone(), event_rx));
        let (sig_tx, mut sig_rx) = mpsc::channel::<&'static str>(4);
        if signals {
            spawn_signal_listener(sig_tx)?;
        }
        let mut reading = true;
        loop {
            tokio::select! {
                biased;
                _ = core.finished.notified() => break,
                Some(sig) = sig_rx.recv() => {
                    // A second signal during the drain means "now": the operator gave up waiting.
                    if core.is_shutting_down() && exit {
                        core.shared.log(format!("{sig} again while draining; exiting without waiting"));
                        std::process::exit(1);
                    }
                    core.begin_shutdown(None, sig);
                }
                _ = stdout_closed.notified() => {
                    core.shared.log("stdout closed; shutting down");
                    core.begin_shutdown(None, "stdout closed");
                }
                msg = in_rx.recv(), if reading => match msg {
                    Some(Incoming::Frame(v)) => core.dispatch(v).await,
                    Some(Incoming::Bad(bad)) => core.on_bad_line(bad).await,
                    Some(Incoming::Eof) | None => {
                        reading = false;
                        core.begin_shutdown(None, "stdin closed");
                    }
                },
            }
        }
        core.shared.flush().await;
        if let Some(g) = guard {
            g.finish(Duration::from_millis(200));
        }
        if exit {
            std::process::exit(0);
        }
        Ok(())
    }
}

enum Incoming {
    Frame(Value),
    Bad(BadLine),
    Eof,
}

/// The reader: a plain thread (a blocking read of stdin cannot be cancelled, so
/// it must not hold up a runtime) that only frames, then hands values over.
fn spawn_reader(mut input: Box<dyn Read + Send>, tx: mpsc::Sender<Incoming>, max: usize) -> io::Result<()> {
    std::thread::Builder::new().name("nexo-stdin-reader".into()).spawn(move || {
        let mut decoder = LineDecoder::new(max);
        let mut buf = vec![0u8; 64 * 1024];
        let mut emit = |r: Result<Value, BadLine>| {
            let _ = tx.blocking_send(match r {
                Ok(v) => Incoming::Frame(v),
                Err(b) => Incoming::Bad(b),
            });
        };
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => decoder.push(&buf[..n], &mut emit),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        decoder.end(&mut emit);
        let _ = tx.blocking_send(Incoming::Eof);
    })?;
    Ok(())
}

#[cfg(unix)]
fn spawn_signal_listener(tx: mpsc::Sender<&'static str>) -> io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            if tx.send(name).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn spawn_signal_listener(tx: mpsc::Sender<&'static str>) -> io::Result<()> {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send("ctrl-c").await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

struct EventJob {
    topic: String,
    event: Event,
    subscriber_id: Option<String>,
}

#[derive(Serialize)]
struct ResultFrame<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: &'a Value,
}

#[derive(Serialize)]
struct ErrorFrame<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    error: Value,
}

/// The running adapter, shared by the dispatch loop and the tasks it spawns.
struct Core {
    shared: Arc<Shared>,
    broker: BrokerSender,
    init_result: Value,
    on_event: Option<EventFn>,
    on_tool: Option<ToolFn>,
    on_configure: Option<ConfigureFn>,
    on_channel: Option<ChannelFn>,
    on_hook: Option<HookFn>,
    on_shutdown: Mutex<Option<ShutdownFn>>,
    topic_tools: HashMap<String, TopicToolFn>,
    /// Taken at the end of shutdown, which ends the consumer task.
    event_tx: Mutex<Option<mpsc::Sender<EventJob>>>,
    /// Handlers running or queued; shutdown waits for zero.
    inflight: watch::Sender<usize>,
    shutting_down: AtomicBool,
    drain_timeout: Duration,
    finished: Notify,
}

/// Counts one unit of in-flight work until dropped (also when its task panics).
struct Inflight(Arc<Core>);

impl Inflight {
    fn start(core: &Arc<Core>) -> Self {
        core.inflight.send_modify(|n| *n += 1);
        Inflight(core.clone())
    }
}

impl Drop for Inflight {
    fn drop(&mut self) {
        self.0.inflight.send_modify(|n| *n -= 1);
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "handler cancelled".into();
    }
    panic_message(e.into_panic())
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
    format!("handler panicked: {}", msg.unwrap_or_else(|| "(no message)".into()))
}

/// A future whose panic becomes an `Err` where it is polled, without a task of its own.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        // The handler's own state is dropped with it after a panic, so nothing broken is polled again.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| std::pin::Pin::new(&mut self.0).poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Err(p) => std::task::Poll::Ready(Err(p)),
        }
    }
}

fn id_of(v: &Value) -> Value {
    match v.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    }
}

impl Core {
    fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    async fn reply(&self, id: &Value, result: &Value) {
        match self.shared.send_frame(&ResultFrame { jsonrpc: "2.0", id, result }).await {
            Ok(()) | Err(crate::FrameError::Closed) => {}
            Err(e) => {
                // A result too large for one frame still gets an answer, so the host's call does not hang until its deadline.
                self.shared.log(format!("reply to request {id} not sent: {e}"));
                self.reply_error(id, codes::INTERNAL_ERROR, &format!("reply not sent: {e}"), None).await;
            }
        }
    }

    async fn reply_error(&self, id: &Value, code: i64, message: &str, data: Option<&Value>) {
        let mut error = json!({ "code": code, "message": message });
        if let Some(d) = data {
            error["data"] = d.clone();
        }
        match self.shared.send_frame(&ErrorFrame { jsonrpc: "2.0", id, error }).await {
            Ok(()) | Err(crate::FrameError::Closed) => {}
            Err(e) if data.is_some() => {
                self.shared.log(format!("error reply to {id} too large ({e}); sending it without data"));
                let _ = self.shared.send_frame(&ErrorFrame { jsonrpc: "2.0", id, error: json!({ "code": code, "message": message }) }).await;
            }
            Err(e) => self.shared.log(format!("error reply to {id} not sent: {e}")),
        }
    }

    /// A bad line is logged (the reference SDKs' wording) and dropped, never answered: it has no id to answer.
    async fn on_bad_line(&self, bad: BadLine) {
        match &bad {
            BadLine::InvalidJson(detail) => self.shared.log(format!("plugin: malformed jsonrpc line: {detail}")),
            BadLine::InvalidUtf8 => self.shared.log("plugin: malformed jsonrpc line: not valid UTF-8"),
            BadLine::TooLarge => self.shared.log(format!("plugin: inbound frame exceeds maxFrameBytes {}", self.shared.max_frame_bytes.load(Ordering::Relaxed))),
        }
    }

    async fn dispatch(self: &Arc<Self>, v: Value) {
        let mut frame = match v {
            Value::Object(m) if m.get("jsonrpc").and_then(Value::as_str) == Some("2.0") => m,
            other => {
                let id = id_of(&other);
                return self.reply_error(&id, codes::INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 object", None).await;
            }
        };
        let method = match frame.get("method") {
            None => {
                // A response to one of our host calls; one we no longer wait for (timed out) is dropped.
                if !self.shared.on_response(&frame) {
                    self.shared.log(format!("response to unknown request id {} ignored", frame.get("id").unwrap_or(&Value::Null)));
                }
                return;
            }
            Some(Value::String(m)) => m.clone(),
            Some(_) => {
                if let Some(id) = frame.get("id") {
                    let id = id.clone();
                    self.reply_error(&id, codes::INVALID_REQUEST, "invalid request: method must be a string", None).await;
                }
                return;
            }
        };
        let params = frame.remove("params");
        match frame.remove("id") {
            None => self.on_notification(&method, params).await,
            Some(id) => self.on_request(id, &method, params).await,
        }
    }

    async fn on_request(self: &Arc<Self>, id: Value, method: &str, params: Option<Value>) {
        if self.is_shutting_down() && method != "shutdown" {
            return self.reply_error(&id, codes::INTERNAL_ERROR, "plugin is shutting down", None).await;
        }
        match method {
            "initialize" => {
                match &params {
                    None | Some(Value::Object(_)) => {}
                    Some(_) => return self.reply_error(&id, codes::INVALID_PARAMS, "initialize params must be an object ({nexo_version} or {})", None).await,
                }
                if matches!(params.as_ref().and_then(|p| p.get("nexo_version")), Some(v) if !v.is_string()) {
                    return self.reply_error(&id, codes::INVALID_PARAMS, "initialize params.nexo_version must be a string", None).await;
                }
                self.reply(&id, &self.init_result).await;
            }
            "plugin.configure" => {
                let Some(Value::Object(mut p)) = params else {
                    return self.reply_error(&id, codes::INVALID_PARAMS, "plugin.configure params must be {value}", None).await;
                };
                let Some(value) = p.remove("value") else {
                    return self.reply_error(&id, codes::INVALID_PARAMS, "plugin.configure params must be {value}", None).await;
                };
                let guard = Inflight::start(self);
                let core = self.clone();
                let handler = self.on_configure.clone();
                tokio::spawn(async move {
                    let outcome = match handler {
                        None => Ok(()),
                        Some(h) => match tokio::spawn(h(value)).await {
                            Ok(r) => r.map_err(|e| e.to_string()),
                            Err(e) => Err(panic_text(e)),
                        },
                    };
                    match outcome {
                        Ok(()) => core.reply(&id, &json!({ "ok": true })).await,
                        Err(e) => core.reply_error(&id, codes::INVALID_PARAMS, &format!("configuration refused: {e}"), None).await,
                    }
                    drop(guard);
                });
            }
            "shutdown" => {
                let reason = match &params {
                    None => "shutdown requested".to_string(),
                    Some(Value::Object(p)) => p.get("reason").and_then(Value::as_str).unwrap_or("shutdown requested").to_string(),
                    Some(_) => return self.reply_error(&id, codes::INVALID_PARAMS, "shutdown params must be {reason}", None).await,
                };
                self.begin_shutdown(Some(id), &reason);
            }
            "tool.invoke" => self.on_tool_invoke(id, params).await,
            "channel.start" | "channel.stop" | "channel.send_outbound" => self.on_channel_request(id, method, params).await,
            "hook.on_hook" => self.on_hook_request(id, params).await,
            other => self.reply_error(&id, codes::METHOD_NOT_FOUND, &format!("method not found: {other}"), None).await,
        }
    }

    async fn on_channel_request(self: &Arc<Self>, id: Value, method: &str, params: Option<Value>) {
        let Some(handler) = self.on_channel.clone() else {
            return self.reply_error(&id, codes::METHOD_NOT_FOUND, &format!("method not found: {method}"), None).await;
        };
        let request = match channel_request(method, params.as_ref()) {
            Ok(r) => r,
            Err(e) => return self.reply_error(&id, e.code, &e.message, None).await,
        };
        let guard = Inflight::start(self);
        let core = self.clone();
        let ctx = ToolContext { broker: self.broker.clone(), shutdown: ShutdownSignal(self.shared.shutdown.subscribe()) };
        let task = tokio::spawn(handler(request, ctx));
        tokio::spawn(async move {
            match task.await {
                Ok(Ok(result)) => core.reply(&id, &result).await,
                Ok(Err(e)) => {
                    let e = e.into_rpc_error();
                    core.reply_error(&id, e.code, &e.message, e.data.as_ref()).await
                }
                Err(e) => core.reply_error(&id, codes::INTERNAL_ERROR, &panic_text(e), None).await,
            }
            drop(guard);
        });
    }

    async fn on_hook_request(self: &Arc<Self>, id: Value, params: Option<Value>) {
        let Some(handler) = self.on_hook.clone() else {
            return self.reply_error(&id, codes::METHOD_NOT_FOUND, "method not found: hook.on_hook", None).await;
        };
        let Some(hook_name) = params.as_ref().and_then(|p| p.get("hook_name")).and_then(Value::as_str).map(str::to_string) else {
            return self.reply_error(&id, codes::INVALID_PARAMS, "hook.on_hook params need a string hook_name", None).await;
        };
        let invocation = HookInvocation {
            plugin_id: params.as_ref().and_then(|p| p.get("plugin_id")).and_then(Value::as_str).unwrap_or(&self.shared.plugin_id).to_string(),
            hook_name,
            event: params.as_ref().and_then(|p| p.get("event")).cloned().unwrap_or_else(|| json!({})),
        };
        let guard = Inflight::start(self);
        let core = self.clone();
        let ctx = ToolContext { broker: self.broker.clone(), shutdown: ShutdownSignal(self.shared.shutdown.subscribe()) };
        let task = tokio::spawn(handler(invocation, ctx));
        tokio::spawn(async move {
            match task.await {
                Ok(Ok(Value::Null)) => core.reply(&id, &json!({})).await,
                Ok(Ok(result)) => core.reply(&id, &result).await,
                Ok(Err(e)) => core.reply_error(&id, codes::INTERNAL_ERROR, &e.to_string(), None).await,
                Err(e) => core.reply_error(&id, codes::INTERNAL_ERROR, &panic_text(e), None).await,
            }
            drop(guard);
        });
    }

    async fn on_tool_invoke(self: &Arc<Self>, id: Value, params: Option<Value>) {
        // No handler is answered before the params are looked at, as the reference SDKs do.
        let Some(handler) = self.on_tool.clone() else {
            return self.reply_error(&id, codes::METHOD_NOT_FOUND, "method not found: tool.invoke", None).await;
        };
        let Some(Value::Object(mut p)) = params else {
            return self.reply_error(&id, codes::INVALID_PARAMS, "tool.invoke params must be an object", None).await;
        };
        let name = match p.get("tool_name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => return self.reply_error(&id, codes::INVALID_PARAMS, "tool.invoke params missing string `tool_name`", None).await,
        };
        let invocation = ToolInvocation {
            plugin_id: p.get("plugin_id").and_then(Value::as_str).unwrap_or(&self.shared.plugin_id).to_string(),
            tool_name: name,
            // Whatever JSON the caller sent, as sent; null when omitted.
            args: p.remove("args").unwrap_or(Value::Null),
            agent_id: p.get("agent_id").and_then(Value::as_str).map(str::to_string),
        };
        let guard = Inflight::start(self);
        let core = self.clone();
        let ctx = ToolContext { broker: self.broker.clone(), shutdown: ShutdownSignal(self.shared.shutdown.subscribe()) };
        let task = tokio::spawn(handler(invocation, ctx));
        tokio::spawn(async move {
            match task.await {
                Ok(Ok(result)) => core.reply(&id, &result).await,
                Ok(Err(e)) => core.reply_error(&id, e.code(), e.message(), e.data()).await,
                // A panic is an uncaught exception: -33403, like the other SDKs.
                Err(e) => core.reply_error(&id, codes::TOOL_EXECUTION_FAILED, &panic_text(e), None).await,
            }
            drop(guard);
        });
    }

    async fn on_notification(self: &Arc<Self>, method: &str, params: Option<Value>) {
        match method {
            "broker.event" => {
                let Some(Value::Object(p)) = params else {
                    return self.shared.log("broker.event without an event object ignored");
                };
                let Some(ev @ Value::Object(_)) = p.get("event") else {
                    return self.shared.log("broker.event without an event object ignored");
                };
                if self.is_shutting_down() {
                    return;
                }
                let event = Event::from_value(ev);
                let topic = p.get("topic").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| event.topic.clone());
                let subscriber_id = match p.get("subscriber_id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                // Counted as in flight from now; the consumer releases it once the handler ran.
                self.inflight.send_modify(|n| *n += 1);
                let sent = match self.event_tx.lock().unwrap().as_ref() {
                    Some(tx) => tx.try_send(EventJob { topic, event, subscriber_id }).is_ok(),
                    None => false,
                };
                match sent {
                    true => {}
                    false => {
                        self.inflight.send_modify(|n| *n -= 1);
                        let n = self.shared.events_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        // Power-of-two counts keep the log bounded under a sustained flood.
                        if n.is_power_of_two() {
                            self.shared.log(format!("event backlog full; {n} event(s) dropped so far"));
                        }
                    }
                }
            }
            "llm.complete.delta" => {
                if let Some(Value::Object(mut p)) = params {
                    let chunk = p.remove("chunk").unwrap_or(Value::Null);
                    self.shared.on_delta(p.get("request_id").unwrap_or(&Value::Null), chunk);
                }
            }
            // Other notifications (future contract additions) are ignored, never answered.
            _ => {}
        }
    }

    async fn handle_event(self: &Arc<Self>, job: EventJob) {
        let EventJob { topic, event, subscriber_id } = job;
        if let Some(sub) = subscriber_id {
            let handler: Option<SubscriptionFn> = self.shared.subscriptions.lock().unwrap().get(&sub).cloned();
            if let Some(h) = handler {
                let id = event.id.clone();
                return self.run_handler(&topic, Box::pin(crate::event::in_handler_of(id, h(topic.clone(), event)))).await;
            }
            // An event for a subscription the plugin dropped, or one not made through the SDK: the default handler gets it.
        }
        if let Some(tool) = self.topic_tools.get(&topic).cloned() {
            return self.answer_topic_tool(topic, event, tool).await;
        }
        if let Some(h) = self.on_event.clone() {
            let id = event.id.clone();
            let fut = h(topic.clone(), event, self.broker.clone());
            self.run_handler(&topic, Box::pin(crate::event::in_handler_of(id, fut))).await;
        }
    }

    /// Run one handler so a panic is contained and logged like an error. It runs in the
    /// events task itself: a task spawned per event cost more than most handlers.
    async fn run_handler(&self, topic: &str, fut: BoxFuture<Result<(), BoxError>>) {
        match CatchUnwind(fut).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.shared.log(format!("event handler failed on {topic}: {e}")),
            Err(p) => self.shared.log(format!("event handler failed on {topic}: {}", panic_message(p))),
        }
    }

    async fn answer_topic_tool(&self, topic: String, event: Event, tool: TopicToolFn) {
        let payload = match tokio::spawn(tool(event.payload.clone(), event.clone())).await {
            Ok(Ok(result)) => json!({ "result": result }),
            Ok(Err(e)) => json!({ "error": e.to_json() }),
            Err(e) => json!({ "error": { "code": codes::TOOL_EXECUTION_FAILED, "message": panic_text(e) } }),
        };
        let out = reply_topic(&topic);
        let reply = Event::new(&out, &self.shared.plugin_id, payload)
            .with_correlation_id(Some(event.correlation_id.clone().unwrap_or_else(|| event.id.clone())))
            .with_session_id(event.session_id.clone());
        if let Err(e) = self.broker.publish(&out, reply).await {
            self.shared.log(format!("reply on {out} not sent: {e}"));
        }
    }

    /// Stop new work, fail own host calls, drain handlers, run the hook, reply (if asked), then finish.
    fn begin_shutdown(self: &Arc<Self>, reply_id: Option<Value>, reason: &str) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            if let Some(id) = reply_id {
                let core = self.clone();
                tokio::spawn(async move { core.reply(&id, &json!({ "ok": true })).await });
            }
            return;
        }
        let _ = self.shared.shutdown.send(true);
        let core = self.clone();
        let reason = reason.to_string();
        tokio::spawn(async move { core.shutdown(reply_id, reason).await });
    }

    async fn shutdown(self: Arc<Self>, reply_id: Option<Value>, reason: String) {
        self.shared.log(format!("shutting down ({reason})"));
        // Handlers awaiting the host would otherwise hold the drain until their deadline.
        self.shared.close_calls();
        let mut inflight = self.inflight.subscribe();
        if tokio::time::timeout(self.drain_timeout, inflight.wait_for(|n| *n == 0)).await.is_err() {
            self.shared.log(format!("{} handler(s) still running after {} ms; shutting down anyway", *inflight.borrow(), self.drain_timeout.as_millis()));
        }
        let hook = self.on_shutdown.lock().unwrap().take();
        let hook_error = match hook {
            None => None,
            Some(h) => match tokio::spawn(h()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(panic_text(e)),
            },
        };
        if let Some(e) = &hook_error {
            self.shared.log(format!("shutdown hook failed: {e}"));
        }
        self.event_tx.lock().unwrap().take();
        if let Some(id) = reply_id {
            match hook_error {
                Some(e) => self.reply_error(&id, codes::SHUTDOWN_FAILED, &format!("shutdown hook failed: {e}"), None).await,
                None => self.reply(&id, &json!({ "ok": true })).await,
            }
        }
        self.finished.notify_one();
    }
}

async fn consume_events(core: Arc<Core>, mut rx: mpsc::Receiver<EventJob>) {
    while let Some(job) = rx.recv().await {
        core.handle_event(job).await;
        core.inflight.send_modify(|n| *n -= 1);
    }
}
