"""Python SDK for nexo subprocess plugins: JSON-RPC 2.0, one object per line, over stdio."""
from .adapter import PluginAdapter, ToolContext
from .conformance import PROBE_ENV, PROBE_TOOL, conformance_probe
from .errors import (HostCallAbandoned, HostCallTimeout, RpcError, ToolDenied, ToolError, ToolExecutionFailed,
                     ToolInvalidArguments, ToolNotFound, ToolUnavailable)
from .event import Event, uuid7
from .framing import MAX_FRAME_BYTES
from .host_calls import BrokerSender, LlmStream
from .state import state_dir
from .tools import ToolDef, ToolInvocation, text_result

__all__ = [
    "PluginAdapter", "ToolContext", "BrokerSender", "LlmStream", "Event", "uuid7", "ToolDef", "ToolInvocation",
    "text_result", "RpcError", "HostCallTimeout", "HostCallAbandoned", "ToolError", "ToolNotFound",
    "ToolInvalidArguments", "ToolExecutionFailed", "ToolUnavailable", "ToolDenied", "state_dir", "MAX_FRAME_BYTES",
    "conformance_probe", "PROBE_TOOL", "PROBE_ENV",
]
