"""Python SDK for nexo subprocess plugins: JSON-RPC 2.0, one object per line, over stdio.

Every public name of the reference SDK (lordmacu/nexo-plugin-sdks, ``python/``) is
here with its signature; Nexo's additions sit beside them (README: "Reference API
and what Nexo adds")."""
from __future__ import annotations

import warnings
from typing import Any

from .adapter import EventHandler, PluginAdapter, ShutdownHandler, ToolHandler, ToolHandlerWithContext
from .broker import BrokerSender
from .channels import (ChannelAuthenticationError, ChannelConnectionError, ChannelError, ChannelHandlers, ChannelRateLimited,
                       ChannelRecipientInvalid, ChannelUnsupported, HookHandler, HookInvocation)
from .conformance import PROBE_ENV, PROBE_TOOL, conformance_probe
from .errors import (ManifestError, PluginError, RpcDecodeError, RpcError, RpcServerError, RpcTimeoutError,
                     RpcTransportError, WireError)
from .events import Event, uuid7
from .host import DEFAULT_RPC_TIMEOUT, LlmCompleteResult, LlmStream, MemoryEntry, Message, TokenCount
from .llm_provider import LlmChatContext, LlmProviderError, llm_text
from .manifest import read_manifest
from .state import state_dir
from .stdout_guard import STDOUT_GUARD_MARKER, install_stdout_guard, is_stdout_guard_installed, uninstall_stdout_guard
from .tools import (ToolArgumentInvalid, ToolContext, ToolDef, ToolDenied, ToolExecutionFailed, ToolInvocation,
                    ToolInvocationError, ToolNotFound, ToolUnavailable, text_result)
from .wire import (JSONRPC_VERSION, MAX_FRAME_BYTES, build_error_response, build_notification, build_response,
                   serialize_frame)

__version__ = "0.4.0"

# Older Nexo names: still importable, with a DeprecationWarning naming the replacement.
_DEPRECATED = {
    "ToolInvalidArguments": ("ToolArgumentInvalid", ToolArgumentInvalid),
    "ToolError": ("ToolInvocationError", ToolInvocationError),
    "HostCallTimeout": ("RpcTimeoutError", RpcTimeoutError),
    "HostCallAbandoned": ("RpcTransportError", RpcTransportError),
}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(f"nexo_plugin_sdk.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # Reference SDK API
    "PluginAdapter", "BrokerSender", "Event", "EventHandler", "ShutdownHandler", "ToolHandler", "ToolHandlerWithContext",
    "ToolDef", "ToolInvocation", "ToolContext", "ToolInvocationError", "ToolNotFound", "ToolArgumentInvalid",
    "ToolExecutionFailed", "ToolUnavailable", "ToolDenied", "text_result",
    "MemoryEntry", "Message", "TokenCount", "LlmCompleteResult", "LlmStream", "DEFAULT_RPC_TIMEOUT",
    "PluginError", "ManifestError", "WireError", "RpcError", "RpcServerError", "RpcTimeoutError", "RpcTransportError",
    "RpcDecodeError", "read_manifest",
    "install_stdout_guard", "uninstall_stdout_guard", "is_stdout_guard_installed", "STDOUT_GUARD_MARKER",
    "JSONRPC_VERSION", "MAX_FRAME_BYTES", "serialize_frame", "build_response", "build_error_response", "build_notification",
    # Nexo additions
    "uuid7", "state_dir", "conformance_probe", "PROBE_TOOL", "PROBE_ENV",
    "ChannelError", "ChannelConnectionError", "ChannelAuthenticationError", "ChannelRecipientInvalid", "ChannelRateLimited",
    "ChannelUnsupported", "ChannelHandlers", "HookInvocation", "HookHandler",
    "LlmChatContext", "LlmProviderError", "llm_text",
]
