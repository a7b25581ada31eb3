"""JSON-RPC and contract error codes, and the typed tool errors."""
from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SHUTDOWN_FAILED = -32000
TOOL_NOT_FOUND = -33401
TOOL_INVALID_ARGS = -33402
TOOL_EXECUTION_FAILED = -33403
TOOL_UNAVAILABLE = -33404
TOOL_DENIED = -33405


class RpcError(Exception):
    """An error reply (from the host, or one the plugin sends)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            d["data"] = self.data
        return d


class HostCallTimeout(Exception):
    """The host did not answer a plugin's request within its deadline."""


class HostCallAbandoned(Exception):
    """The plugin started shutting down while the host call was pending (or before it was sent)."""


class ToolError(RpcError):
    """Base of the typed tool errors: raise one from on_tool to send its contract code."""


class ToolNotFound(ToolError):
    """-33401: no such tool."""

    def __init__(self, tool_name: str) -> None:
        super().__init__(TOOL_NOT_FOUND, f"tool not found: {tool_name}")


class ToolInvalidArguments(ToolError):
    """-33402: arguments do not fit the schema; details (sent as data.details) lists what is wrong."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(TOOL_INVALID_ARGS, message, None if details is None else {"details": details})


class ToolExecutionFailed(ToolError):
    """-33403: the tool ran and failed."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(TOOL_EXECUTION_FAILED, message, data)


class ToolUnavailable(ToolError):
    """-33404: temporarily unavailable; the caller may retry after retry_after_ms (sent as data.retry_after_ms)."""

    def __init__(self, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(TOOL_UNAVAILABLE, message, None if retry_after_ms is None else {"retry_after_ms": retry_after_ms})


class ToolDenied(ToolError):
    """-33405: the caller may not use this tool."""

    def __init__(self, message: str) -> None:
        super().__init__(TOOL_DENIED, message)
