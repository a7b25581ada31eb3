"""Tools: definitions, invocations, the handler's context, the typed errors, and the
usual result shape."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import TOOL_DENIED, TOOL_EXECUTION_FAILED, TOOL_INVALID_ARGS, TOOL_NOT_FOUND, TOOL_UNAVAILABLE

if TYPE_CHECKING:
    from .broker import BrokerSender


@dataclass(frozen=True)
class ToolDef:
    """A tool advertised in the ``initialize`` result. ``name`` must be listed in the
    manifest's ``[plugin.extends].tools``; ``input_schema`` is a JSON Schema the host
    checks arguments against (default ``{}``: anything)."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}

    #: Nexo's older name.
    to_dict = to_json


@dataclass(frozen=True)
class ToolInvocation:
    """One ``tool.invoke``: ``args`` is the JSON the caller sent, verbatim (an object,
    or any other JSON value), None when the request had none; ``agent_id`` is None
    when absent."""

    plugin_id: str
    tool_name: str
    args: Any = None
    agent_id: str | None = None


@dataclass
class ToolContext:
    """What a tool handler can reach besides its invocation: ``broker`` (publish, host
    calls), ``plugin_id``, and (Nexo) ``shutting_down``, an ``asyncio.Event`` set once
    the plugin starts shutting down."""

    broker: "BrokerSender"
    plugin_id: str
    shutting_down: asyncio.Event | None = None


class ToolInvocationError(Exception):
    """Base of the errors a tool handler raises to answer with a contract code
    (``code``); ``error_data()`` is the reply's ``data`` (None for none). Any other
    exception a handler raises is answered -33403."""

    #: The JSON-RPC error code of this kind.
    code: int = TOOL_EXECUTION_FAILED

    def __init__(self, message: str = "") -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The reply's ``error.message``: the exception's text."""
        return str(self)

    @property
    def data(self) -> Any:
        """The reply's ``error.data`` (Nexo name for ``error_data()``)."""
        return self.error_data()

    def error_data(self) -> dict[str, Any] | None:
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` object."""
        d: dict[str, Any] = {"code": self.code, "message": self.message}
        data = self.error_data()
        if data is not None:
            d["data"] = data
        return d


class ToolNotFound(ToolInvocationError):
    """-33401: the plugin does not implement this tool."""

    code = TOOL_NOT_FOUND

    def __init__(self, tool_name: str) -> None:
        super().__init__(f"tool not found: {tool_name}")
        self.tool_name = tool_name


class ToolArgumentInvalid(ToolInvocationError):
    """-33402: the arguments are wrong; ``details`` (any JSON; the conformance kit
    expects a list of ``{path, message}``) is sent as ``data.details``."""

    code = TOOL_INVALID_ARGS

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(f"invalid argument: {message}")
        self.details = details

    def error_data(self) -> dict[str, Any] | None:
        return None if self.details is None else {"details": self.details}


class ToolExecutionFailed(ToolInvocationError):
    """-33403: the tool ran and failed. (Nexo) ``data`` is sent as the reply's data."""

    code = TOOL_EXECUTION_FAILED

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(f"execution failed: {message}")
        self._data = data

    def error_data(self) -> Any:
        return self._data


class ToolUnavailable(ToolInvocationError):
    """-33404: cannot run now; ``retry_after_ms`` is sent as ``data.retry_after_ms``."""

    code = TOOL_UNAVAILABLE

    def __init__(self, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(f"unavailable: {message}")
        self.retry_after_ms = retry_after_ms

    def error_data(self) -> dict[str, Any] | None:
        return None if self.retry_after_ms is None else {"retry_after_ms": self.retry_after_ms}


class ToolDenied(ToolInvocationError):
    """-33405: this caller may not use the tool."""

    code = TOOL_DENIED

    def __init__(self, message: str) -> None:
        super().__init__(f"denied: {message}")


#: Deprecated Nexo names.
ToolError = ToolInvocationError
ToolInvalidArguments = ToolArgumentInvalid


def text_result(text: str, is_error: bool = False) -> dict[str, Any]:
    """``{"content": [{"type": "text", "text": text}], "is_error": is_error}``, the usual
    tool result; a handler may return any other JSON value too."""
    return {"content": [{"type": "text", "text": text}], "is_error": is_error}
