"""Keep stdout for frames only."""
from __future__ import annotations

import io
import json
import os
import sys
from typing import BinaryIO, Callable, TextIO

#: Prefix of every line the guard diverts to stderr.
STDOUT_GUARD_MARKER = "[stdout-guard]"

_frames: BinaryIO | None = None
_saved_fd: int | None = None
_original: TextIO | None = None
#: Where a complete JSON-object line printed by plugin code goes (the adapter's writer once it runs).
_frame_sink: Callable[[bytes], None] | None = None


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class _GuardedStdout(io.TextIOBase):
    """Replacement for sys.stdout: whole lines that are JSON objects are forwarded as
    frames (as the reference SDK does); everything else goes to stderr, prefixed."""

    def __init__(self) -> None:
        self._partial = ""

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def fileno(self) -> int:
        # Code that writes to sys.stdout.fileno() directly reaches fd 1, which points at stderr.
        return 1

    def write(self, s: str) -> int:
        text = self._partial + s
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._emit(line)
        return len(s)

    def _emit(self, line: str) -> None:
        if _is_json_object(line):
            data = (line + "\n").encode()
            if _frame_sink is not None:
                _frame_sink(data)
                return
            if _frames is not None:
                _frames.write(data)
                _frames.flush()
                return
        sys.stderr.write(f"{STDOUT_GUARD_MARKER} {line}\n")
        sys.stderr.flush()

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit(line)
        sys.stderr.flush()


def install_stdout_guard() -> BinaryIO:
    """Keep stdout for frames. Python-level writes (``print``, ``sys.stdout``) that are
    not whole JSON-object lines go to stderr prefixed ``[stdout-guard] ``; file
    descriptor 1 itself is pointed at stderr, so writes below Python (C extensions,
    child processes that inherit it) cannot corrupt the protocol either. Idempotent;
    returns a private binary stream on the real stdout, for frames."""
    global _frames, _saved_fd, _original
    if _frames is not None:
        return _frames
    sys.stdout.flush()
    _original = sys.stdout
    _saved_fd = os.dup(1)
    os.dup2(2, 1)
    _frames = os.fdopen(os.dup(_saved_fd), "wb")
    sys.stdout = _GuardedStdout()
    return _frames


def uninstall_stdout_guard() -> None:
    """Undo ``install_stdout_guard``: fd 1 and ``sys.stdout`` are the real stdout again."""
    global _frames, _saved_fd, _original, _original_text
    if _frames is None:
        return
    if _original_text is not None:
        _original_text.close()
        _original_text = None
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - restoring matters more than a last partial line
        pass
    try:
        _frames.flush()
    finally:
        _frames.close()
    assert _saved_fd is not None
    os.dup2(_saved_fd, 1)
    os.close(_saved_fd)
    sys.stdout = _original if _original is not None else sys.__stdout__
    _frames = None
    _saved_fd = None
    _original = None


def is_stdout_guard_installed() -> bool:
    return _frames is not None


_original_text: TextIO | None = None


def original_stdout() -> TextIO | None:
    """A text stream on the real stdout (frames written there reach the host), or None
    when the guard is not installed."""
    global _original_text
    if _frames is None or _saved_fd is None:
        return None
    if _original_text is None or _original_text.closed:
        _original_text = io.TextIOWrapper(os.fdopen(os.dup(_saved_fd), "wb"), encoding="utf-8", write_through=True)
    return _original_text


def _set_frame_sink(sink: Callable[[bytes], None] | None) -> None:
    global _frame_sink
    _frame_sink = sink
