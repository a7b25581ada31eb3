//! The conformance probe: a tool through which `nexo plugin test` drives the
//! plugin (host calls, tool errors, a slow handler, stray prints). The
//! language-neutral definition is conformance/README.md, "The probe".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::errors::{HostCallError, ToolError};
use crate::tools::{text_result, ToolContext, ToolDef};

/// Name of the probe tool.
pub const CONFORMANCE_PROBE_TOOL: &str = "conformance_probe";
/// The runner sets this to `1` for the vectors that use the probe; the daemon never does.
pub const CONFORMANCE_PROBE_ENV: &str = "NEXO_CONFORMANCE_PROBE";

/// True when the conformance runner started this process.
pub(crate) fn probe_requested() -> bool {
    std::env::var(CONFORMANCE_PROBE_ENV).as_deref() == Ok("1")
}

/// The probe's entry in the `initialize` tool catalogue.
pub(crate) fn probe_def() -> ToolDef {
    ToolDef::new(
        CONFORMANCE_PROBE_TOOL,
        "Lets `nexo plugin test` drive the plugin; present only under the conformance runner",
        json!({ "type": "object", "properties": { "action": { "type": "string" } }, "required": ["action"] }),
    )
}

fn invalid(path: &str, message: &str) -> ToolError {
    ToolError::invalid_args(message, Some(json!([{ "path": path, "message": message }])))
}

/// How a host call ended, in the probe's words.
fn outcome(r: Result<Value, HostCallError>, chunks: Option<Vec<Value>>) -> Value {
    match r {
        Ok(result) => match chunks {
            Some(c) => json!({ "ok": true, "chunks": c, "result": result }),
            None => json!({ "ok": true, "result": result }),
        },
        Err(HostCallError::Timeout { .. }) => json!({ "ok": false, "timeout": true }),
        Err(HostCallError::Rpc(e)) => json!({ "ok": false, "error": { "code": e.code, "message": e.message } }),
        Err(other) => json!({ "ok": false, "error": { "message": other.to_string() } }),
    }
}

fn typed(code: Option<i64>) -> ToolError {
    match code {
        Some(-33401) => ToolError::not_found("asked to fail with -33401"),
        Some(-33402) => ToolError::invalid_args("asked to fail with -33402", Some(json!([{ "path": "/", "message": "rejected on request" }]))),
        Some(-33403) => ToolError::execution_failed("asked to fail with -33403", None),
        Some(-33404) => ToolError::unavailable("asked to fail with -33404", Some(250)),
        Some(-33405) => ToolError::denied("asked to fail with -33405"),
        _ => invalid("/code", "code must be one of -33401..-33405"),
    }
}

/// Carry out one probe action (conformance/README.md, "The probe").
pub(crate) async fn run_probe(args: Value, ctx: ToolContext) -> Result<Value, ToolError> {
    let args = match args {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let broker = match args.get("timeout_ms").and_then(Value::as_u64) {
        Some(ms) => ctx.broker.with_timeout(Duration::from_millis(ms)),
        None => ctx.broker.clone(),
    };
    match args.get("action").and_then(Value::as_str) {
        Some("echo") => match args.get("text").and_then(Value::as_str) {
            Some(text) => Ok(text_result(text, false)),
            None => Err(invalid("/text", "text must be a string")),
        },
        Some("fail") => Err(typed(args.get("code").and_then(Value::as_i64))),
        // Rust's uncaught exception is a panic; the adapter answers it with -33403.
        Some("throw") => panic!("{}", args.get("message").and_then(Value::as_str).unwrap_or("boom")),
        Some("sleep") => {
            tokio::time::sleep(Duration::from_millis(args.get("ms").and_then(Value::as_u64).unwrap_or(0))).await;
            Ok(text_result("slept", false))
        }
        Some("print") => {
            // The stdout guard must route this to stderr.
            println!("{}", args.get("text").and_then(Value::as_str).unwrap_or(""));
            Ok(text_result("printed", false))
        }
        Some("memory_recall") => {
            let params = json!({
                "agent_id": args.get("agent_id").and_then(Value::as_str).unwrap_or(""),
                "query": args.get("query").and_then(Value::as_str).unwrap_or(""),
                "limit": args.get("limit").cloned().unwrap_or(json!(10)),
            });
            Ok(outcome(broker.request("memory.recall", params).await, None))
        }
        Some("llm_complete") => {
            let stream = args.get("stream") == Some(&Value::Bool(true));
            let mut params = Map::new();
            params.insert("messages".into(), args.get("messages").cloned().unwrap_or(json!([])));
            params.insert("max_tokens".into(), json!(4096));
            params.insert("temperature".into(), json!(0.7));
            for k in ["provider", "model", "max_tokens", "temperature", "system_prompt"] {
                if let Some(v) = args.get(k) {
                    params.insert(k.into(), v.clone());
                }
            }
            params.insert("stream".into(), Value::Bool(stream));
            if !stream {
                return Ok(outcome(broker.request("llm.complete", Value::Object(params)).await, None));
            }
            let chunks = Arc::new(Mutex::new(Vec::new()));
            let sink = chunks.clone();
            let r = broker.request_streaming("llm.complete", Value::Object(params), move |c| sink.lock().unwrap().push(c)).await;
            let chunks = std::mem::take(&mut *chunks.lock().unwrap());
            Ok(outcome(r, Some(chunks)))
        }
        _ => Err(invalid("/action", "action is required: echo, fail, throw, sleep, print, memory_recall or llm_complete")),
    }
}
