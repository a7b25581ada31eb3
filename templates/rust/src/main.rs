//! Plugin pattern 1 (echo channel): every event on plugin.outbound.{{id}}[.x] comes
//! back on the mirrored plugin.inbound.{{id}}[.x] topic with the same payload,
//! session id and correlation id, so a round trip can be matched end to end.

use nexo_plugin_sdk::{Event, PluginAdapter};

const MANIFEST: &str = include_str!("../nexo-plugin.toml");

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    PluginAdapter::new(MANIFEST)
        .on_event(|topic, event, broker| async move {
            let Some(rest) = topic.strip_prefix("plugin.outbound.") else { return Ok(()) };
            let out = format!("plugin.inbound.{rest}");
            let reply = Event::new(&out, "{{id}}", event.payload).with_session_id(event.session_id).with_correlation_id(event.correlation_id);
            broker.publish(&out, reply).await?;
            Ok(())
        })
        // Adds the tool `nexo plugin test` drives the SDK with, only when the test runner
        // starts the plugin (NEXO_CONFORMANCE_PROBE=1); add your own .tools()/.on_tool() freely.
        .conformance_probe()
        .run()
        .await
}
