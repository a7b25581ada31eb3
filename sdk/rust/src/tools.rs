//! Tool definitions, invocations and the usual result shape.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::broker::BrokerSender;
use crate::ShutdownSignal;

/// A tool the plugin serves, advertised in the `initialize` result. List its
/// name in `[plugin.extends].tools` too, or the host refuses the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// The tool's name within the plugin (the host shows it as `<plugin_id>_<name>`).
    pub name: String,
    /// What the tool does, for the agent.
    pub description: String,
    /// JSON Schema of the arguments; the host validates arguments before calling.
    pub input_schema: Value,
}

impl ToolDef {
    /// A tool definition.
    pub fn new(name: impl Into<String>, description: impl Into<String>, input_schema: Value) -> Self {
        ToolDef { name: name.into(), description: description.into(), input_schema }
    }
}

/// The params of `tool.invoke`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInvocation {
    /// The plugin id the host addressed.
    pub plugin_id: String,
    /// Which tool.
    pub tool_name: String,
    /// The arguments as the caller sent them (already validated by the host against `input_schema`); `Value::Null` when omitted.
    pub args: Value,
    /// The calling agent, if known.
    pub agent_id: Option<String>,
}

/// What a tool handler gets besides the invocation.
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// Publish and call host services from inside the tool.
    pub broker: BrokerSender,
    /// Set when the plugin starts shutting down.
    pub shutdown: ShutdownSignal,
}

/// `{content: [{type: "text", text}], is_error}`.
///
/// ```
/// let r = nexo_plugin_sdk::text_result("sent", false);
/// assert_eq!(r["content"][0]["text"], "sent");
/// ```
pub fn text_result(text: impl Into<String>, is_error: bool) -> Value {
    json!({ "content": [{ "type": "text", "text": text.into() }], "is_error": is_error })
}

/// The topic a topic-form tool call is answered on: `plugin.tool.<name>` -> `plugin.tool.<name>.reply`.
pub fn reply_topic(topic: &str) -> String {
    format!("{topic}.reply")
}

/// The topic a topic-form tool (docs/writing-plugins.md, Tools) is called on: `plugin.tool.<name>`.
pub fn tool_topic(name: &str) -> String {
    format!("plugin.tool.{name}")
}
