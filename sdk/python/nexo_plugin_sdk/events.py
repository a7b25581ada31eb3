"""Events as they travel on the wire, UUID v7 ids and RFC 3339 timestamps."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from .wire import _encode, _encode_str


def _json_str(value: Any) -> str:
    return _encode_str(value) if type(value) is str else _encode(value)

_POOL_IDS = 512
_pool = ""
_pool_off = 16 * _POOL_IDS
_last_ms = -1
_seq = 0
# Hex digit -> the RFC 9562 variant digit (10xx) keeping the digit's two low random bits.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_SEQ_HEX = [f"7{n:03x}" for n in range(0x1000)]
_iso_ms = -1
_iso_sec = -1
_iso_prefix = ""
_iso_text = ""
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Whether the host reads a session_id that is not a UUID (upstream hosts parse it as a UUID and
# would refuse the whole event). True under a Nexo host, recognised by NEXO_PLUGIN_KEY (a variable
# only Nexo sets), and once the host itself has sent such an id.
_host_reads_free_sessions = "NEXO_PLUGIN_KEY" in os.environ


_ms_hex_for = -1
_ms_hex = ""


def _uuid7_at(ms: int) -> str:
    global _pool, _pool_off, _last_ms, _seq, _ms_hex_for, _ms_hex
    # Random hex digits from a pooled buffer: one getrandom call per 512 ids, not one per id.
    off = _pool_off
    if off >= 16 * _POOL_IDS:
        _pool = os.urandom(8 * _POOL_IDS).hex()
        off = 0
    _pool_off = off + 16
    r = _pool[off:off + 16]
    if ms > _last_ms:
        _last_ms = ms
        _seq = int(r[13:16], 16) & 0x7FF  # random start, headroom to count up within the millisecond
    else:
        _seq += 1
        if _seq > 0xFFF:
            _last_ms += 1
            _seq = 0
    if _last_ms != _ms_hex_for:
        _ms_hex_for = _last_ms
        h = "%012x" % _last_ms
        _ms_hex = f"{h[:8]}-{h[8:]}-"
    # 48-bit ms, version 7 + 12-bit counter, variant 10 + 62 random bits.
    return f"{_ms_hex}{_SEQ_HEX[_seq]}-{_VARIANT[r[0]]}{r[1:4]}-{r[4:16]}"


def uuid7() -> str:
    """A UUID v7 (RFC 9562): 48-bit millisecond timestamp, then a counter, so ids made
    by one process sort in creation order, even within a millisecond."""
    return _uuid7_at(time.time_ns() // 1_000_000)


def _iso_at(ms: int) -> str:
    global _iso_ms, _iso_sec, _iso_prefix, _iso_text
    if ms != _iso_ms:
        sec = ms // 1000
        if sec != _iso_sec:
            _iso_sec = sec
            _iso_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _iso_ms = ms
        _iso_text = f"{_iso_prefix}.{ms % 1000:03d}Z"
    return _iso_text


def now_rfc3339() -> str:
    """Current UTC time, RFC 3339 with milliseconds and a Z suffix."""
    return _iso_at(time.time_ns() // 1_000_000)


def is_uuid(value: Any) -> bool:
    """True for a UUID in its 36-character text form."""
    return isinstance(value, str) and len(value) == 36 and _UUID.fullmatch(value) is not None


@dataclass(slots=True)
class Event:
    """A broker event: ``id``, ``timestamp``, ``topic``, ``source``, ``session_id``,
    ``payload``, and optionally ``correlation_id`` and ``metadata``.

    Upstream hosts read ``session_id`` as a UUID. A ``session_id`` that is not one is
    sent as it is only to a host known to read it (Nexo: ``NEXO_PLUGIN_KEY`` is set, or
    the host itself sent such an id); to any other host it goes out as ``null`` with
    the value kept in ``metadata.session_id``, and ``Event.from_json`` puts it back."""

    id: str
    timestamp: str
    topic: str
    source: str
    session_id: str | None
    payload: Any
    correlation_id: str | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def new(cls, topic: str, source: str, payload: Any, *, session_id: str | None = None,
            correlation_id: str | None = None, metadata: dict[str, Any] | None = None) -> "Event":
        """A new event (UUID v7 id, current RFC 3339 UTC timestamp).

        Example:
            Event.new("plugin.inbound.my_kind", "my_plugin", {"text": "hi"})
        """
        ms = time.time_ns() // 1_000_000
        return cls(_uuid7_at(ms), _iso_at(ms), topic, source, session_id, payload, correlation_id, metadata)

    def to_json(self) -> dict[str, Any]:
        """The wire form (a dict ready for ``json.dumps``)."""
        sid = self.session_id
        meta = self.metadata
        if sid is not None and not _host_reads_free_sessions and not is_uuid(sid):
            meta = {**(meta or {}), "session_id": sid}
            sid = None
        d: dict[str, Any] = {"id": self.id, "timestamp": self.timestamp, "topic": self.topic,
                             "source": self.source, "session_id": sid, "payload": self.payload}
        if self.correlation_id is not None:
            d["correlation_id"] = self.correlation_id
        if meta is not None:
            d["metadata"] = meta
        return d

    to_dict = to_json

    def _wire_text(self, correlation_id: str | None) -> str:
        """The wire form as JSON text, built field by field (the publish hot path: no dict, and
        only the payload goes through the general encoder). Same content as ``to_json``."""
        sid = self.session_id
        meta = self.metadata
        if sid is not None and not _host_reads_free_sessions and not is_uuid(sid):
            meta = {**(meta or {}), "session_id": sid}
            sid = None
        text = (f'{{"id":{_json_str(self.id)},"timestamp":{_json_str(self.timestamp)},"topic":{_json_str(self.topic)},'
                f'"source":{_json_str(self.source)},"session_id":{"null" if sid is None else _json_str(sid)},'
                f'"payload":{_encode(self.payload)}')
        if correlation_id is not None:
            text += f',"correlation_id":{_json_str(correlation_id)}'
        if meta is not None:
            text += f',"metadata":{_encode(meta)}'
        return text + "}"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Event":
        """Build from the wire form; tolerates a host that omits ``id``, ``timestamp`` or ``session_id``."""
        get = d.get
        # The usual event (every field a string, no metadata) in one step.
        ev_id = get("id")
        ts = get("timestamp")
        topic = get("topic")
        source = get("source")
        sid = get("session_id")
        cid = get("correlation_id")
        if (type(ev_id) is str and type(ts) is str and type(topic) is str and type(source) is str and ev_id and ts
                and (sid is None or type(sid) is str) and (cid is None or type(cid) is str) and "metadata" not in d):
            return cls(ev_id, ts, topic, source, sid, get("payload"), cid)
        ev_id = get("id")
        ts = get("timestamp")
        sid = get("session_id")
        meta = get("metadata")
        if type(ev_id) is not str or not ev_id:
            ev_id = uuid7()
        if type(ts) is not str or not ts:
            ts = now_rfc3339()
        if sid is None:
            if meta is not None and type(meta) is dict and type(meta.get("session_id")) is str:
                sid = meta["session_id"]
        elif type(sid) is not str:
            sid = str(sid)
        topic = get("topic")
        source = get("source")
        cid = get("correlation_id")
        return cls(ev_id, ts, topic if type(topic) is str else str(topic or ""), source if type(source) is str else str(source or ""),
                   sid, get("payload"), cid if cid is None or type(cid) is str else str(cid), meta if type(meta) is dict else None)

    from_dict = from_json


def _note_host_session(session_id: Any) -> None:
    """Called for each event the host sends: a non-UUID session id shows the host reads them."""
    global _host_reads_free_sessions
    if session_id is not None and not _host_reads_free_sessions and not is_uuid(session_id):
        _host_reads_free_sessions = True
