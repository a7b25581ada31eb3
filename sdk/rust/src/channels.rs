//! Channel plugins (`[plugin.extends] channels`) and hook handlers (`[plugin.extends] hooks`).

use serde_json::{json, Value};

use crate::errors::{codes, RpcError};

/// One channel request from the host, for a kind in `[plugin.extends] channels`.
#[derive(Debug, Clone)]
pub enum ChannelRequest {
    /// `channel.start {kind, instance}`: connect and begin publishing inbound events. Answer `{ok: true}`.
    Start { kind: String, instance: Option<String> },
    /// `channel.stop {kind}`: release what start took. Answer `{ok: true}`.
    Stop { kind: String },
    /// `channel.send_outbound {kind, msg, instance}`: send one message (`msg.kind` text | media | custom).
    /// Answer `{message_id, sent_at_unix}`.
    SendOutbound { kind: String, msg: Value, instance: Option<String> },
}

/// A channel method failed: one of the contract's -33001..-33005 codes (the host
/// turns it into a typed error), or -32603 for anything else.
#[derive(Debug, Clone)]
pub struct ChannelError(RpcError);

impl ChannelError {
    /// -33001: the service behind the channel cannot be reached.
    pub fn connection(message: impl Into<String>) -> Self {
        ChannelError(RpcError::new(codes::CHANNEL_CONNECTION, message, None))
    }
    /// -33002: the service refused the channel's credentials.
    pub fn authentication(message: impl Into<String>) -> Self {
        ChannelError(RpcError::new(codes::CHANNEL_AUTHENTICATION, message, None))
    }
    /// -33003: the recipient does not exist or cannot be written to; `data: {recipient, reason}`.
    pub fn recipient_invalid(recipient: &str, reason: &str) -> Self {
        ChannelError(RpcError::new(codes::CHANNEL_RECIPIENT_INVALID, format!("recipient {recipient} is invalid: {reason}"), Some(json!({ "recipient": recipient, "reason": reason }))))
    }
    /// -33004: the service is rate limiting; `data: {retry_after_secs}`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ChannelError(RpcError::new(codes::CHANNEL_RATE_LIMITED, "rate limited", Some(json!({ "retry_after_secs": retry_after_secs }))))
    }
    /// -33005: the channel cannot send this; `data: {feature}`.
    pub fn unsupported(feature: &str) -> Self {
        ChannelError(RpcError::new(codes::CHANNEL_UNSUPPORTED, format!("unsupported: {feature}"), Some(json!({ "feature": feature }))))
    }
    /// Any other failure: -32603.
    pub fn other(message: impl Into<String>) -> Self {
        ChannelError(RpcError::new(codes::INTERNAL_ERROR, message, None))
    }
    /// The underlying error object.
    pub fn into_rpc_error(self) -> RpcError {
        self.0
    }
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ChannelError {}

/// One `hook.on_hook {plugin_id, hook_name, event}`. Answer a HookResponse
/// (`{"decision": "block", "reason": ...}`, `{"decision": "transform", "transformed_body": ...}`,
/// `{"override": {...}}`, `{"do_not_reply_again": true}`) or `{}` to allow.
#[derive(Debug, Clone)]
pub struct HookInvocation {
    pub plugin_id: String,
    pub hook_name: String,
    pub event: Value,
}

/// Read a channel request's params: the request, or the -32602 to answer.
pub(crate) fn channel_request(method: &str, params: Option<&Value>) -> Result<ChannelRequest, RpcError> {
    let kind = match params.and_then(|p| p.get("kind")).and_then(Value::as_str) {
        Some(k) if !k.is_empty() => k.to_string(),
        _ => return Err(RpcError::new(codes::INVALID_PARAMS, format!("{method} params need a string kind"), None)),
    };
    let instance = params.and_then(|p| p.get("instance")).and_then(Value::as_str).map(str::to_string);
    match method {
        "channel.start" => Ok(ChannelRequest::Start { kind, instance }),
        "channel.stop" => Ok(ChannelRequest::Stop { kind }),
        _ => match params.and_then(|p| p.get("msg")) {
            Some(msg) if msg.get("kind").and_then(Value::as_str).is_some() => Ok(ChannelRequest::SendOutbound { kind, msg: msg.clone(), instance }),
            _ => Err(RpcError::new(codes::INVALID_PARAMS, "channel.send_outbound params need msg: {kind, ...}", None)),
        },
    }
}
