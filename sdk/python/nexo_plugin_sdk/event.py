"""Events as they travel on the wire, and UUID v7 ids."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def uuid7() -> str:
    """A UUID v7 (RFC 9562): 48-bit millisecond timestamp, version 7, random bits; sorts by time."""
    ms = time.time_ns() // 1_000_000
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def now_rfc3339() -> str:
    """Current UTC time, RFC 3339 with milliseconds and a Z suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Event:
    """An event: id, timestamp, topic, source, session_id, payload (+ correlation_id, metadata)."""

    id: str
    timestamp: str
    topic: str
    source: str
    session_id: str | None
    payload: Any
    correlation_id: str | None = None
    metadata: dict[str, Any] | None = field(default=None)

    @classmethod
    def new(cls, topic: str, source: str, payload: Any, *, session_id: str | None = None,
            correlation_id: str | None = None, metadata: dict[str, Any] | None = None) -> "Event":
        """A new event with all six fields set (UUID v7 id, RFC 3339 UTC timestamp)."""
        return cls(uuid7(), now_rfc3339(), topic, source, session_id, payload, correlation_id, metadata)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id, "timestamp": self.timestamp, "topic": self.topic,
            "source": self.source, "session_id": self.session_id, "payload": self.payload,
        }
        if self.correlation_id is not None:
            d["correlation_id"] = self.correlation_id
        if self.metadata is not None:
            d["metadata"] = self.metadata
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Event":
        """Build from a wire dict; tolerates hosts or plugins that omit id/timestamp/session_id."""
        return cls(
            id=str(d.get("id") or uuid7()),
            timestamp=str(d.get("timestamp") or now_rfc3339()),
            topic=str(d.get("topic") or ""),
            source=str(d.get("source") or ""),
            session_id=d.get("session_id"),
            payload=d.get("payload"),
            correlation_id=d.get("correlation_id"),
            metadata=d.get("metadata"),
        )
