"""Python SDK for nexo subprocess plugins: JSON-RPC 2.0, one object per line, over stdio."""
from .adapter import PluginAdapter, ToolContext
from .errors import (HostCallTimeout, RpcError, ToolDenied, ToolError, ToolExecutionFailed, ToolInvalidArguments,
                     ToolNotFound, ToolUnavailable)
from .event import Event, uuid7
from .framing import MAX_FRAME_BYTES
from .host_calls import BrokerSender
from .state import state_dir
from .tools import ToolDef, ToolInvocation, text_result

__all__ = [
    "PluginAdapter", "ToolContext", "BrokerSender", "Event", "uuid7", "ToolDef", "ToolInvocation", "text_result",
    "RpcError", "HostCallTimeout", "ToolError", "ToolNotFound", "ToolInvalidArguments", "ToolExecutionFailed",
    "ToolUnavailable", "ToolDenied", "state_dir", "MAX_FRAME_BYTES",
]
