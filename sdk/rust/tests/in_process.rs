//! `run_on`: the adapter served over in-memory pipes inside the test process
//! (embedding, or unit-testing a plugin without spawning it). It never exits the
//! process: `run_on` returns once the plugin has shut down.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use nexo_plugin_sdk::{Event, PluginAdapter};
use serde_json::{json, Value};

const MANIFEST: &str = "[plugin]\nid = \"inproc\"\nversion = \"0.3.0\"\n[[plugin.channels.register]]\nkind = \"inproc\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_on_serves_over_pipes_and_returns_after_shutdown() {
    let (host_reads, plugin_writes) = std::io::pipe().unwrap();
    let (plugin_reads, mut host_writes) = std::io::pipe().unwrap();
    let adapter = PluginAdapter::new(MANIFEST)
        .on_event(|topic, event, broker| async move {
            let out = topic.replace("plugin.outbound.", "plugin.inbound.");
            broker.publish(&out, Event::new(&out, "inproc", event.payload)).await?;
            Ok(())
        })
        .on_shutdown(|| async { Ok(()) });
    let served = tokio::spawn(adapter.run_on(plugin_reads, plugin_writes));

    let frames = tokio::task::spawn_blocking(move || {
        let mut send = |v: Value| writeln!(host_writes, "{v}").unwrap();
        send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} }));
        send(json!({ "jsonrpc": "2.0", "method": "broker.event", "params": { "topic": "plugin.outbound.inproc", "event": { "topic": "plugin.outbound.inproc", "payload": { "n": 1 } } } }));
        send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": { "reason": "test" } }));
        let mut frames = Vec::new();
        for line in BufReader::new(host_reads).lines() {
            let frame: Value = serde_json::from_str(&line.unwrap()).unwrap();
            let done = frame["id"] == 2;
            frames.push(frame);
            if done {
                break;
            }
        }
        frames
    })
    .await
    .unwrap();

    assert_eq!(frames[0]["result"]["server_version"], "inproc-0.3.0");
    assert_eq!(frames[1]["params"]["topic"], "plugin.inbound.inproc");
    assert_eq!(frames[1]["params"]["event"]["payload"], json!({ "n": 1 }));
    assert_eq!(frames[2]["result"], json!({ "ok": true }));
    let outcome = tokio::time::timeout(Duration::from_secs(5), served).await.expect("run_on returned after shutdown");
    assert!(outcome.unwrap().is_ok());
}
