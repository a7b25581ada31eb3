"""Keep stdout for frames only."""
from __future__ import annotations

import io
import sys
from typing import BinaryIO


class _GuardedStdout(io.TextIOBase):
    """Replacement for sys.stdout: plugin code's prints go to stderr, prefixed."""

    def __init__(self) -> None:
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        text = self._partial + s
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            sys.stderr.write(f"[stdout-guard] {line}\n")
        sys.stderr.flush()
        return len(s)

    def flush(self) -> None:
        if self._partial:
            sys.stderr.write(f"[stdout-guard] {self._partial}\n")
            self._partial = ""
        sys.stderr.flush()


def install_stdout_guard() -> BinaryIO:
    """Route sys.stdout to stderr (prefixed `[stdout-guard] `); return the real stdout for frames."""
    real = sys.stdout.buffer
    sys.stdout = _GuardedStdout()  # type: ignore[assignment]
    return real
