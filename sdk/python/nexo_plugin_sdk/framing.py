"""Bounded NDJSON line splitting (bytes in, JSON values out)."""
from __future__ import annotations

import json
from typing import Any, Callable

MAX_FRAME_BYTES = 1_048_576


class LineDecoder:
    """Splits a byte stream into JSON values without ever holding more than one
    line of at most max_frame_bytes: a longer line is reported once and skipped
    up to its newline. CRLF and blank lines are tolerated; invalid UTF-8 and
    non-JSON lines are reported and skipped."""

    def __init__(self, max_frame_bytes: int, on_value: Callable[[Any], None],
                 on_bad: Callable[[str, str], None]) -> None:
        self.max = max_frame_bytes
        self.on_value = on_value
        self.on_bad = on_bad
        self.buf = bytearray()
        self.skipping = False

    def push(self, chunk: bytes) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl == -1:
                rest = chunk[start:]
                if rest and not self.skipping:
                    if len(self.buf) + len(rest) > self.max + 1:
                        self.on_bad("too_large", "")
                        self.buf = bytearray()
                        self.skipping = True
                    else:
                        self.buf += rest
                return
            if self.skipping:
                self.skipping = False
            else:
                if len(self.buf) + (nl - start) > self.max + 1:
                    self.on_bad("too_large", "")
                else:
                    self.buf += chunk[start:nl]
                    self._line(bytes(self.buf))
                self.buf = bytearray()
            start = nl + 1

    def end(self) -> None:
        if self.buf and not self.skipping:
            self._line(bytes(self.buf))
        self.buf = bytearray()

    def _line(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            return
        if len(raw) > self.max:
            self.on_bad("too_large", "")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.on_bad("invalid_utf8", "")
            return
        try:
            value = json.loads(text)
        except ValueError:
            self.on_bad("invalid_json", text[:120])
            return
        self.on_value(value)


def encode_frame(frame: Any) -> bytes:
    """One frame as a UTF-8 line (no ASCII escaping, so payloads stay byte-exact)."""
    # allow_nan=False: NaN and Infinity are not JSON; refuse them rather than send a frame the host cannot parse.
    return (json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
