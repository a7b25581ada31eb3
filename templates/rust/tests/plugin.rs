//! Runs the plugin as the daemon would: JSON-RPC over its stdin/stdout.
//! `cargo test`; `nexo plugin test .` runs the full conformance kit.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

#[test]
fn initialize_echo_and_clean_shutdown() {
    let id = "{{id}}";
    let mut child = Command::new(env!("CARGO_BIN_EXE_{{id}}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the plugin starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = |v: Value| writeln!(stdin, "{v}").unwrap();
    let mut next = |pred: &dyn Fn(&Value) -> bool| loop {
        let line = lines.next().expect("the plugin closed stdout").unwrap();
        let frame: Value = serde_json::from_str(&line).expect("every stdout line is a JSON frame");
        if pred(&frame) {
            return frame;
        }
    };

    send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "nexo_version": "0.1.0" } }));
    assert_eq!(next(&|f| f["id"] == 1)["result"]["manifest"]["plugin"]["id"], id);

    let topic = format!("plugin.outbound.{id}");
    let event = json!({ "id": "e-1", "timestamp": "2026-01-01T00:00:00Z", "topic": topic, "source": "test", "session_id": null, "payload": { "text": "hi" } });
    send(json!({ "jsonrpc": "2.0", "method": "broker.event", "params": { "topic": topic, "event": event } }));
    let publish = next(&|f| f["method"] == "broker.publish");
    assert_eq!(publish["params"]["topic"], format!("plugin.inbound.{id}"));
    assert_eq!(publish["params"]["event"]["payload"], json!({ "text": "hi" }));

    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": { "reason": "test" } }));
    assert_eq!(next(&|f| f["id"] == 2)["result"], json!({ "ok": true }));
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
