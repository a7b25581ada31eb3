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
        result: dict[str, Any] = await self._a._request("broker.publish", {"topic": topic, "event": event.to_dict()})
        return result

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
        result: dict[str, Any] = await self._a._request("memory.recall", {"agent_id": agent_id, "query": query, "limit": limit}, timeout)
        return result

    async def llm_complete(self, *, messages: list[dict[str, Any]], provider: str | None = None, model: str | None = None,
                           max_tokens: int = 4096, temperature: float = 0.7, system_prompt: str | None = None,
                           on_delta: Callable[[Any], None] | None = None, timeout: float | None = None) -> dict[str, Any]:
        """llm.complete -> {content, finish_reason, usage}. With on_delta, the call is streamed
        (stream: true): on_delta gets each llm.complete.delta chunk in order, and the final
        reply (without content) is returned."""
        params = _llm_params(messages, provider, model, max_tokens, temperature, system_prompt, on_delta is not None)
        result: dict[str, Any] = await self._a._request("llm.complete", params, timeout, on_delta=on_delta)
        return result

    def llm_complete_stream(self, *, messages: list[dict[str, Any]], provider: str | None = None, model: str | None = None,
                            max_tokens: int = 4096, temperature: float = 0.7, system_prompt: str | None = None,
                            timeout: float | None = None) -> "LlmStream":
        """llm.complete with stream: true as an async iterator of the llm.complete.delta chunks;
        once it ends, `.result` holds the final reply. The host's error is raised by the iteration.

        Example:
            stream = broker.llm_complete_stream(messages=[{"role": "user", "content": "hi"}])
            async for chunk in stream:
                print(chunk, file=sys.stderr)
            usage = stream.result["usage"]
        """
        params = _llm_params(messages, provider, model, max_tokens, temperature, system_prompt, True)
        return LlmStream(self._a, params, timeout)


class LlmStream:
    """A streamed llm.complete: iterate for the chunks; `result` is the final reply once iteration ended."""

    def __init__(self, adapter: "PluginAdapter", params: dict[str, Any], timeout: float | None) -> None:
        self._a = adapter
        self._params = params
        self._timeout = timeout
        self._deltas: asyncio.Queue[Any] = asyncio.Queue()
        self._done = object()
        self._call: asyncio.Future[Any] | None = None
        self.result: dict[str, Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        if self._call is not None:
            raise RuntimeError("an LlmStream can be iterated once")
        self._call = asyncio.ensure_future(self._a._request("llm.complete", self._params, self._timeout, on_delta=self._deltas.put_nowait))
        self._call.add_done_callback(lambda _f: self._deltas.put_nowait(self._done))
        while True:
            item = await self._deltas.get()
            if item is self._done:
                break
            yield item
        self.result = self._call.result()  # raises the host's error, if any


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
