//! Rust SDK for nexo subprocess plugins.
//!
//! A plugin is a child process of the nexo daemon that speaks the plugin
//! contract: JSON-RPC 2.0, one JSON object per line, over stdin/stdout. This
//! crate does the protocol part (the `initialize` handshake, config, ordered
//! event delivery, tool calls, host services, the stdout guard and a clean
//! shutdown) so a plugin is a few handlers on a [`PluginAdapter`].
//!
//! ```no_run
//! use nexo_plugin_sdk::{Event, PluginAdapter};
//!
//! // In a plugin crate: include_str!("../nexo-plugin.toml")
//! const MANIFEST: &str = "[plugin]\nid = \"my_plugin\"\nversion = \"0.1.0\"\n";
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     PluginAdapter::new(MANIFEST)
//!         .on_event(|topic, event, broker| async move {
//!             let out = topic.replace("plugin.outbound.", "plugin.inbound.");
//!             broker.publish(&out, Event::new(&out, "my_plugin", event.payload)).await?;
//!             Ok(())
//!         })
//!         .run()
//!         .await
//! }
//! ```
//!
//! stdout carries frames only: log with `eprintln!` or a logger writing to
//! stderr. On Unix the adapter also redirects fd 1 so a stray `println!` ends
//! up on stderr prefixed `[stdout-guard] ` instead of breaking the protocol.
#![warn(missing_debug_implementations)]

mod adapter;
mod broker;
mod channels;
mod conformance;
mod errors;
mod event;
mod framing;
mod manifest;
pub mod plugin;
mod state_dir;
mod stdout_guard;
mod tools;

pub use adapter::{PluginAdapter, ShutdownSignal};
pub use channels::{ChannelError, ChannelRequest, HookInvocation};
pub use conformance::{CONFORMANCE_PROBE_ENV, CONFORMANCE_PROBE_TOOL};
pub use broker::{BrokerSender, LlmCompleteParams, LlmCompletion, MemoryEntry, MemoryRecall, MemoryRecallParams, Message, DEFAULT_HOST_CALL_TIMEOUT};
pub use errors::{codes, BoxError, FrameError, HostCallError, ManifestError, RpcError, ToolError};
pub use event::{is_uuid, now_rfc3339, session_uuid, upstream_readable, uuid7, Event};
pub use framing::{BadLine, LineDecoder, MAX_FRAME_BYTES};
pub use manifest::Manifest;
pub use state_dir::state_dir;
pub use tools::{reply_topic, text_result, tool_topic, ToolContext, ToolDef, ToolInvocation};
