"""The plugin's handle to the host: publish events, subscribe, call host services."""
from __future__ import annotations

import asyncio
import itertools
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterator, TextIO

from . import wire
from .errors import RpcServerError, RpcTimeoutError, RpcTransportError, WireError
from .events import Event, _json_str
from .host import (DEFAULT_RPC_TIMEOUT, LlmCompleteResult, LlmStream, MemoryEntries, Message, _recall_entries,
                   decode_result)

if TYPE_CHECKING:
    from .adapter import PluginAdapter

SubscriptionHandler = Callable[[str, Event], Awaitable[None]]

#: The event whose handler is running (contextvars follow it into tasks the handler starts).
current_event: ContextVar[Event | None] = ContextVar("nexo_current_event", default=None)


class _StandaloneLink:
    """A BrokerSender built without an adapter (reference constructor form): frames go
    to ``writer`` under ``write_lock``; host calls wait for a reply nobody routes."""

    def __init__(self, write_lock: asyncio.Lock, writer: TextIO | None, pending: dict[int, Any] | None,
                 id_alloc: Iterator[int] | None) -> None:
        self.lock = write_lock
        self.writer = writer if writer is not None else sys.stdout
        self.pending: dict[int, Any] = pending if pending is not None else {}
        self.ids = id_alloc if id_alloc is not None else itertools.count(1)
        self._subscriptions: dict[str, SubscriptionHandler] = {}

    async def _send(self, frame: Any, droppable: bool = False) -> None:
        line = wire.serialize_frame(frame)
        async with self.lock:
            self.writer.write(line)
            self.writer.flush()

    async def _request(self, method: str, params: Any, timeout: float | None = None,
                       on_delta: Callable[[Any], None] | None = None) -> Any:
        req_id = next(self.ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[req_id] = fut
        limit = DEFAULT_RPC_TIMEOUT if timeout is None else timeout
        try:
            try:
                await self._send({"jsonrpc": wire.JSONRPC_VERSION, "id": req_id, "method": method, "params": params})
            except Exception as exc:
                raise RpcTransportError(f"failed to send {method}: {exc}") from exc
            try:
                return await asyncio.wait_for(fut, limit)
            except asyncio.TimeoutError:
                raise RpcTimeoutError(limit) from None
        finally:
            self.pending.pop(req_id, None)


class BrokerSender:
    """Publishes events and calls host services. Every frame goes through the adapter's
    one writer, so frames never interleave; concurrent handlers may each have host
    calls in flight.

    Host-call failures raise ``RpcServerError`` (the host's error: ``.code``,
    ``.message``), ``RpcTimeoutError`` (``.seconds``), ``RpcTransportError`` (the
    plugin is shutting down), ``RpcDecodeError`` (a reply of the wrong shape); all are
    ``RpcError``."""

    def __init__(self, adapter: "PluginAdapter | asyncio.Lock", writer: TextIO | None = None,
                 pending: dict[int, Any] | None = None, id_alloc: Iterator[int] | None = None) -> None:
        from .adapter import PluginAdapter

        self._a: Any = adapter if isinstance(adapter, PluginAdapter) else _StandaloneLink(adapter, writer, pending, id_alloc)
        self._post: Callable[[Any], bool] | None = adapter._post if isinstance(adapter, PluginAdapter) else None

    async def publish(self, topic: str, event: Event | dict[str, Any]) -> None:
        """``broker.publish`` (a notification; the host enforces your allowlist). Inside an
        event handler, an event without ``correlation_id`` gets the handled event's id."""
        post = self._post
        if post is not None and type(event) is Event:
            # The hot path: the frame's text is built directly, with the correlation the handler context gives.
            cid = event.correlation_id
            if cid is None:
                handled = current_event.get()
                if handled is not None:
                    cid = handled.id
            try:
                text = f'{{"jsonrpc":"2.0","method":"broker.publish","params":{{"topic":{_json_str(topic)},"event":{event._wire_text(cid)}}}}}'
            except (TypeError, ValueError, RecursionError) as exc:
                raise WireError(f"frame is not JSON-serializable: {exc}") from exc
            if self._a._post_text(text):
                await self._a._writer.drain()
            return
        frame = {"jsonrpc": "2.0", "method": "broker.publish", "params": {"topic": topic, "event": _wire_event(event)}}
        if post is None:
            await self._a._send(frame, True)
        elif post(frame):
            await self._a._writer.drain()

    async def publish_acked(self, topic: str, event: Event | dict[str, Any]) -> dict[str, Any]:
        """(Nexo) ``broker.publish`` as a request: ``{ok: true}``, or RpcServerError (e.g. outside the allowlist)."""
        result: dict[str, Any] = await self._a._request("broker.publish", {"topic": topic, "event": _wire_event(event)})
        return result

    async def subscribe(self, pattern: str, handler: SubscriptionHandler) -> str:
        """(Nexo) Ask the host for events matching ``pattern`` (inside your allowlist); returns the subscriber id."""
        r = await self._a._request("broker.subscribe", {"topic_pattern": pattern})
        sid = str(r["subscriber_id"])
        self._a._subscriptions[sid] = handler
        return sid

    async def unsubscribe(self, subscriber_id: str) -> None:
        """(Nexo) Stop a subscription made with ``subscribe``."""
        self._a._subscriptions.pop(subscriber_id, None)
        await self._a._request("broker.unsubscribe", {"subscriber_id": subscriber_id})

    async def memory_recall(self, agent_id: str, query: str, limit: int = 10, timeout: float | None = None) -> MemoryEntries:
        """``memory.recall``: up to ``limit`` (default 10, host maximum 1000) entries of
        ``agent_id``'s long-term memory matching ``query``, as ``list[MemoryEntry]``.

        Example:
            entries = await broker.memory_recall(agent_id="my_agent", query="preferences", limit=5)
        """
        result = await self._a._request("memory.recall", {"agent_id": agent_id, "query": query, "limit": limit}, timeout)
        entries: MemoryEntries = decode_result("memory.recall", _recall_entries, result)
        return entries

    async def llm_complete(self, *, messages: list[Message] | list[dict[str, Any]], provider: str | None = None,
                           model: str | None = None, max_tokens: int = 4096, temperature: float = 0.7,
                           system_prompt: str | None = None, timeout: float | None = None,
                           on_delta: Callable[[Any], None] | None = None) -> LlmCompleteResult:
        """``llm.complete`` through the agent's configured providers; returns an
        ``LlmCompleteResult`` (``content``, ``finish_reason``, ``usage``). (Nexo) with
        ``on_delta`` the call is streamed: ``on_delta(chunk)`` per chunk, in order, and
        the final reply (``content`` None) is returned."""
        params = _llm_params(provider, model, messages, max_tokens, temperature, system_prompt, on_delta is not None)
        result = await self._a._request("llm.complete", params, timeout, on_delta)
        final: LlmCompleteResult = decode_result("llm.complete", LlmCompleteResult.from_json, result)
        return final

    def llm_complete_stream(self, *, messages: list[Message] | list[dict[str, Any]], provider: str | None = None,
                            model: str | None = None, max_tokens: int = 4096, temperature: float = 0.7,
                            system_prompt: str | None = None, timeout: float | None = None) -> LlmStream:
        """Start a streamed ``llm.complete``: ``async for chunk in stream`` yields the text
        chunks; ``await stream.final_result()`` is the final ``LlmCompleteResult``."""
        params = _llm_params(provider, model, messages, max_tokens, temperature, system_prompt, True)
        return LlmStream(lambda on_delta: self._a._request("llm.complete", params, timeout, on_delta))


def _wire_event(event: Event | dict[str, Any]) -> dict[str, Any]:
    if type(event) is Event or isinstance(event, Event):
        d = event.to_json()
        if event.correlation_id is not None:
            return d
    else:
        d = dict(event)
    if d.get("correlation_id") is None:
        handled = current_event.get()
        if handled is not None:
            # A reply published while handling an event is correlated to it, as callers waiting on a reply topic need.
            d["correlation_id"] = handled.id
    return d


def _llm_params(provider: str | None, model: str | None, messages: list[Any], max_tokens: int, temperature: float,
                system_prompt: str | None, stream: bool) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if provider is not None:
        p["provider"] = provider
    if model is not None:
        p["model"] = model
    p["messages"] = [m.to_json() if isinstance(m, Message) else m for m in messages]
    p["max_tokens"] = max_tokens
    p["temperature"] = temperature
    if system_prompt is not None:
        p["system_prompt"] = system_prompt
    if stream:
        # Only a streamed call carries the flag: a plain call omits it, as the reference SDKs do.
        p["stream"] = True
    return p


__all__ = ["BrokerSender", "RpcServerError", "current_event"]
