"""Channel plugins (``[plugin.extends] channels``) and hook handlers (``[plugin.extends] hooks``).

The host sends ``channel.start {kind, instance}`` once the plugin is ready,
``channel.stop {kind}`` before stopping it, ``channel.send_outbound {kind, msg,
instance}`` for every outbound message, and ``hook.on_hook {plugin_id, hook_name,
event}`` at the hook points the plugin lists."""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from . import errors as E
from .errors import PluginError


class ChannelError(PluginError):
    """A channel method failed with one of the contract's codes (-33001..-33005); the
    host turns it into a typed error. Raise one of the subclasses from a handler."""

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


class ChannelConnectionError(ChannelError):
    """-33001: the service behind the channel cannot be reached."""

    def __init__(self, message: str) -> None:
        super().__init__(E.CHANNEL_CONNECTION, message)


class ChannelAuthenticationError(ChannelError):
    """-33002: the service refused the channel's credentials."""

    def __init__(self, message: str) -> None:
        super().__init__(E.CHANNEL_AUTHENTICATION, message)


class ChannelRecipientInvalid(ChannelError):
    """-33003: the recipient does not exist or cannot be written to; ``data: {recipient, reason}``."""

    def __init__(self, recipient: str, reason: str) -> None:
        super().__init__(E.CHANNEL_RECIPIENT_INVALID, f"recipient {recipient} is invalid: {reason}", {"recipient": recipient, "reason": reason})
        self.recipient = recipient


class ChannelRateLimited(ChannelError):
    """-33004: the service is rate limiting; ``data: {retry_after_secs}``."""

    def __init__(self, retry_after_secs: float, message: str = "rate limited") -> None:
        super().__init__(E.CHANNEL_RATE_LIMITED, message, {"retry_after_secs": retry_after_secs})
        self.retry_after_secs = retry_after_secs


class ChannelUnsupported(ChannelError):
    """-33005: the channel cannot send this; ``data: {feature}``."""

    def __init__(self, feature: str) -> None:
        super().__init__(E.CHANNEL_UNSUPPORTED, f"unsupported: {feature}", {"feature": feature})
        self.feature = feature


class ChannelHandlers(Protocol):
    """What ``channels=`` takes: any object with some of these methods (plain or async).
    ``start``/``stop`` default to ``{ok: true}``; without ``send_outbound`` the plugin
    answers -32601. ``send_outbound`` returns ``{"message_id", "sent_at_unix"}``."""

    def start(self, kind: str, instance: str | None) -> Any: ...
    def stop(self, kind: str) -> Any: ...
    def send_outbound(self, kind: str, msg: dict[str, Any], instance: str | None) -> Any: ...


@dataclass(frozen=True)
class HookInvocation:
    """One ``hook.on_hook``: the hook point's name and its event."""

    plugin_id: str
    hook_name: str
    event: dict[str, Any]


#: ``fn(invocation)`` returning a HookResponse dict (``{"decision": "block", "reason": ...}``,
#: ``{"decision": "transform", "transformed_body": ...}``, ``{"override": {...}}``,
#: ``{"do_not_reply_again": True}``) or None to allow. A raise is an error reply: the host allows.
HookHandler = Callable[[HookInvocation], Any]


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    out = fn(*args)
    return await out if inspect.isawaitable(out) else out


def extension_call(method: str, params: Any, channels: Any, on_hook: HookHandler | None,
                   plugin_id: str) -> Callable[[], Awaitable[Any]] | None:
    """The work answering a channel or hook request, or None for any other method.
    The work raises ``_Refused`` (-32601/-32602), ``ChannelError`` or whatever the handler raised."""
    p = params if isinstance(params, dict) else None

    def kind() -> str:
        if p is None or not isinstance(p.get("kind"), str) or not p["kind"]:
            raise _Refused(E.INVALID_PARAMS, f"{method} params need a string kind")
        return p["kind"]

    def instance() -> str | None:
        v = p.get("instance") if p else None
        return v if isinstance(v, str) else None

    def handler(name: str) -> Callable[..., Any] | None:
        return getattr(channels, name, None) if channels is not None else None

    if method == "channel.start":
        async def start() -> Any:
            if channels is None:
                raise _Refused(E.METHOD_NOT_FOUND, "method not found: channel.start")
            fn = handler("start")
            if fn is not None:
                await _call(fn, kind(), instance())
            return {"ok": True}
        return start
    if method == "channel.stop":
        async def stop() -> Any:
            if channels is None:
                raise _Refused(E.METHOD_NOT_FOUND, "method not found: channel.stop")
            fn = handler("stop")
            if fn is not None:
                await _call(fn, kind())
            return {"ok": True}
        return stop
    if method == "channel.send_outbound":
        async def send() -> Any:
            fn = handler("send_outbound")
            if fn is None:
                raise _Refused(E.METHOD_NOT_FOUND, "method not found: channel.send_outbound")
            k = kind()
            msg = p.get("msg") if p else None
            if not isinstance(msg, dict) or not isinstance(msg.get("kind"), str):
                raise _Refused(E.INVALID_PARAMS, "channel.send_outbound params need msg: {kind, ...}")
            ack = await _call(fn, k, msg, instance())
            if not isinstance(ack, dict) or not isinstance(ack.get("message_id"), (str, int)) or isinstance(ack.get("message_id"), bool):
                raise _Refused(E.INTERNAL_ERROR, "send_outbound must return {message_id, sent_at_unix}")
            at = ack.get("sent_at_unix")
            return {"message_id": ack["message_id"], "sent_at_unix": at if isinstance(at, (int, float)) and not isinstance(at, bool) else int(time.time())}
        return send
    if method == "hook.on_hook":
        async def hook() -> Any:
            if on_hook is None:
                raise _Refused(E.METHOD_NOT_FOUND, "method not found: hook.on_hook")
            if p is None or not isinstance(p.get("hook_name"), str):
                raise _Refused(E.INVALID_PARAMS, "hook.on_hook params need a string hook_name")
            pid = p.get("plugin_id")
            ev = p.get("event")
            out = await _call(on_hook, HookInvocation(plugin_id=pid if isinstance(pid, str) else plugin_id, hook_name=p["hook_name"],
                                                      event=ev if isinstance(ev, dict) else {}))
            return {} if out is None else out
        return hook
    return None


def extension_error(exc: BaseException) -> dict[str, Any]:
    """The error reply for what the work raised: a ChannelError keeps its code and data, anything else is -32603."""
    if isinstance(exc, ChannelError):
        return exc.to_dict()
    if isinstance(exc, _Refused):
        return {"code": exc.code, "message": exc.message}
    return {"code": E.INTERNAL_ERROR, "message": str(exc) or repr(exc)}
