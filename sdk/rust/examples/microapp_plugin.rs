//! A plugin written against the upstream Rust plugin API
//! (`nexo_microapp_sdk::plugin`, its builder, handler traits and error types),
//! run by packages/plugin-sdk/test/reference-api/rust-microapp.test.ts under
//! `nexo run`. A plugin crate gets the same names with
//! `nexo-microapp-sdk = { package = "nexo-plugin-sdk", path = "..." }`; here
//! the alias below stands in for that rename.
extern crate nexo_plugin_sdk as nexo_microapp_sdk;

use nexo_microapp_sdk::plugin::{
    BrokerSender, ChatMessage, Event, LlmCompleteParams, PluginAdapter, RpcError, ToolContext, ToolDef, ToolInvocation, ToolInvocationError,
};
use serde_json::json;

const MANIFEST: &str = r#"
[plugin]
id = "microapp"
version = "0.1.0"
name = "Microapp API"
description = "Written against the upstream plugin API"
min_nexo_version = ">=0.1.0"

[plugin.entrypoint]
command = "./microapp_plugin"

[[plugin.channels.register]]
kind = "microapp"
adapter = "MicroappAdapter"

[plugin.extends]
tools = ["microapp_echo", "microapp_host", "microapp_fail"]
"#;

fn describe(e: RpcError) -> serde_json::Value {
    match e {
        RpcError::Server { code, message } => json!({ "server": code, "message": message }),
        RpcError::Timeout(d) => json!({ "timeout_ms": d.as_millis() as u64 }),
        RpcError::Transport(m) => json!({ "transport": m }),
        RpcError::Decode(m) => json!({ "decode": m }),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = json!({ "type": "object" });
    Ok(PluginAdapter::new(MANIFEST)?
        .with_server_version("microapp-upstream-api")
        .declare_tools(["microapp_echo", "microapp_host", "microapp_fail"].map(|n| ToolDef { name: n.into(), description: format!("{n} (upstream API)"), input_schema: schema.clone() }))
        .on_broker_event(|topic: String, event: Event, broker: BrokerSender| async move {
            // No correlation id set here: the SDK ties the reply to `event`.
            let ack = Event::new("plugin.inbound.microapp", "microapp", json!({ "echo": event.payload, "from": topic }));
            let _ = broker.publish("plugin.inbound.microapp", ack).await;
        })
        .on_tool(|_inv: ToolInvocation| async move { Err(ToolInvocationError::ExecutionFailed("on_tool must not run: on_tool_with_context wins".into())) })
        .on_tool_with_context(|inv: ToolInvocation, ctx: ToolContext| async move {
            match inv.tool_name.as_str() {
                "microapp_echo" => Ok(json!({ "args": inv.args, "agent": inv.agent_id, "plugin": ctx.plugin_id })),
                "microapp_host" => {
                    let recall = match ctx.broker.recall_memory("agent-1", "anything", 5).await {
                        Ok(entries) => json!({ "entries": entries.len() }),
                        Err(e) => describe(e),
                    };
                    let params = LlmCompleteParams { provider: "p".into(), model: "m".into(), messages: vec![ChatMessage::user("hi")], ..Default::default() };
                    let complete = match ctx.broker.complete_llm(params).await {
                        Ok(r) => json!({ "content": r.content }),
                        Err(e) => describe(e),
                    };
                    Ok(json!({ "recall": recall, "complete": complete }))
                }
                "microapp_fail" => Err(ToolInvocationError::Unavailable("busy".into())),
                other => Err(ToolInvocationError::NotFound(other.into())),
            }
        })
        .on_shutdown(|| async { Ok(()) })
        .run_stdio()
        .await?)
}
