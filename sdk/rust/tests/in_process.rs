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

const CHANNEL_MANIFEST: &str = "[plugin]\nid = \"chan\"\nversion = \"0.1.0\"\n[plugin.extends]\nchannels = [\"chat\"]\nhooks = [\"before_message\"]\n";

/// Send each request and collect the replies by id, over `run_on`.
async fn exchange(adapter: nexo_plugin_sdk::PluginAdapter, requests: Vec<Value>) -> Vec<Value> {
    let (host_reads, plugin_writes) = std::io::pipe().unwrap();
    let (plugin_reads, mut host_writes) = std::io::pipe().unwrap();
    let served = tokio::spawn(adapter.run_on(plugin_reads, plugin_writes));
    let n = requests.len();
    let frames = tokio::task::spawn_blocking(move || {
        for (i, r) in requests.into_iter().enumerate() {
            let mut frame = r;
            frame["jsonrpc"] = json!("2.0");
            frame["id"] = json!(i + 1);
            writeln!(host_writes, "{frame}").unwrap();
        }
        let mut replies = vec![Value::Null; n];
        let mut got = 0;
        for line in BufReader::new(host_reads).lines() {
            let frame: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if let Some(id) = frame["id"].as_u64() {
                replies[id as usize - 1] = frame;
                got += 1;
            }
            if got == n {
                break;
            }
        }
        writeln!(host_writes, "{}", json!({ "jsonrpc": "2.0", "id": 999, "method": "shutdown", "params": { "reason": "test" } })).unwrap();
        replies
    })
    .await
    .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), served).await;
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_and_hook_methods_answer_with_the_contract_codes() {
    use nexo_plugin_sdk::{ChannelError, ChannelRequest};
    let adapter = PluginAdapter::new(CHANNEL_MANIFEST)
        .on_channel(|req, _ctx| async move {
            match req {
                ChannelRequest::SendOutbound { kind, msg, instance } => match msg["to"].as_str() {
                    Some("limited") => Err(ChannelError::rate_limited(12)),
                    Some("nobody") => Err(ChannelError::recipient_invalid("nobody", "unknown chat")),
                    _ => Ok(json!({ "message_id": format!("{kind}:{}", instance.unwrap_or_default()), "sent_at_unix": 1_700_000_000 })),
                },
                ChannelRequest::Start { .. } | ChannelRequest::Stop { .. } => Ok(json!({ "ok": true })),
            }
        })
        .on_hook(|inv, _ctx| async move {
            if inv.event["body"].as_str().unwrap_or_default().contains("spam") {
                Ok(json!({ "decision": "block", "reason": format!("{} by {}", inv.hook_name, inv.plugin_id) }))
            } else {
                Ok(Value::Null)
            }
        });
    let send = |to: &str| json!({ "method": "channel.send_outbound", "params": { "kind": "chat", "instance": "a", "msg": { "kind": "text", "to": to, "body": "x" } } });
    let r = exchange(
        adapter,
        vec![
            json!({ "method": "initialize", "params": {} }),
            json!({ "method": "channel.start", "params": { "kind": "chat", "instance": "a" } }),
            send("1"),
            send("limited"),
            send("nobody"),
            json!({ "method": "channel.send_outbound", "params": { "kind": "chat" } }),
            json!({ "method": "hook.on_hook", "params": { "plugin_id": "chan", "hook_name": "before_message", "event": { "body": "spam!" } } }),
            json!({ "method": "hook.on_hook", "params": { "plugin_id": "chan", "hook_name": "before_message", "event": { "body": "hi" } } }),
        ],
    )
    .await;
    assert_eq!(r[1]["result"], json!({ "ok": true }));
    assert_eq!(r[2]["result"], json!({ "message_id": "chat:a", "sent_at_unix": 1_700_000_000 }));
    assert_eq!(r[3]["error"], json!({ "code": -33004, "message": "rate limited", "data": { "retry_after_secs": 12 } }));
    assert_eq!(r[4]["error"]["data"], json!({ "recipient": "nobody", "reason": "unknown chat" }));
    assert_eq!(r[5]["error"]["code"], -32602);
    assert_eq!(r[6]["result"], json!({ "decision": "block", "reason": "before_message by chan" }));
    assert_eq!(r[7]["result"], json!({}));

    let bare = exchange(
        PluginAdapter::new(CHANNEL_MANIFEST),
        vec![json!({ "method": "channel.start", "params": { "kind": "chat" } }), json!({ "method": "hook.on_hook", "params": { "hook_name": "x" } })],
    )
    .await;
    assert_eq!(bare[0]["error"]["code"], -32601);
    assert_eq!(bare[1]["error"]["code"], -32601);
}
