"""Older module name of ``events`` (kept for imports that use it)."""
from .events import Event, now_rfc3339, uuid7

__all__ = ["Event", "now_rfc3339", "uuid7"]
