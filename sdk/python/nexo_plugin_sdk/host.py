"""What host calls return (``memory.recall``, ``llm.complete``) and the streaming handle.

Results are dataclasses, as in the reference SDK. (Nexo) each also reads like the
host's reply dict: ``result["content"]``, ``result.get("usage")``, ``result.raw``
(the whole reply, unknown fields included)."""
from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator

from .errors import RpcDecodeError

#: Seconds a host call waits for its reply by default (override per call with ``timeout=``).
DEFAULT_RPC_TIMEOUT = 30.0


class _ReadsLikeDict:
    """Dict-style reads of the host's reply, for code written against Nexo's older dict results."""

    raw: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def keys(self) -> Any:
        return self.raw.keys()


@dataclass
class MemoryEntry(_ReadsLikeDict):
    """One long-term memory entry from ``memory.recall``."""

    id: str
    agent_id: str
    content: str
    tags: list[str] = field(default_factory=list)
    concept_tags: list[str] = field(default_factory=list)
    created_at: str = ""
    memory_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "MemoryEntry":
        """From the host's entry; ``id``, ``agent_id`` and ``content`` are required (KeyError otherwise)."""
        return cls(id=str(d["id"]), agent_id=str(d["agent_id"]), content=str(d["content"]),
                   tags=list(d.get("tags") or []), concept_tags=list(d.get("concept_tags") or []),
                   created_at=str(d.get("created_at") or ""), memory_type=d.get("memory_type"), raw=d)


class MemoryEntries(list):  # type: ignore[type-arg]
    """``memory_recall``'s result: a ``list[MemoryEntry]``. (Nexo, deprecated) ``result["entries"]``
    still works and gives the same entries."""

    def __getitem__(self, key: Any) -> Any:
        if key == "entries":
            return list(self)
        return super().__getitem__(key)


@dataclass
class Message:
    """A chat message for ``llm.complete``: ``role`` is system, user, assistant or tool."""

    role: str
    content: str

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}


@dataclass
class TokenCount(_ReadsLikeDict):
    """Token usage of an ``llm.complete`` reply."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> "TokenCount":
        d = d if isinstance(d, dict) else {}
        return cls(prompt_tokens=int(d.get("prompt_tokens") or 0), completion_tokens=int(d.get("completion_tokens") or 0), raw=d)


@dataclass
class LlmCompleteResult(_ReadsLikeDict):
    """An ``llm.complete`` reply: ``content`` (None when streamed: the chunks were the
    content), ``finish_reason`` (stop, length, tool_use, ``other:<reason>``), ``usage``."""

    content: str | None
    finish_reason: str = ""
    usage: TokenCount = field(default_factory=TokenCount)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LlmCompleteResult":
        return cls(content=d.get("content"), finish_reason=str(d.get("finish_reason") or ""),
                   usage=TokenCount.from_json(d.get("usage")), raw=d)


def decode_result(method: str, decode: Callable[[Any], Any], result: Any) -> Any:
    """Turn a host reply into its result type; a reply of the wrong shape is RpcDecodeError."""
    try:
        return decode(result)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RpcDecodeError(f"{method} result: {exc!r}") from exc


def _recall_entries(result: Any) -> MemoryEntries:
    return MemoryEntries(MemoryEntry.from_json(e) for e in result["entries"])


_END = object()


class LlmStream:
    """A streamed ``llm.complete`` (the request is sent when the stream is made).

    Example:
        stream = broker.llm_complete_stream(provider="p", model="m", messages=[{"role": "user", "content": "hi"}])
        async for chunk in stream:
            print(chunk, file=sys.stderr)
        final = await stream.final_result()    # LlmCompleteResult; final.content is None
    """

    def __init__(self, start: Callable[[Callable[[Any], None]], Awaitable[Any]]) -> None:
        self._chunks: asyncio.Queue[Any] = asyncio.Queue()
        self._ended = False
        self._final: LlmCompleteResult | None = None
        self._call: asyncio.Future[Any] = asyncio.ensure_future(start(self._chunks.put_nowait))
        self._call.add_done_callback(self._on_done)

    def _on_done(self, fut: "asyncio.Future[Any]") -> None:
        self._chunks.put_nowait(_END)
        if not fut.cancelled():
            fut.exception()  # retrieved here, raised by final_result(): never "exception was never retrieved"

    def __aiter__(self) -> "LlmStream":
        return self

    async def __anext__(self) -> Any:
        if self._ended:
            raise StopAsyncIteration
        item = await self._chunks.get()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        return item

    def __iter__(self) -> Iterator[Any]:  # pragma: no cover - guards a common mistake
        raise TypeError("LlmStream is asynchronous: use `async for chunk in stream`")

    async def final_result(self) -> LlmCompleteResult:
        """The final reply, once every chunk was delivered; awaitable more than once.
        Raises RpcServerError (host error), RpcTimeoutError, RpcTransportError (shutdown)."""
        raw = await asyncio.shield(self._call)
        if self._final is None:
            self._final = decode_result("llm.complete", LlmCompleteResult.from_json, raw)
        return self._final

    @property
    def result(self) -> Any:
        """Deprecated (use ``await final_result()``): the final reply dict once the stream ended."""
        warnings.warn("LlmStream.result is deprecated; use `await stream.final_result()`", DeprecationWarning, stacklevel=2)
        if not self._call.done():
            return None
        return self._call.result()
