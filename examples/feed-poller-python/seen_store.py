"""What the poller has already published, kept in <state dir>/state.json.

The file is replaced atomically (temp file in the same directory, fsync, rename,
fsync of the directory), so a crash at any point leaves either the old or the new
state on disk, never a torn one.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

STATE_VERSION = 1


class SeenStore:
    """Ids of published items (insertion order kept, bounded) plus the feed's HTTP validators."""

    def __init__(self, path: Path, max_seen: int) -> None:
        self.path = path
        self.max_seen = max_seen
        self._seen: dict[str, None] = {}  # a dict keeps insertion order: oldest ids first
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.feed_url: str | None = None
        self.dirty = False

    def load(self, log) -> None:
        """Read the file if it exists; a corrupt one is moved aside (and named in the log), not trusted."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("seen"), list):
                raise ValueError("unexpected shape")
        except ValueError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            os.replace(self.path, aside)
            log(f"state file {self.path} is unreadable ({exc}); moved to {aside.name}, starting with no seen items")
            return
        self._seen = {str(i): None for i in data["seen"]}
        self.feed_url = data.get("feed_url")
        self.etag = data.get("etag")
        self.last_modified = data.get("last_modified")

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, item_id: str) -> None:
        self._seen[item_id] = None
        self.dirty = True

    def for_feed(self, url: str) -> None:
        """Validators belong to one URL: a changed feed_url must not send the old ETag."""
        if self.feed_url != url:
            self.feed_url = url
            self.etag = None
            self.last_modified = None
            self.dirty = True

    def set_validators(self, etag: str | None, last_modified: str | None) -> None:
        if (etag, last_modified) != (self.etag, self.last_modified):
            self.etag, self.last_modified = etag, last_modified
            self.dirty = True

    def prune(self, keep: Iterable[str]) -> None:
        """Forget the oldest ids beyond max_seen, but never one the feed still lists (it would come back as new)."""
        excess = len(self._seen) - self.max_seen
        if excess <= 0:
            return
        still_listed = set(keep)
        for item_id in list(self._seen):
            if excess <= 0:
                break
            if item_id not in still_listed:
                del self._seen[item_id]
                excess -= 1
                self.dirty = True

    def save(self) -> None:
        """Write atomically; no-op when nothing changed."""
        if not self.dirty:
            return
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "feed_url": self.feed_url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "seen": list(self._seen),
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        # The rename itself is only durable once the directory entry is on disk.
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.dirty = False
