"""A Server-Sent Events client (the text/event-stream format of the HTML
standard) on urllib, reading in a daemon thread so that a stream blocked at
shutdown cannot keep the process alive. Reconnects with backoff and resumes
with Last-Event-ID, so the server can replay what the broken stream missed."""
from __future__ import annotations

import asyncio
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None


class SseStream:
    """Reads `url` forever (until `stop()`), handing each event to `on_event` on the loop.
    Queue depth is bounded: when the loop falls behind, the reader thread waits (TCP pushes back)."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, queue: "asyncio.Queue[SseEvent]",
                 log: Callable[[str], None], *, reconnect_ms: int = 1000, max_reconnect_ms: int = 30_000,
                 idle_timeout: float = 60.0) -> None:
        self.url = url
        self.loop = loop
        self.queue = queue
        self.log = log
        self.reconnect_ms = reconnect_ms
        self.max_reconnect_ms = max_reconnect_ms
        self.idle_timeout = idle_timeout
        self.last_event_id: str | None = None
        self.connections = 0
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="sse-stream", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._read_once()
                failures = 0
                reason = "stream ended"
            except Exception as exc:  # any failure: log it and reconnect
                failures += 1
                reason = f"{type(exc).__name__}: {exc}"
            if self._stop.is_set():
                return
            delay = min(self.max_reconnect_ms, self.reconnect_ms * 2 ** max(0, failures - 1)) * random.uniform(0.8, 1.2)
            self.log(f"transcript stream: {reason}; reconnecting in {delay / 1000:.2f} s"
                     + (f" from event {self.last_event_id}" if self.last_event_id else ""))
            self._stop.wait(delay / 1000)

    def _read_once(self) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        req = urllib.request.Request(self.url, headers=headers)
        with urllib.request.urlopen(req, timeout=self.idle_timeout) as resp:
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.startswith("text/event-stream"):
                raise ValueError(f"expected text/event-stream, got {ctype or 'no content type'}")
            self.connections += 1
            self.log(f"transcript stream connected ({self.url})")
            event, data, event_id = "", [], None
            for raw in resp:
                if self._stop.is_set():
                    return
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line == "":
                    if data:
                        if event_id is not None:
                            self.last_event_id = event_id
                        self._deliver(SseEvent(event or "message", "\n".join(data), event_id))
                    event, data, event_id = "", [], None
                    continue
                if line.startswith(":"):
                    continue  # a comment (keep-alive)
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
                elif name == "id" and "\0" not in value:
                    event_id = value
                elif name == "retry" and value.isdigit():
                    self.reconnect_ms = int(value)

    def _deliver(self, ev: SseEvent) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.queue.put(ev), self.loop)
        while not self._stop.is_set():
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                continue
            except Exception:
                return  # the loop is gone
