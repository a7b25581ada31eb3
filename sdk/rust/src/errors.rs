//! JSON-RPC and contract error codes, the typed tool errors, and the SDK's own errors.

use std::fmt;

use serde_json::{json, Map, Value};

/// The numeric error codes the SDK sends or receives (docs/contract.md, Errors and Tools).
pub mod codes {
    /// The line was not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC 2.0 object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method (also: `tool.invoke` on a plugin without a tool handler).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params of the wrong shape.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error, or a host service that is not configured.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The shutdown hook failed.
    pub const SHUTDOWN_FAILED: i64 = -32000;
    /// Channel: the service cannot be reached.
    pub const CHANNEL_CONNECTION: i64 = -33001;
    /// Channel: the credentials were refused.
    pub const CHANNEL_AUTHENTICATION: i64 = -33002;
    /// Channel: the recipient is invalid (`data.recipient`, `data.reason`).
    pub const CHANNEL_RECIPIENT_INVALID: i64 = -33003;
    /// Channel: rate limited (`data.retry_after_secs`).
    pub const CHANNEL_RATE_LIMITED: i64 = -33004;
    /// Channel: the message needs a feature the channel lacks (`data.feature`).
    pub const CHANNEL_UNSUPPORTED: i64 = -33005;
    /// Tool not found.
    pub const TOOL_NOT_FOUND: i64 = -33401;
    /// Invalid tool arguments (`data.details`).
    pub const TOOL_INVALID_ARGS: i64 = -33402;
    /// The tool ran and failed (also any other error or panic in a tool handler).
    pub const TOOL_EXECUTION_FAILED: i64 = -33403;
    /// Temporarily unavailable (`data.retry_after_ms`).
    pub const TOOL_UNAVAILABLE: i64 = -33404;
    /// The caller may not use this tool.
    pub const TOOL_DENIED: i64 = -33405;
}

/// What a handler may fail with; `?` converts any `std::error::Error` into it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A JSON-RPC error object: one the host replied with, or one the plugin sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The numeric code (see [`codes`]).
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// Optional structured detail.
    pub data: Option<Value>,
}

impl RpcError {
    /// A new error object.
    pub fn new(code: i64, message: impl Into<String>, data: Option<Value>) -> Self {
        RpcError { code, message: message.into(), data }
    }

    /// Read an `error` member of a response; anything malformed becomes -32603.
    pub(crate) fn from_value(v: &Value) -> Self {
        let code = v.get("code").and_then(Value::as_i64).unwrap_or(codes::INTERNAL_ERROR);
        let message = match v.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "host error".to_string(),
        };
        RpcError { code, message, data: v.get("data").cloned() }
    }

    /// The wire form `{code, message, data?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        if let Some(d) = &self.data {
            m.insert("data".into(), d.clone());
        }
        Value::Object(m)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// The error a tool handler returns; its code goes on the wire (-33401..-33405).
///
/// Any `std::error::Error` converts into it with `?` as -33403 (execution
/// failed), like an uncaught exception in the other SDKs. It deliberately does
/// not implement `std::error::Error` itself, so that blanket conversion can exist
/// (the same trick as `anyhow::Error`).
///
/// ```
/// use nexo_plugin_sdk::ToolError;
/// let e = ToolError::unavailable("rate limited", Some(250));
/// assert_eq!(e.code(), -33404);
/// ```
pub struct ToolError(RpcError);

impl ToolError {
    /// -33401: no such tool.
    pub fn not_found(tool_name: &str) -> Self {
        ToolError(RpcError::new(codes::TOOL_NOT_FOUND, format!("tool not found: {tool_name}"), None))
    }
    /// -33402: the arguments do not fit; `details` (e.g. a list of violations) goes in `data.details`.
    pub fn invalid_args(message: impl Into<String>, details: Option<Value>) -> Self {
        ToolError(RpcError::new(codes::TOOL_INVALID_ARGS, message, details.map(|d| json!({ "details": d }))))
    }
    /// -33403: the tool ran and failed.
    pub fn execution_failed(message: impl Into<String>, data: Option<Value>) -> Self {
        ToolError(RpcError::new(codes::TOOL_EXECUTION_FAILED, message, data))
    }
    /// -33404: temporarily unavailable; the caller may retry after `retry_after_ms`.
    pub fn unavailable(message: impl Into<String>, retry_after_ms: Option<u64>) -> Self {
        ToolError(RpcError::new(codes::TOOL_UNAVAILABLE, message, retry_after_ms.map(|ms| json!({ "retry_after_ms": ms }))))
    }
    /// A tool error with any code and message, sent as is.
    pub fn with_code(code: i64, message: impl Into<String>) -> Self {
        ToolError(RpcError::new(code, message, None))
    }
    /// -33405: the caller may not use this tool.
    pub fn denied(message: impl Into<String>) -> Self {
        ToolError(RpcError::new(codes::TOOL_DENIED, message, None))
    }
    /// The contract code sent to the host.
    pub fn code(&self) -> i64 {
        self.0.code
    }
    /// The message sent to the host.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The `data` member sent to the host, if any.
    pub fn data(&self) -> Option<&Value> {
        self.0.data.as_ref()
    }
    /// The wire form `{code, message, data?}`.
    pub fn to_json(&self) -> Value {
        self.0.to_json()
    }
    /// The underlying error object.
    pub fn into_rpc_error(self) -> RpcError {
        self.0
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(err: E) -> Self {
        ToolError::execution_failed(err.to_string(), None)
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ToolError").field(&self.0).finish()
    }
}

/// A frame the SDK could not hand to the writer.
#[derive(Debug)]
pub enum FrameError {
    /// The serialized frame exceeds `max_frame_bytes` (default 1 MiB).
    TooLarge {
        /// Size of the serialized frame.
        bytes: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The value could not be serialized as JSON.
    Json(serde_json::Error),
    /// The writer is gone (the plugin finished shutting down, or stdout closed).
    Closed,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { bytes, limit } => write!(f, "frame of {bytes} bytes exceeds the {limit}-byte limit"),
            FrameError::Json(e) => write!(f, "frame is not serializable as JSON: {e}"),
            FrameError::Closed => write!(f, "frame not sent: the plugin's writer is closed"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Json(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a request the plugin made of the host (memory.recall, llm.complete, broker.subscribe...) failed.
#[derive(Debug)]
pub enum HostCallError {
    /// The host replied with an error (e.g. -32603 "not configured", or an allowlist refusal).
    Rpc(RpcError),
    /// No reply within the deadline (default 30 s).
    Timeout {
        /// The method called.
        method: String,
        /// The deadline in milliseconds.
        timeout_ms: u64,
    },
    /// The plugin is shutting down: pending and new host calls fail at once.
    ShuttingDown {
        /// The method called.
        method: String,
    },
    /// The request could not be sent.
    Frame(FrameError),
    /// The reply did not have the expected shape.
    BadReply {
        /// The method called.
        method: String,
        /// What was wrong.
        reason: String,
    },
}

impl fmt::Display for HostCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostCallError::Rpc(e) => write!(f, "{e}"),
            HostCallError::Timeout { method, timeout_ms } => write!(f, "host did not answer {method} within {timeout_ms} ms"),
            HostCallError::ShuttingDown { method } => write!(f, "{method} failed: plugin is shutting down"),
            HostCallError::Frame(e) => write!(f, "{e}"),
            HostCallError::BadReply { method, reason } => write!(f, "unexpected {method} reply: {reason}"),
        }
    }
}

impl std::error::Error for HostCallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HostCallError::Rpc(e) => Some(e),
            HostCallError::Frame(e) => Some(e),
            _ => None,
        }
    }
}

impl From<FrameError> for HostCallError {
    fn from(e: FrameError) -> Self {
        HostCallError::Frame(e)
    }
}

/// A manifest the adapter cannot start from.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestError(pub String);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ManifestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_errors_carry_their_contract_codes_and_data() {
        assert_eq!(ToolError::not_found("x").code(), -33401);
        let e = ToolError::invalid_args("bad", Some(json!([{ "path": "/a" }])));
        assert_eq!(e.to_json(), json!({ "code": -33402, "message": "bad", "data": { "details": [{ "path": "/a" }] } }));
        assert_eq!(ToolError::execution_failed("boom", None).code(), -33403);
        assert_eq!(ToolError::unavailable("busy", Some(5)).to_json(), json!({ "code": -33404, "message": "busy", "data": { "retry_after_ms": 5 } }));
        assert_eq!(ToolError::unavailable("busy", None).data(), None);
        assert_eq!(ToolError::denied("no").code(), -33405);
    }

    #[test]
    fn any_std_error_converts_to_execution_failed() {
        fn fails() -> Result<(), ToolError> {
            let _n: i32 = "nope".parse()?;
            Ok(())
        }
        let e = fails().unwrap_err();
        assert_eq!(e.code(), codes::TOOL_EXECUTION_FAILED);
        assert!(e.message().contains("invalid digit"));
    }

    #[test]
    fn rpc_error_from_a_malformed_error_member_is_internal() {
        let e = RpcError::from_value(&json!({ "message": 5 }));
        assert_eq!(e.code, codes::INTERNAL_ERROR);
        assert_eq!(e.message, "5");
        let e = RpcError::from_value(&json!({ "code": -32603, "message": "llm not configured", "data": { "x": 1 } }));
        assert_eq!(e.to_json(), json!({ "code": -32603, "message": "llm not configured", "data": { "x": 1 } }));
    }
}
