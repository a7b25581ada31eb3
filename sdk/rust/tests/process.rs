//! The SDK under a real child process (`examples/kitchen_sink.rs`), driven over stdio
//! the way the host drives it. `cargo test` builds the example first.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn kitchen_sink() -> PathBuf {
    // target/<profile>/deps/process-<hash> -> target/<profile>/examples/kitchen_sink
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join("kitchen_sink");
    assert!(path.exists(), "{} is missing: run `cargo test` (which builds the examples), not only --test process", path.display());
    path
}

#[derive(Default)]
struct Seen {
    frames: Vec<Value>,
    stray: Vec<String>,
    stderr: String,
    stderr_closed: bool,
}

struct Plugin {
    child: Child,
    stdin: Option<ChildStdin>,
    seen: Arc<Mutex<Seen>>,
    next_id: u64,
}

impl Plugin {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Plugin {
        let mut cmd = Command::new(kitchen_sink());
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // This harness plays the Nexo host, which sets NEXO_PLUGIN_KEY (string session ids pass as they are).
        cmd.env("NEXO_PLUGIN_KEY", "harness");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let out = child.stdout.take().unwrap();
        let s = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                let mut s = s.lock().unwrap();
                match serde_json::from_str(&line) {
                    Ok(v) => s.frames.push(v),
                    Err(_) => s.stray.push(line),
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let s = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().stderr.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            s.lock().unwrap().stderr_closed = true;
        });
        let stdin = child.stdin.take();
        Plugin { child, stdin, seen, next_id: 1 }
    }

    fn started() -> Plugin {
        let mut p = Plugin::start(&[], &[]);
        let init = p.request("initialize", json!({ "nexo_version": "0.1.0" }));
        assert!(init.get("result").is_some(), "{init}");
        p
    }

    fn write(&mut self, raw: &[u8]) {
        self.stdin.as_mut().unwrap().write_all(raw).unwrap();
    }

    fn send(&mut self, frame: Value) {
        let mut line = serde_json::to_vec(&frame).unwrap();
        line.push(b'\n');
        self.write(&line);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn event(&mut self, topic: &str, payload: Value) {
        let ev = json!({ "id": format!("e-{}", self.next_id), "timestamp": "2026-01-01T00:00:00.000Z", "topic": topic, "source": "test", "session_id": null, "payload": payload });
        self.next_id += 1;
        self.notify("broker.event", json!({ "topic": topic, "event": ev }));
    }

    fn send_request(&mut self, method: &str, params: Value) -> u64 {
        let id = 1000 + self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.reply_to(id)
    }

    fn reply_to(&self, id: u64) -> Value {
        self.wait_for(&format!("reply to {id}"), |f| f["id"] == json!(id) && (f.get("result").is_some() || f.get("error").is_some()))
    }

    fn tool(&mut self, name: &str, args: Value) -> Value {
        self.request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": name, "args": args, "agent_id": null }))
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(f) = self.seen.lock().unwrap().frames.iter().find(|f| pred(f)) {
                return f.clone();
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_until(&self, what: &str, cond: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond(&self.seen.lock().unwrap()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn published(&self) -> Vec<Value> {
        self.seen.lock().unwrap().frames.iter().filter(|f| f["method"] == "broker.publish").cloned().collect()
    }

    fn frames(&self) -> Vec<Value> {
        self.seen.lock().unwrap().frames.clone()
    }

    /// All of stderr, once the plugin closed it (exited).
    fn final_stderr(&self) -> String {
        self.wait_until("stderr closed", |s| s.stderr_closed);
        self.stderr()
    }

    fn stderr(&self) -> String {
        self.seen.lock().unwrap().stderr.clone()
    }

    fn stray(&self) -> Vec<String> {
        self.seen.lock().unwrap().stray.clone()
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([&format!("-{sig}"), &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill -{sig}");
    }

    /// Exit code within `limit`, else panic.
    fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "plugin did not exit within {limit:?}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn initialize_returns_the_whole_manifest_server_version_and_tools() {
    let mut p = Plugin::start(&[], &[]);
    let id = p.send_request("initialize", json!({}));
    let r = p.reply_to(id);
    assert_eq!(r["result"]["manifest"]["plugin"]["id"], "sink");
    assert_eq!(r["result"]["manifest"]["plugin"]["extends"]["tools"], json!(["add", "host", "fail", "args"]));
    assert_eq!(r["result"]["server_version"], "sink-1.2.3");
    let names: Vec<_> = r["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, [json!("add"), json!("host"), json!("fail"), json!("args")]);
    assert_eq!(r["result"]["tools"][0]["input_schema"]["properties"]["a"]["type"], "number");

    let mut q = Plugin::start(&["no-tools"], &[]);
    let r = q.request("initialize", json!({ "nexo_version": "0.1.0" }));
    assert!(r["result"].get("tools").is_none(), "tools omitted when none");
    assert_eq!(q.tool("add", json!({}))["error"]["code"], -32601);
    assert_eq!(q.request("initialize", json!({ "nexo_version": 5 }))["error"]["code"], -32602);
}

#[test]
fn configure_reaches_the_handler_and_a_refusal_is_an_error_reply() {
    let mut p = Plugin::started();
    assert_eq!(p.request("plugin.configure", json!({ "value": { "a": 1 } }))["result"], json!({ "ok": true }));
    let refused = p.request("plugin.configure", json!({ "value": { "reject": true } }));
    assert_eq!(refused["error"]["code"], -32602);
    assert!(refused["error"]["message"].as_str().unwrap().contains("rejected on purpose"));
    assert_eq!(p.request("plugin.configure", json!("nope"))["error"]["code"], -32602);
}

#[test]
fn a_thousand_events_come_back_in_order_with_all_six_fields() {
    let mut p = Plugin::started();
    for i in 0..1000 {
        p.event("plugin.outbound.sink", json!({ "i": i }));
    }
    p.wait_until("1000 publishes", |s| s.frames.iter().filter(|f| f["method"] == "broker.publish").count() == 1000);
    let pubs = p.published();
    for (i, f) in pubs.iter().enumerate() {
        assert_eq!(f["params"]["topic"], "plugin.inbound.sink");
        assert_eq!(f["params"]["event"]["payload"]["i"], json!(i));
        assert!(f.get("id").is_none(), "publish is a notification");
    }
    let mut keys: Vec<_> = pubs[0]["params"]["event"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["correlation_id", "id", "payload", "session_id", "source", "timestamp", "topic"]);
    // The handler publishes without a correlation_id: each reply carries the id of the event it handled (e-<n>, n rising by one).
    let ns: Vec<u64> = pubs.iter().map(|f| f["params"]["event"]["correlation_id"].as_str().unwrap().trim_start_matches("e-").parse().unwrap()).collect();
    assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "correlation ids follow the events: {:?}", &ns[..5]);
}

#[test]
fn omitted_tool_args_reach_the_handler_as_null_and_other_json_as_sent() {
    let mut p = Plugin::started();
    let r = p.request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "args" }));
    assert_eq!(r["result"], json!({ "args": null, "agent_id": null }));
    assert_eq!(p.tool("args", json!([1, "x"]))["result"]["args"], json!([1, "x"]));
    let bad = p.request("tool.invoke", json!({ "plugin_id": "sink", "args": {} }));
    assert_eq!((bad["error"]["code"].clone(), bad["error"]["message"].clone()), (json!(-32602), json!("tool.invoke params missing string `tool_name`")));
}

#[test]
fn utf8_payloads_are_byte_exact_and_256_kib_passes() {
    let mut p = Plugin::started();
    let tricky = json!({ "s": "emoji 😀🎉 CJK 日本語中文 한국어 control \u{1}\u{1f}\t\n\"quote\" \\ end" });
    p.event("plugin.outbound.sink", tricky.clone());
    p.event("plugin.outbound.sink", json!({ "big": "x".repeat(256 * 1024) }));
    p.wait_until("two publishes", |s| s.frames.iter().filter(|f| f["method"] == "broker.publish").count() == 2);
    let pubs = p.published();
    assert_eq!(pubs[0]["params"]["event"]["payload"], tricky);
    assert_eq!(pubs[1]["params"]["event"]["payload"]["big"].as_str().unwrap().len(), 256 * 1024);
}

#[test]
fn unknown_methods_bad_params_invalid_requests_and_unanswered_notifications() {
    let mut p = Plugin::started();
    let r = p.request("no.such.method", json!({}));
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(p.request("tool.invoke", json!(5))["error"]["code"], -32602);
    assert_eq!(p.request("tool.invoke", json!({ "nope": 1 }))["error"]["code"], -32602);
    p.send(json!({ "id": 77, "method": "initialize" }));
    p.wait_for("invalid request", |f| f["id"] == 77 && f["error"]["code"] == -32600);
    let before = p.frames().len();
    p.notify("some.notification", json!({ "x": 1 }));
    p.request("no.such.method", json!({}));
    assert_eq!(p.frames().len(), before + 1, "only the request got a reply");
}

#[test]
fn bad_lines_are_logged_and_the_plugin_keeps_running() {
    let mut p = Plugin::started();
    p.write(b"this is not json\n");
    let huge = vec![b'y'; 1_100_000];
    p.write(&huge);
    p.write(b"\n");
    assert_eq!(p.request("no.such.method", json!({}))["error"]["code"], -32601);
    // stderr is read on its own pipe: the log lines may trail the reply.
    p.wait_until("both bad lines logged", |s| s.stderr.contains("plugin: malformed jsonrpc line: ") && s.stderr.contains("plugin: inbound frame exceeds maxFrameBytes 1048576"));
    assert!(!p.frames().iter().any(|f| f["id"].is_null()), "a bad line is logged and dropped, never answered");
}

#[test]
fn tool_invoke_results_and_every_error_code() {
    let mut p = Plugin::started();
    let ok = p.tool("add", json!({ "a": 2, "b": 3 }));
    assert_eq!(ok["result"], json!({ "content": [{ "type": "text", "text": "5" }], "is_error": false }));
    for (how, code) in [("not_found", -33401), ("invalid", -33402), ("failed", -33403), ("unavailable", -33404), ("denied", -33405), ("crash", -33403), ("parse", -33403)] {
        let r = p.tool("fail", json!({ "how": how }));
        assert_eq!(r["error"]["code"], code, "{how}: {r}");
    }
    assert_eq!(p.tool("fail", json!({ "how": "unavailable" }))["error"]["data"], json!({ "retry_after_ms": 250 }));
    assert_eq!(p.tool("fail", json!({ "how": "invalid" }))["error"]["data"], json!({ "details": [{ "path": "/a", "message": "required" }] }));
    assert!(p.tool("fail", json!({ "how": "crash" }))["error"]["message"].as_str().unwrap().contains("plain crash"));
    let big = p.tool("fail", json!({ "how": "big" }));
    assert_eq!(big["error"]["code"], -32603, "a reply over 1 MiB becomes an error reply");
    assert_eq!(p.tool("nope", json!({}))["error"]["code"], -33401);
}

#[test]
fn host_calls_succeed_fail_time_out_and_stream() {
    let mut p = Plugin::started();
    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "recall", "query": "cats" }, "agent_id": null }));
    let req = p.wait_for("memory.recall", |f| f["method"] == "memory.recall");
    assert_eq!(req["params"], json!({ "agent_id": "a1", "query": "cats", "limit": 10 }));
    p.send(json!({ "jsonrpc": "2.0", "id": req["id"], "result": { "entries": [{ "id": "m1", "content": "cats purr" }] } }));
    assert_eq!(p.reply_to(call)["result"], json!({ "ids": ["m1"] }));

    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "complete" }, "agent_id": null }));
    let req = p.wait_for("llm.complete", |f| f["method"] == "llm.complete");
    assert_eq!((req["params"]["max_tokens"].clone(), req["params"]["temperature"].clone()), (json!(4096), json!(0.7)));
    assert!(req["params"].get("stream").is_none(), "a plain llm.complete carries no stream member: {req}");
    p.send(json!({ "jsonrpc": "2.0", "id": req["id"], "error": { "code": -32603, "message": "llm not configured" } }));
    let r = p.reply_to(call);
    assert_eq!(r["error"]["code"], -33403);
    assert!(r["error"]["message"].as_str().unwrap().contains("llm not configured"));

    let r = p.tool("host", json!({ "call": "complete", "timeout_ms": 200 }));
    assert!(r["error"]["message"].as_str().unwrap().contains("did not answer llm.complete within 200 ms"), "{r}");

    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "stream" }, "agent_id": null }));
    let req = p.wait_for("streaming request", |f| f["method"] == "llm.complete" && f["params"]["stream"] == true);
    for chunk in ["Hel", "lo"] {
        p.notify("llm.complete.delta", json!({ "request_id": req["id"], "chunk": chunk }));
    }
    p.send(json!({ "jsonrpc": "2.0", "id": req["id"], "result": { "finish_reason": "stop", "usage": { "output_tokens": 2 } } }));
    assert_eq!(p.reply_to(call)["result"], json!({ "chunks": ["Hel", "lo"], "finish_reason": "stop" }));
}

#[test]
fn subscriptions_route_their_events_to_their_handler() {
    let mut p = Plugin::started();
    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "subscribe" }, "agent_id": null }));
    let req = p.wait_for("broker.subscribe", |f| f["method"] == "broker.subscribe");
    assert_eq!(req["params"], json!({ "topic_pattern": "plugin.outbound.sink.sub.>" }));
    p.send(json!({ "jsonrpc": "2.0", "id": req["id"], "result": { "subscriber_id": "sub-9" } }));
    assert_eq!(p.reply_to(call)["result"], json!({ "subscriber_id": "sub-9" }));
    let ev = json!({ "id": "x1", "timestamp": "2026-01-01T00:00:00.000Z", "topic": "plugin.outbound.sink.sub.a", "source": "t", "session_id": null, "payload": { "n": 1 } });
    p.notify("broker.event", json!({ "subscriber_id": "sub-9", "topic": "plugin.outbound.sink.sub.a", "event": ev }));
    let pubd = p.wait_for("subscription handler publish", |f| f["params"]["topic"] == "plugin.inbound.sink.sub");
    assert_eq!(pubd["params"]["event"]["payload"], json!({ "via": "plugin.outbound.sink.sub.a", "payload": { "n": 1 } }));
}

#[test]
fn topic_tools_answer_on_the_reply_topic_with_the_correlation_id() {
    let mut p = Plugin::started();
    let call = |id: &str, payload: Value| json!({ "topic": "plugin.tool.calc.add", "event": { "id": id, "timestamp": "2026-01-01T00:00:00.000Z", "topic": "plugin.tool.calc.add", "source": "agent", "session_id": "s1", "correlation_id": format!("c-{id}"), "payload": payload } });
    p.notify("broker.event", call("1", json!({ "a": 2, "b": 3 })));
    p.notify("broker.event", call("2", json!({})));
    p.wait_until("two replies", |s| s.frames.iter().filter(|f| f["method"] == "broker.publish").count() == 2);
    let pubs = p.published();
    assert_eq!(pubs[0]["params"]["topic"], "plugin.tool.calc.add.reply");
    assert_eq!(pubs[0]["params"]["event"]["payload"], json!({ "result": 5.0 }));
    assert_eq!(pubs[0]["params"]["event"]["correlation_id"], "c-1");
    assert_eq!(pubs[0]["params"]["event"]["session_id"], "s1");
    // Under an upstream host (no NEXO_PLUGIN_KEY) the same reply carries a UUID session id it can parse.
    let mut up = Plugin::start(&[], &[("NEXO_PLUGIN_KEY", "")]);
    up.request("initialize", json!({}));
    up.notify("broker.event", call("u1", json!({ "a": 1, "b": 1 })));
    up.wait_until("upstream reply", |s| s.frames.iter().any(|f| f["method"] == "broker.publish"));
    let ev = up.published()[0]["params"]["event"].clone();
    assert_eq!((ev["session_id"].clone(), ev["metadata"]["session_id"].clone()), (json!(nexo_plugin_sdk::session_uuid("s1")), json!("s1")));
    assert_eq!(pubs[1]["params"]["event"]["payload"]["error"]["code"], -33402);
}

#[test]
fn shutdown_drains_in_flight_work_runs_the_hook_replies_and_exits_0_within_1_s() {
    let mut p = Plugin::started();
    p.event("plugin.outbound.sink", json!({ "sleep_ms": 300, "n": 1 }));
    std::thread::sleep(Duration::from_millis(50));
    let r = p.request("shutdown", json!({ "reason": "test" }));
    assert_eq!(r["result"], json!({ "ok": true }));
    let frames = p.frames();
    let reply_at = frames.iter().position(|f| f == &r).unwrap();
    let pub_at = frames.iter().position(|f| f["method"] == "broker.publish").expect("the in-flight handler published");
    assert!(pub_at < reply_at, "the in-flight handler finished before the reply");
    assert_eq!(p.exit_code(Duration::from_secs(1)), Some(0));
    assert!(p.final_stderr().contains("shutdown hook ran"));
}

#[test]
fn shutdown_fails_pending_host_calls_and_refuses_new_requests() {
    let mut p = Plugin::started();
    // Holds the drain long enough that the request sent after `shutdown` is read before the plugin exits.
    p.event("plugin.outbound.sink", json!({ "sleep_ms": 500 }));
    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "recall", "query": "q" }, "agent_id": null }));
    p.wait_for("memory.recall", |f| f["method"] == "memory.recall");
    let waiter = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "host", "args": { "call": "wait_shutdown" }, "agent_id": null }));
    std::thread::sleep(Duration::from_millis(50));
    let shut = p.send_request("shutdown", json!({ "reason": "test" }));
    let late = p.send_request("no.such.method", json!({}));
    let r = p.reply_to(call);
    assert_eq!(r["error"]["code"], -33403);
    assert!(r["error"]["message"].as_str().unwrap().contains("shutting down"), "{r}");
    assert_eq!(p.reply_to(waiter)["result"], json!({ "saw_shutdown": true }));
    assert_eq!(p.reply_to(late)["error"]["code"], -32603);
    assert_eq!(p.reply_to(shut)["result"], json!({ "ok": true }));
    assert_eq!(p.exit_code(Duration::from_secs(2)), Some(0));
}

#[test]
fn a_failing_shutdown_hook_is_a_32000_reply_and_the_plugin_still_exits_0() {
    let mut p = Plugin::start(&[], &[("SINK_HOOK_FAILS", "1")]);
    p.request("initialize", json!({}));
    let r = p.request("shutdown", json!({}));
    assert_eq!(r["error"]["code"], -32000);
    assert_eq!(p.exit_code(Duration::from_secs(2)), Some(0));
}

#[test]
fn sigterm_sigint_and_stdin_eof_drain_and_exit_0() {
    for how in ["TERM", "INT", "eof"] {
        let mut p = Plugin::started();
        if how == "eof" {
            p.close_stdin();
        } else {
            p.signal(how);
        }
        assert_eq!(p.exit_code(Duration::from_secs(5)), Some(0), "{how}");
        assert!(p.final_stderr().contains("shutdown hook ran"), "{how}");
    }
}

#[test]
fn a_second_signal_while_draining_exits_at_once_with_1() {
    let mut p = Plugin::started();
    p.event("plugin.outbound.sink", json!({ "sleep_ms": 5000 }));
    std::thread::sleep(Duration::from_millis(100));
    p.signal("TERM");
    p.wait_until("drain started", |s| s.stderr.contains("shutting down"));
    p.signal("TERM");
    assert_eq!(p.exit_code(Duration::from_secs(2)), Some(1));
}

#[test]
fn stdout_guard_moves_println_and_child_process_output_to_stderr() {
    let mut p = Plugin::started();
    p.event("plugin.outbound.sink", json!({ "log": "hello from plugin code" }));
    p.event("plugin.outbound.sink", json!({ "spawn": true }));
    p.wait_until("two publishes", |s| s.frames.iter().filter(|f| f["method"] == "broker.publish").count() == 2);
    p.wait_until("guarded lines", |s| s.stderr.contains("[stdout-guard] from a child process"));
    assert!(p.stderr().contains("[stdout-guard] hello from plugin code"));
    assert_eq!(p.stray(), Vec::<String>::new(), "stdout carried only frames");
}

#[test]
fn a_failing_or_panicking_event_handler_is_logged_and_the_next_event_runs() {
    let mut p = Plugin::started();
    p.event("plugin.outbound.sink", json!({ "panic": true }));
    p.event("plugin.outbound.sink", json!({ "n": 2 }));
    let pubd = p.wait_for("the next event", |f| f["method"] == "broker.publish");
    assert_eq!(pubd["params"]["event"]["payload"], json!({ "n": 2 }));
    p.wait_until("the failure logged", |s| s.stderr.contains("event handler failed on plugin.outbound.sink"));
}

#[test]
fn the_event_backlog_is_bounded_and_overflow_is_dropped_and_logged() {
    let mut p = Plugin::start(&[], &[("SINK_MAX_QUEUED", "2")]);
    p.request("initialize", json!({}));
    for i in 0..20 {
        p.event("plugin.outbound.sink", json!({ "sleep_ms": 20, "i": i }));
    }
    p.wait_until("a drop logged", |s| s.stderr.contains("event backlog full"));
    p.request("shutdown", json!({}));
    assert_eq!(p.exit_code(Duration::from_secs(5)), Some(0));
    let n = p.published().len();
    assert!((2..20).contains(&n), "some events ran, some were dropped: {n}");
}

#[test]
fn the_conformance_probe_is_served_only_under_the_runner_and_other_tools_still_route() {
    let mut p = Plugin::start(&[], &[]);
    let init = p.request("initialize", json!({}));
    assert!(!init["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "conformance_probe"));
    assert_eq!(p.tool("conformance_probe", json!({ "action": "echo", "text": "x" }))["error"]["code"], -33401);

    let mut p = Plugin::start(&[], &[("NEXO_CONFORMANCE_PROBE", "1")]);
    let init = p.request("initialize", json!({}));
    let names: Vec<_> = init["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, [json!("add"), json!("host"), json!("fail"), json!("args"), json!("conformance_probe")]);
    let probe = |p: &mut Plugin, args: Value| p.tool("conformance_probe", args);
    assert_eq!(probe(&mut p, json!({ "action": "echo", "text": "hi" }))["result"], json!({ "content": [{ "type": "text", "text": "hi" }], "is_error": false }));
    assert_eq!(probe(&mut p, json!({ "action": "echo" }))["error"]["code"], -33402);
    assert_eq!(probe(&mut p, json!({}))["error"]["data"]["details"][0]["path"], "/action");
    for code in [-33401, -33402, -33403, -33404, -33405] {
        assert_eq!(probe(&mut p, json!({ "action": "fail", "code": code }))["error"]["code"], code);
    }
    assert_eq!(probe(&mut p, json!({ "action": "throw", "message": "boom" }))["error"]["code"], -33403);
    assert_eq!(probe(&mut p, json!({ "action": "print", "text": "probe print" }))["result"]["content"][0]["text"], "printed");
    p.wait_until("guarded print", |s| s.stderr.contains("[stdout-guard] probe print"));
    assert_eq!(p.tool("add", json!({ "a": 1, "b": 1 }))["result"]["content"][0]["text"], "2", "own tools still route");

    let call = p.send_request("tool.invoke", json!({ "plugin_id": "sink", "tool_name": "conformance_probe", "args": { "action": "llm_complete", "stream": true, "messages": [], "model": "m" }, "agent_id": null }));
    let req = p.wait_for("streamed llm.complete", |f| f["method"] == "llm.complete");
    assert_eq!((req["params"]["model"].clone(), req["params"]["max_tokens"].clone(), req["params"]["stream"].clone()), (json!("m"), json!(4096), json!(true)));
    p.notify("llm.complete.delta", json!({ "request_id": req["id"], "chunk": { "t": "a" } }));
    p.send(json!({ "jsonrpc": "2.0", "id": req["id"], "result": { "finish_reason": "stop", "usage": {} } }));
    assert_eq!(p.reply_to(call)["result"], json!({ "ok": true, "chunks": [{ "t": "a" }], "result": { "finish_reason": "stop", "usage": {} } }));
    let r = probe(&mut p, json!({ "action": "memory_recall", "agent_id": "a", "query": "q", "timeout_ms": 100 }));
    assert_eq!(r["result"], json!({ "ok": false, "timeout": true }));
}
