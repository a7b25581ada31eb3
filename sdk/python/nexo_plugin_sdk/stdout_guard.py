"""Keep stdout for frames only."""
from __future__ import annotations

import io
import os
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
    """Keep stdout for frames only. Python-level writes (print, sys.stdout) go to stderr
    prefixed `[stdout-guard] `; file descriptor 1 itself is pointed at stderr, so
    writes below Python (C extensions, child processes that inherit it) cannot
    corrupt the protocol either. Returns a private binary stream on the real stdout
    for the SDK's frames."""
    sys.stdout.flush()
    frames_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = _GuardedStdout()
    return os.fdopen(frames_fd, "wb")
