"""The plugin's view of the host: publish events, subscribe, call host services."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from .event import Event

if TYPE_CHECKING:
    from .adapter import PluginAdapter

SubscriptionHandler = Callable[[str, Event], Awaitable[None]]


class BrokerSender:
    """Publishes events and calls host services; every write goes through the
    adapter's single serialized writer, so frames never interleave."""

    def __init__(self, adapter: "PluginAdapter") -> None:
        self._a = adapter

    async def publish(self, topic: str, event: Event) -> None:
        """broker.publish as a notification (the host enforces the allowlist)."""
        await self._a._send({"jsonrpc": "2.0", "method": "broker.publish", "params": {"topic": topic, "event": event.to_dict()}})

    async def publish_acked(self, topic: str, event: Event) -> dict[str, Any]:
        """broker.publish as a request: {ok: true}, or RpcError (e.g. outside the allowlist)."""
        return await self._a._request("broker.publish", {"topic": topic, "event": event.to_dict()})

    async def subscribe(self, pattern: str, handler: SubscriptionHandler) -> str:
        """Ask the host for events matching pattern (inside the allowlist); returns the subscriber id."""
        r = await self._a._request("broker.subscribe", {"topic_pattern": pattern})
        sid = str(r["subscriber_id"])
        self._a._subscriptions[sid] = handler
        return sid

    async def unsubscribe(self, subscriber_id: str) -> None:
        self._a._subscriptions.pop(subscriber_id, None)
        await self._a._request("broker.unsubscribe", {"subscriber_id": subscriber_id})

    async def memory_recall(self, agent_id: str, query: str, limit: int = 10, timeout: float | None = None) -> dict[str, Any]:
        """memory.recall -> {entries: [...]}."""
        return await self._a._request("memory.recall", {"agent_id": agent_id, "query": query, "limit": limit}, timeout)

    async def llm_complete(self, *, messages: list[dict[str, Any]], provider: str | None = None, model: str | None = None,
                           max_tokens: int = 4096, temperature: float = 0.7, system_prompt: str | None = None,
                           timeout: float | None = None) -> dict[str, Any]:
        """llm.complete (non-streaming) -> {content, finish_reason, usage}."""
        return await self._a._request("llm.complete", _llm_params(messages, provider, model, max_tokens, temperature, system_prompt, False), timeout)

    async def llm_complete_stream(self, *, messages: list[dict[str, Any]], provider: str | None = None, model: str | None = None,
                                  max_tokens: int = 4096, temperature: float = 0.7, system_prompt: str | None = None,
                                  timeout: float | None = None) -> AsyncIterator[Any]:
        """llm.complete with stream=true: yields each llm.complete.delta chunk, then ends when the final reply arrives."""
        deltas: asyncio.Queue[Any] = asyncio.Queue()
        done = object()
        fut = asyncio.ensure_future(self._a._request(
            "llm.complete", _llm_params(messages, provider, model, max_tokens, temperature, system_prompt, True), timeout, on_delta=deltas.put_nowait))
        fut.add_done_callback(lambda _f: deltas.put_nowait(done))
        while True:
            item = await deltas.get()
            if item is done:
                break
            yield item
        fut.result()  # raises the host's error, if any


def _llm_params(messages: list[dict[str, Any]], provider: str | None, model: str | None, max_tokens: int,
                temperature: float, system_prompt: str | None, stream: bool) -> dict[str, Any]:
    p: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stream": stream}
    if provider is not None:
        p["provider"] = provider
    if model is not None:
        p["model"] = model
    if system_prompt is not None:
        p["system_prompt"] = system_prompt
    return p
