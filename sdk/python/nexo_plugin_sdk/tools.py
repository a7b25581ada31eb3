"""Tool definitions, invocations and the usual result shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolDef:
    """A tool advertised in the initialize result."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


@dataclass
class ToolInvocation:
    """The params of tool.invoke."""

    plugin_id: str
    tool_name: str
    args: dict[str, Any]
    agent_id: str | None


def text_result(text: str, is_error: bool = False) -> dict[str, Any]:
    """{content: [{type: text, text}], is_error}."""
    return {"content": [{"type": "text", "text": text}], "is_error": is_error}
