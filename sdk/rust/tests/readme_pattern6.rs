//! README pattern 6 (stateful conversation glue), run as written
//! (examples/readme_pattern6.rs, generated from the README): two fragments of one
//! conversation come out as one assembled event after the 2 s silence. The
//! snippet once locked its mutex twice when a newer fragment had arrived, so no
//! event ever came out.
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

#[test]
fn fragments_of_one_conversation_come_out_as_one_event() {
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("examples").join("readme_pattern6");
    assert!(exe.exists(), "{} is missing: run `cargo test` (which builds the examples)", exe.display());
    let mut child = Command::new(exe).env("NEXO_PLUGIN_KEY", "harness").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let mut send = |v: Value| writeln!(stdin, "{v}").unwrap();
    send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} }));
    for (i, fragment) in ["hel", "lo"].iter().enumerate() {
        // The second fragment comes later, so the first fragment's timer fires first and finds a newer one.
        std::thread::sleep(Duration::from_millis(300 * i as u64));
        let event = json!({ "id": format!("e{i}"), "topic": "plugin.outbound.voice", "source": "t", "payload": { "conv_id": "c1", "fragment": fragment } });
        send(json!({ "jsonrpc": "2.0", "method": "broker.event", "params": { "topic": "plugin.outbound.voice", "event": event } }));
    }
    let mut published = Vec::new();
    while let Ok(frame) = rx.recv_timeout(Duration::from_secs(6)) {
        if frame["method"] == "broker.publish" {
            published.push(frame);
            break;
        }
    }
    let _ = child.kill();
    assert_eq!(published.len(), 1, "one assembled event within 6 s");
    assert_eq!(published[0]["params"]["topic"], "plugin.inbound.assembled");
    assert_eq!(published[0]["params"]["event"]["payload"], json!({ "text": "hello" }));
}
