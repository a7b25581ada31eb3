"""Exceptions of the SDK and the JSON-RPC / contract error codes.

The class tree is the reference SDK's: ``PluginError`` > ``ManifestError``,
``WireError``, ``RpcError`` > ``RpcServerError``, ``RpcTimeoutError``,
``RpcTransportError``, ``RpcDecodeError``. The typed tool errors live in
``tools`` (re-exported here for older imports).
"""
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
CHANNEL_CONNECTION = -33001
CHANNEL_AUTHENTICATION = -33002
CHANNEL_RECIPIENT_INVALID = -33003
CHANNEL_RATE_LIMITED = -33004
CHANNEL_UNSUPPORTED = -33005


class PluginError(Exception):
    """Base class of every SDK error."""


class ManifestError(PluginError, ValueError):
    """The manifest TOML does not parse, or a required field is missing or invalid.
    Also a ValueError, which is what older Nexo code caught."""


class WireError(PluginError):
    """A malformed or oversized frame (from the host, or built by a handler)."""


class RpcError(PluginError):
    """A plugin-to-host request failed; base of the concrete kinds below.

    ``code``/``message``/``data`` are set when the host answered with an error
    (``RpcServerError``) and are None otherwise. The older Nexo form
    ``RpcError(code, message, data=None)`` still constructs one."""

    code: int | None = None
    data: Any = None

    def __init__(self, *args: Any, data: Any = None) -> None:
        if len(args) >= 2 and isinstance(args[0], int) and not isinstance(args[0], bool):
            self.code = args[0]
            self.message = str(args[1])
            self.data = args[2] if len(args) > 2 else data
            super().__init__(self.message)
            return
        super().__init__(*args)
        self.message = str(args[0]) if args else ""
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` object: ``{code, message, data?}`` (-32603 when there is no code)."""
        d: dict[str, Any] = {"code": INTERNAL_ERROR if self.code is None else self.code, "message": self.message}
        if self.data is not None:
            d["data"] = self.data
        return d


class RpcServerError(RpcError):
    """The host answered with a JSON-RPC error: ``code`` (-32603 backend missing or not
    configured, -32602 bad params, -32601 not wired host-side), ``message``, and
    ``data`` when the host sent one."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"rpc error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class RpcTimeoutError(RpcError):
    """No reply within the call's deadline; ``seconds`` is that deadline."""

    def __init__(self, seconds: float, message: str | None = None) -> None:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            # The older Nexo form HostCallTimeout("message").
            message, seconds = str(seconds), float("nan")
        super().__init__(message or f"no host reply within {seconds:g}s")
        self.seconds = seconds


class RpcTransportError(RpcError):
    """The request could not be sent, or its reply will never come (the plugin is
    shutting down, or the host went away)."""


class RpcDecodeError(RpcError):
    """The host's reply does not have the shape the call returns."""


#: Deprecated Nexo names, kept so older plugins keep working.
HostCallTimeout = RpcTimeoutError
HostCallAbandoned = RpcTransportError


def __getattr__(name: str) -> Any:
    # The typed tool errors moved to .tools (where the reference SDK keeps them); old imports still work.
    from . import tools

    if name in ("ToolError", "ToolNotFound", "ToolInvalidArguments", "ToolArgumentInvalid", "ToolExecutionFailed",
                "ToolUnavailable", "ToolDenied", "ToolInvocationError"):
        return getattr(tools, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
