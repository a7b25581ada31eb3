"""Bounded NDJSON line splitting (bytes in, JSON values out) and frame encoding."""
from __future__ import annotations

import json
from typing import Any, Callable

from .wire import MAX_FRAME_BYTES, _encode

__all__ = ["MAX_FRAME_BYTES", "LineDecoder", "encode_frame"]

_loads = json.loads
# The C scanner behind json.loads, called directly: a frame is one object from its first byte, and
# this skips loads()'s two whitespace regex passes per line. Anything unusual takes the loads() path.
_scan = json.JSONDecoder().scan_once


class LineDecoder:
    """Splits a byte stream into JSON values without ever holding more than one line
    of at most ``max_frame_bytes``: a longer line is reported once and skipped up to
    its newline. CRLF and blank lines are tolerated. Bytes that are not UTF-8 are
    replaced (U+FFFD) before parsing, as the reference SDK does; a line that is not
    JSON is reported with the parser's message.

    ``on_bad(kind, detail)``: kind ``too_large`` (detail: the size, or "" when the
    line was skipped before its end) or ``invalid_json`` (detail: the parser's error)."""

    def __init__(self, max_frame_bytes: int, on_value: Callable[[Any], None],
                 on_bad: Callable[[str, str], None]) -> None:
        self.max = max_frame_bytes
        self.on_value = on_value
        self.on_bad = on_bad
        self.buf = bytearray()
        self.skipping = False

    def push(self, chunk: bytes) -> None:
        if self.skipping:
            nl = chunk.find(b"\n")
            if nl == -1:
                return
            self.skipping = False
            chunk = chunk[nl + 1:]
        cut = chunk.rfind(b"\n")
        if cut == -1:
            if chunk:
                if len(self.buf) + len(chunk) > self.max + 1:
                    self._skip()
                else:
                    self.buf += chunk
            return
        head = chunk[:cut]
        if self.buf:
            head = bytes(self.buf) + head
            self.buf = bytearray()
        rest = chunk[cut + 1:]
        if rest:
            if len(rest) > self.max + 1:
                self._skip()
            else:
                self.buf = bytearray(rest)
        # The whole lines of a chunk are decoded once and parsed in place, line by line.
        try:
            text = head.decode()
        except UnicodeDecodeError:
            for raw in head.split(b"\n"):
                self._line(raw)
            return
        self._lines(text)

    def _lines(self, text: str) -> None:
        scan = _scan
        on_value = self.on_value
        limit = self.max
        pos = 0
        size = len(text)
        while pos <= size:
            nl = text.find("\n", pos)
            if nl == -1:
                nl = size
            width = nl - pos
            if width * 4 > limit and (width > limit or len(text[pos:nl].encode()) > limit):
                line = text[pos:nl].rstrip("\r")
                if len(line.encode()) > limit:
                    self.on_bad("too_large", str(len(text[pos:nl].encode())))
                    pos = nl + 1
                    continue
            try:
                value, end = scan(text, pos)
            except (StopIteration, ValueError, RecursionError):
                self._text_line(text[pos:nl])
            else:
                # A line is one frame on its own: JSON that runs past its newline is not one.
                if end == nl or (end < nl and not text[end:nl].strip()):
                    on_value(value)
                else:
                    self._text_line(text[pos:nl])
            pos = nl + 1

    def _text_line(self, line: str) -> None:
        # The slow path (leading whitespace, a blank line, or not one JSON value): json.loads decides, with its message.
        try:
            value = _loads(line)
        except ValueError as exc:
            if line.strip():
                self.on_bad("invalid_json", str(exc))
            return
        except RecursionError:
            self.on_bad("invalid_json", "nesting too deep")
            return
        self.on_value(value)

    def _skip(self) -> None:
        self.on_bad("too_large", "")
        self.buf = bytearray()
        self.skipping = True

    def end(self) -> None:
        if self.buf and not self.skipping:
            self._line(bytes(self.buf))
        self.buf = bytearray()

    def _line(self, raw: bytes) -> None:
        if len(raw) > self.max:
            if len(raw) == self.max + 1 and raw.endswith(b"\r"):
                raw = raw[:-1]
            else:
                self.on_bad("too_large", str(len(raw)))
                return
        try:
            text = raw.decode()
            value, end = _scan(text, 0)
            if end != len(text):
                value = _loads(text)  # trailing bytes: whitespace (CRLF) is fine, anything else raises
        except StopIteration:
            value = self._slow(raw)
            if value is _BAD:
                return
        except RecursionError:
            self.on_bad("invalid_json", "nesting too deep")
            return
        except UnicodeDecodeError:
            try:
                value = _loads(raw.decode("utf-8", "replace"))
            except (ValueError, RecursionError) as exc:
                self.on_bad("invalid_json", str(exc))
                return
        except ValueError as exc:
            if raw.strip():  # blank lines (and a lone \r) are not errors
                self.on_bad("invalid_json", str(exc))
            return
        self.on_value(value)

    def _slow(self, raw: bytes) -> Any:
        # Leading whitespace, a blank line, or not JSON: json.loads decides, with its error message.
        try:
            return _loads(raw.decode("utf-8", "replace"))
        except ValueError as exc:
            if raw.strip():
                self.on_bad("invalid_json", str(exc))
            return _BAD
        except RecursionError:
            self.on_bad("invalid_json", "nesting too deep")
            return _BAD


_BAD = object()


def encode_frame(frame: Any) -> bytes:
    """One frame as a UTF-8 line (no ASCII escaping, so payloads stay byte-exact).
    Raises TypeError/ValueError for a value JSON cannot carry (NaN, Infinity, objects)."""
    try:
        return (_encode(frame) + "\n").encode()
    except RecursionError as exc:
        raise ValueError(f"frame is not JSON-serializable: {exc}") from exc
