//! Plugin pattern 1 (echo channel) in Rust: every event on plugin.outbound.echo_rust[.x]
//! comes back on the mirrored plugin.inbound.echo_rust[.x] topic with the same payload,
//! session id and correlation id, so a round trip can be matched end to end.
//! It also serves one tool, `echo`, which returns its `text` argument.

use nexo_plugin_sdk::{text_result, Event, PluginAdapter, ToolDef, ToolError};
use serde_json::json;

const MANIFEST: &str = include_str!("../nexo-plugin.toml");

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    PluginAdapter::new(MANIFEST)
        .on_event(|topic, event, broker| async move {
            let Some(rest) = topic.strip_prefix("plugin.outbound.") else { return Ok(()) };
            let out = format!("plugin.inbound.{rest}");
            let reply = Event::new(&out, "echo_rust", event.payload).with_session_id(event.session_id).with_correlation_id(event.correlation_id);
            broker.publish(&out, reply).await?;
            Ok(())
        })
        .tools(vec![ToolDef::new(
            "echo",
            "Returns its text argument",
            json!({ "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] }),
        )])
        .on_tool(|inv, _ctx| async move {
            if inv.tool_name != "echo" {
                return Err(ToolError::not_found(&inv.tool_name));
            }
            match inv.args.get("text").and_then(|t| t.as_str()) {
                Some(text) => Ok(text_result(text, false)),
                None => Err(ToolError::invalid_args("text is required", Some(json!([{ "path": "/text", "message": "required" }])))),
            }
        })
        // Adds the tool `nexo plugin test` drives the SDK with, only when the test runner
        // starts the plugin (NEXO_CONFORMANCE_PROBE=1); the echo tool keeps working either way.
        .conformance_probe()
        .run()
        .await
}
