"""(Nexo) Serving ``llm.chat`` for the providers of ``[plugin.extends].llm_providers``.

The host sends ``llm.chat {provider, model, stream, request}``; the handler returns
``{content: {type: "text", text} | {type: "tool_calls", tool_calls}, usage, finish_reason}``.
A streamed request gets ``llm.chat.delta {request_id, chunk}`` notifications first, sent
with ``ctx.emit(chunk)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Union

CONNECTION = -33101
AUTHENTICATION = -33102
INVALID_REQUEST = -33103
RATE_LIMITED = -33104
UNSUPPORTED = -33105


class LlmProviderError(Exception):
    """Raise from an ``on_llm_chat`` handler to answer with a -331xx code (and ``data``);
    anything else raised answers -33101 with its message."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass
class LlmChatContext:
    """What an ``on_llm_chat`` handler gets besides the params: ``stream`` (the host wants
    chunks) and ``emit(chunk)`` (one ``llm.chat.delta``; ignored when not streaming)."""

    stream: bool
    emit: Callable[[dict[str, Any]], None]


LlmChatHandler = Callable[[dict[str, Any], LlmChatContext], Union[dict[str, Any], Awaitable[dict[str, Any]]]]


def llm_text(text: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> dict[str, Any]:
    """A text answer, the usual return value of a handler."""
    return {"content": {"type": "text", "text": text},
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
            "finish_reason": {"kind": "stop"}}


def check_llm_chat_params(params: Any) -> dict[str, Any] | str:
    """The params with ``stream`` and ``model`` defaulted, or a message naming what is wrong."""
    if not isinstance(params, dict):
        return "llm.chat params must be an object {provider, model, stream, request}"
    if not isinstance(params.get("provider"), str):
        return "llm.chat params.provider must be a string"
    request = params.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return "llm.chat params.request must be an object with messages"
    model = params.get("model") if isinstance(params.get("model"), str) else request.get("model", "")
    return {"provider": params["provider"], "model": model, "stream": params.get("stream") is True, "request": request}


def llm_error_reply(exc: BaseException) -> tuple[int, str, Any]:
    """(code, message, data) of the error reply for what a handler raised."""
    if isinstance(exc, LlmProviderError):
        return exc.code, exc.message, exc.data
    return CONNECTION, str(exc) or repr(exc), None
