//! A plugin exercising every SDK feature, driven by `tests/process.rs` over real stdio.
//! `kitchen_sink no-tools` starts it without tools.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexo_plugin_sdk::{text_result, Event, LlmCompleteParams, Message, PluginAdapter, ToolDef, ToolError};
use serde_json::{json, Value};

const MANIFEST: &str = r#"
[plugin]
id = "sink"
version = "1.2.3"
[plugin.entrypoint]
command = "./kitchen_sink"
[[plugin.channels.register]]
kind = "sink"
[plugin.extends]
tools = ["add", "host", "fail", "args"]
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let with_tools = std::env::args().nth(1).as_deref() != Some("no-tools");
    let mut adapter = PluginAdapter::new(MANIFEST)
        .on_configure(|value| async move {
            if value.get("reject") == Some(&json!(true)) {
                return Err("rejected on purpose".into());
            }
            Ok(())
        })
        .on_event(|topic, event, broker| async move {
            let p = &event.payload;
            if let Some(text) = p.get("log").and_then(Value::as_str) {
                println!("{text}");
            }
            if p.get("spawn").is_some() {
                // A child inherits fd 1: the guard must catch its output too.
                std::process::Command::new("sh").args(["-c", "echo from a child process"]).status()?;
            }
            if p.get("panic").is_some() {
                panic!("event handler panicked on purpose");
            }
            if let Some(ms) = p.get("sleep_ms").and_then(Value::as_u64) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let out = topic.replace("plugin.outbound.", "plugin.inbound.");
            broker.publish(&out, Event::new(&out, "sink", event.payload)).await?;
            Ok(())
        })
        .on_topic_tool("calc.add", |args, _event| async move {
            let a = args.get("a").and_then(Value::as_f64).ok_or_else(|| ToolError::invalid_args("a is required", None))?;
            let b = args.get("b").and_then(Value::as_f64).unwrap_or(0.0);
            Ok(json!(a + b))
        })
        .on_shutdown(|| async {
            eprintln!("shutdown hook ran");
            if std::env::var("SINK_HOOK_FAILS").is_ok() {
                return Err("hook failed on purpose".into());
            }
            Ok(())
        });
    if let Some(n) = std::env::var("SINK_MAX_QUEUED").ok().and_then(|v| v.parse().ok()) {
        adapter = adapter.max_queued_events(n);
    }
    if with_tools {
        adapter = adapter
            .tools(vec![
                ToolDef::new("add", "adds", json!({ "type": "object", "properties": { "a": { "type": "number" }, "b": { "type": "number" } } })),
                ToolDef::new("host", "calls the host", json!({ "type": "object" })),
                ToolDef::new("fail", "fails as asked", json!({ "type": "object" })),
                ToolDef::new("args", "returns its arguments as received", json!({})),
            ])
            .on_tool(|inv, ctx| async move {
                let args = &inv.args;
                match inv.tool_name.as_str() {
                    "args" => Ok(json!({ "args": inv.args, "agent_id": inv.agent_id })),
                    "add" => {
                        let sum = args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0);
                        Ok(text_result(sum.to_string(), false))
                    }
                    "host" => {
                        let broker = match args.get("timeout_ms").and_then(Value::as_u64) {
                            Some(ms) => ctx.broker.with_timeout(Duration::from_millis(ms)),
                            None => ctx.broker.clone(),
                        };
                        let hi = || LlmCompleteParams::new(vec![Message::user("hi")]);
                        match args.get("call").and_then(Value::as_str) {
                            Some("recall") => {
                                let r = broker.memory_recall("a1", args["query"].as_str().unwrap_or(""), 10).await?;
                                Ok(json!({ "ids": r.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>() }))
                            }
                            Some("complete") => Ok(serde_json::to_value(broker.llm_complete(hi()).await?)?),
                            Some("stream") => {
                                let chunks = Arc::new(Mutex::new(Vec::new()));
                                let sink = chunks.clone();
                                let done = broker.llm_complete_stream(hi(), move |c| sink.lock().unwrap().push(c)).await?;
                                let chunks = chunks.lock().unwrap().clone();
                                Ok(json!({ "chunks": chunks, "finish_reason": done.finish_reason }))
                            }
                            Some("subscribe") => {
                                let b2 = broker.clone();
                                let id = broker
                                    .subscribe("plugin.outbound.sink.sub.>", move |topic, event| {
                                        let b = b2.clone();
                                        async move {
                                            let out = "plugin.inbound.sink.sub";
                                            b.publish(out, Event::new(out, "sink", json!({ "via": topic, "payload": event.payload }))).await?;
                                            Ok(())
                                        }
                                    })
                                    .await?;
                                Ok(json!({ "subscriber_id": id }))
                            }
                            Some("wait_shutdown") => {
                                let mut signal = ctx.shutdown.clone();
                                signal.wait().await;
                                Ok(json!({ "saw_shutdown": true }))
                            }
                            _ => Err(ToolError::invalid_args("unknown call", Some(json!([{ "path": "/call" }])))),
                        }
                    }
                    "fail" => match args.get("how").and_then(Value::as_str).unwrap_or("") {
                        "not_found" => Err(ToolError::not_found("ghost")),
                        "invalid" => Err(ToolError::invalid_args("bad args", Some(json!([{ "path": "/a", "message": "required" }])))),
                        "failed" => Err(ToolError::execution_failed("upstream 500", None)),
                        "unavailable" => Err(ToolError::unavailable("busy", Some(250))),
                        "denied" => Err(ToolError::denied("no")),
                        "parse" => {
                            let n: i64 = "not a number".parse()?;
                            Ok(json!(n))
                        }
                        "big" => Ok(json!({ "big": "x".repeat(2 * 1024 * 1024) })),
                        _ => panic!("plain crash"),
                    },
                    other => Err(ToolError::not_found(other)),
                }
            });
    }
    adapter.conformance_probe().run().await
}
