//! The upstream API's `PluginAdapter::run(reader, writer)` over `tokio::io::duplex`, as
//! upstream's own tests drive it: initialize, an event published back with the handled
//! event's id, a tool through `on_tool`, shutdown; `run` returns afterwards.
use std::time::Duration;

use nexo_plugin_sdk::plugin::{BrokerSender, Event, PluginAdapter, ToolInvocation, ToolInvocationError};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const MANIFEST: &str = "[plugin]\nid = \"dup\"\nversion = \"0.2.0\"\n[plugin.extends]\ntools = [\"dup_echo\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_over_tokio_streams_and_returns_after_shutdown() {
    let (host_end, plugin_end) = tokio::io::duplex(64 * 1024);
    let (plugin_read, plugin_write) = tokio::io::split(plugin_end);
    let adapter = PluginAdapter::new(MANIFEST)
        .unwrap()
        .on_broker_event(|_topic: String, event: Event, broker: BrokerSender| async move {
            let _ = broker.publish("plugin.inbound.dup", Event::new("plugin.inbound.dup", "dup", event.payload)).await;
        })
        .on_tool(|inv: ToolInvocation| async move {
            match inv.tool_name.as_str() {
                "dup_echo" => Ok(inv.args),
                other => Err(ToolInvocationError::NotFound(other.into())),
            }
        });
    let served = tokio::spawn(adapter.run(BufReader::new(plugin_read), plugin_write));
    let (host_read, mut host_write) = tokio::io::split(host_end);
    let mut lines = BufReader::new(host_read).lines();
    for frame in [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} }),
        json!({ "jsonrpc": "2.0", "method": "broker.event", "params": { "topic": "plugin.outbound.dup", "event": { "id": "0190a8f6-1c2b-7d3e-8f40-123456789abc", "topic": "plugin.outbound.dup", "source": "t", "payload": { "n": 1 } } } }),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tool.invoke", "params": { "plugin_id": "dup", "tool_name": "dup_nope" } }),
        json!({ "jsonrpc": "2.0", "id": 3, "method": "tool.invoke", "params": { "plugin_id": "dup", "tool_name": "dup_echo", "args": [1] } }),
    ] {
        host_write.write_all(format!("{frame}\n").as_bytes()).await.unwrap();
    }
    let mut frames = Vec::new();
    while frames.len() < 4 {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.unwrap().unwrap().unwrap();
        frames.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    let by_id = |id: i64| frames.iter().find(|f| f["id"] == id).cloned().unwrap();
    assert_eq!(by_id(1)["result"]["server_version"], "dup-0.2.0");
    assert_eq!((by_id(2)["error"]["code"].clone(), by_id(2)["error"]["message"].clone()), (json!(-33401), json!("tool not found: dup_nope")));
    assert_eq!(by_id(3)["result"], json!([1]));
    let publish = frames.iter().find(|f| f["method"] == "broker.publish").unwrap();
    assert_eq!(publish["params"]["event"]["correlation_id"], "0190a8f6-1c2b-7d3e-8f40-123456789abc");
    host_write.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"shutdown\",\"params\":{}}\n").await.unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.unwrap().unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), json!({ "jsonrpc": "2.0", "id": 9, "result": { "ok": true } }));
    let outcome = tokio::time::timeout(Duration::from_secs(5), served).await.expect("run returned after shutdown");
    assert!(outcome.unwrap().is_ok());
}
