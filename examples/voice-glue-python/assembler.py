"""Per-conversation buffers of fragments, flushed as one utterance on a done
marker, after a silence, or when a bound is reached. Conversations never share
a buffer, so interleaved fragments of many conversations cannot mix."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Utterance:
    """A flushed conversation buffer."""

    conversation_id: str
    text: str
    fragments: int
    #: done | silence | max_length | overflow | shutdown | reconfigured
    reason: str


@dataclass
class _Buffer:
    parts: list[str] = field(default_factory=list)
    chars: int = 0
    timer: asyncio.TimerHandle | None = None


class Assembler:
    """Collects fragments per conversation id and hands complete utterances to
    `emit`, in the order they complete. Single-threaded: call it from the loop."""

    def __init__(self, emit: Callable[[Utterance], None], *, silence_timeout: float, joiner: str = "",
                 max_conversations: int = 1000, max_chars: int = 20_000) -> None:
        self.emit = emit
        self.silence_timeout = silence_timeout
        self.joiner = joiner
        self.max_conversations = max_conversations
        self.max_chars = max_chars
        self._buffers: dict[str, _Buffer] = {}  # least recently active first

    def __len__(self) -> int:
        return len(self._buffers)

    def add(self, conversation_id: str, text: str, done: bool = False) -> None:
        """Append a fragment (text may be empty with a done marker) and flush if the conversation is complete."""
        buf = self._buffers.get(conversation_id)
        if buf is None:
            if not text:
                return  # a done marker for nothing buffered: nothing to say
            if len(self._buffers) >= self.max_conversations:
                # Bounded memory: the conversation idle the longest goes out as it stands.
                self.flush(next(iter(self._buffers)), "overflow")
            buf = self._buffers[conversation_id] = _Buffer()
        else:
            # Move to the end: the dict's order is then least recently active first.
            self._buffers[conversation_id] = self._buffers.pop(conversation_id)
        if text:
            buf.parts.append(text)
            buf.chars += len(text)
        if done:
            self.flush(conversation_id, "done")
        elif buf.chars >= self.max_chars:
            self.flush(conversation_id, "max_length")
        else:
            if buf.timer is not None:
                buf.timer.cancel()
            buf.timer = asyncio.get_running_loop().call_later(self.silence_timeout, self.flush, conversation_id, "silence")

    def flush(self, conversation_id: str, reason: str) -> None:
        buf = self._buffers.pop(conversation_id, None)
        if buf is None:
            return
        if buf.timer is not None:
            buf.timer.cancel()
        if buf.parts:
            self.emit(Utterance(conversation_id, self.joiner.join(buf.parts), len(buf.parts), reason))

    def flush_all(self, reason: str) -> None:
        for conversation_id in list(self._buffers):
            self.flush(conversation_id, reason)
