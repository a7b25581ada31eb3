//! templates/rust rendered with an id builds against this SDK, is a working echo plugin,
//! and its own test passes.
//! It builds in release into examples/echo-rust/target, so the dependencies that
//! scripts/setup.sh compiled for the echo example are reused (a few seconds, not a minute).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn render(from: &Path, to: &Path, vars: &[(&str, &str)]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            render(&entry.path(), &target, vars);
            continue;
        }
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        for (k, v) in vars {
            text = text.replace(k, v);
        }
        assert!(!text.contains("{{"), "{} has a placeholder left", entry.path().display());
        std::fs::write(target, text).unwrap();
    }
}

#[test]
fn the_rust_template_builds_and_echoes() {
    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = sdk.parent().unwrap().parent().unwrap();
    let dir = std::env::temp_dir().join(format!("nexo-rust-template-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The template depends on nexo-plugin-sdk by version, patched to a vendored copy: point the patch at this SDK.
    render(&root.join("templates/rust"), &dir, &[("{{id}}", "demo_rs"), ("{{sdk_version}}", env!("CARGO_PKG_VERSION")), ("vendor/nexo-plugin-sdk", sdk.to_str().unwrap())]);
    // The echo example's lock file pins the same dependency versions, so its compiled dependencies match.
    std::fs::copy(root.join("examples/echo-rust/Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = root.join("examples/echo-rust/target");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build of the rendered template failed");

    let mut child = Command::new(target.join("release/demo_rs")).current_dir(&dir).env("NEXO_PLUGIN_KEY", "harness").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(serde_json::from_str(&line).expect("stdout carries only frames"));
        }
    });
    let mut send = |v: Value| writeln!(stdin, "{v}").unwrap();
    let next = || rx.recv_timeout(Duration::from_secs(10)).expect("a frame");

    send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "nexo_version": "0.1.0" } }));
    let init = next();
    assert_eq!(init["result"]["manifest"]["plugin"]["id"], "demo_rs");
    assert_eq!(init["result"]["server_version"], "demo_rs-0.1.0");
    assert!(init["result"].get("tools").is_none());
    let ev = json!({ "id": "e1", "timestamp": "2026-01-01T00:00:00.000Z", "topic": "plugin.outbound.demo_rs.room", "source": "t", "session_id": "s-1", "correlation_id": "c-1", "payload": { "text": "héllo 👋" } });
    send(json!({ "jsonrpc": "2.0", "method": "broker.event", "params": { "topic": "plugin.outbound.demo_rs.room", "event": ev } }));
    let pubd = next();
    assert_eq!(pubd["params"]["topic"], "plugin.inbound.demo_rs.room");
    assert_eq!(pubd["params"]["event"]["source"], "demo_rs");
    assert_eq!(pubd["params"]["event"]["payload"], json!({ "text": "héllo 👋" }));
    assert_eq!((pubd["params"]["event"]["session_id"].clone(), pubd["params"]["event"]["correlation_id"].clone()), (json!("s-1"), json!("c-1")));
    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": { "reason": "test" } }));
    assert_eq!(next()["result"], json!({ "ok": true }));
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "template plugin did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The template's own test (tests/plugin.rs) passes as generated.
    let status = Command::new(env!("CARGO")).args(["test", "--release", "--quiet"]).current_dir(&dir).env("CARGO_TARGET_DIR", &target).status().unwrap();
    assert!(status.success(), "cargo test of the rendered template failed");
    let _ = std::fs::remove_dir_all(&dir);
}
