"""Plugin pattern 6 (stateful conversation glue) in Python: transcript fragments
arrive interleaved across conversations, from an external Server-Sent Events
stream (`stream_url`) and/or as events on plugin.outbound.voice[.x]; each
conversation's fragments are buffered apart and published as one utterance on
plugin.inbound.voice when a done marker arrives, after `silence_timeout_ms`
without a fragment, or when a bound is hit. Standard library only."""
from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
try:
    import nexo_plugin_sdk  # noqa: F401  (installed with `pip install ./sdk/python`)
except ImportError:
    # Running from the repository: use the SDK beside it.
    sys.path.insert(0, str(HERE.parent.parent / "sdk" / "python"))

from nexo_plugin_sdk import Event, PluginAdapter  # noqa: E402
from assembler import Assembler, Utterance  # noqa: E402
from sse_stream import SseEvent, SseStream  # noqa: E402

MANIFEST = (HERE / "nexo-plugin.toml").read_text()
PLUGIN_ID = "voice_glue"
TOPIC = "plugin.inbound.voice"
#: Fragments waiting for the assembler; a full queue makes the stream reader wait.
QUEUE_DEPTH = 1024


def log(message: str) -> None:
    sys.stderr.write(f"[{PLUGIN_ID}] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class GlueConfig:
    """The operator's settings (nexo.yaml `plugins.voice_glue.config`)."""

    stream_url: str | None = None
    silence_timeout_ms: int = 2000
    joiner: str = ""
    max_conversations: int = 1000
    max_chars: int = 20_000
    reconnect_ms: int = 1000
    idle_timeout_secs: float = 60.0

    @staticmethod
    def parse(value: Any) -> "GlueConfig":
        """Validate plugin.configure's value; a ValueError names the key and the value."""
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise ValueError(f"config must be a mapping, got {type(value).__name__}")
        known = set(GlueConfig.__dataclass_fields__)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        url = value.get("stream_url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise ValueError(f"stream_url must be an http(s) URL, got {url!r}")
        joiner = value.get("joiner", "")
        if not isinstance(joiner, str):
            raise ValueError(f"joiner must be a string, got {joiner!r}")

        def positive(key: str, default: Any, kind: type = int) -> Any:
            v = value.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 or (kind is int and int(v) != v):
                raise ValueError(f"{key} must be a positive {'integer' if kind is int else 'number'}, got {v!r}")
            return kind(v)

        return GlueConfig(url, positive("silence_timeout_ms", 2000), joiner, positive("max_conversations", 1000),
                          positive("max_chars", 20_000), positive("reconnect_ms", 1000), positive("idle_timeout_secs", 60.0, float))


def fragment_of(payload: Any) -> tuple[str, str, bool] | str:
    """(conversation_id, text, done) from a fragment payload, or why it is not one."""
    if not isinstance(payload, dict):
        return "payload must be an object {conversation_id, text, done?}"
    cid = payload.get("conversation_id")
    if not isinstance(cid, str) or not cid:
        return "conversation_id must be a non-empty string"
    text = payload.get("text", "")
    if not isinstance(text, str):
        return "text must be a string"
    done = payload.get("done", False)
    if not isinstance(done, bool):
        return "done must be true or false"
    if not text and not done:
        return "a fragment needs text, or done: true"
    return cid, text, done


class VoiceGlue:
    def __init__(self, adapter: PluginAdapter) -> None:
        self.adapter = adapter
        self.cfg = GlueConfig()
        self.assembler = self._new_assembler()
        self.fragments: asyncio.Queue[SseEvent] = asyncio.Queue(QUEUE_DEPTH)
        self.outgoing: asyncio.Queue[Utterance | None] = asyncio.Queue()
        self.stream: SseStream | None = None
        self.refused = 0
        self._tasks = [asyncio.ensure_future(self._consume_stream()), asyncio.ensure_future(self._publish())]

    def _new_assembler(self) -> Assembler:
        return Assembler(self.outgoing_put, silence_timeout=self.cfg.silence_timeout_ms / 1000, joiner=self.cfg.joiner,
                         max_conversations=self.cfg.max_conversations, max_chars=self.cfg.max_chars)

    def outgoing_put(self, u: Utterance) -> None:
        self.outgoing.put_nowait(u)

    async def configure(self, value: Any) -> None:
        cfg = GlueConfig.parse(value)
        if self.stream is not None:
            self.stream.stop()
        self.assembler.flush_all("reconfigured")
        self.cfg = cfg
        self.assembler = self._new_assembler()
        if cfg.stream_url:
            self.stream = SseStream(cfg.stream_url, asyncio.get_running_loop(), self.fragments, log,
                                    reconnect_ms=cfg.reconnect_ms, idle_timeout=cfg.idle_timeout_secs)
            self.stream.start()
        log(f"assembling fragments (silence timeout {cfg.silence_timeout_ms} ms)"
            + (f", reading {cfg.stream_url}" if cfg.stream_url else ", from plugin.outbound.voice events only"))

    def accept(self, payload: Any, origin: str) -> None:
        frag = fragment_of(payload)
        if isinstance(frag, str):
            self.refused += 1
            if self.refused <= 10 or self.refused % 1000 == 0:
                log(f"ignored a fragment from {origin}: {frag} ({self.refused} so far)")
            return
        self.assembler.add(*frag)

    async def on_event(self, topic: str, event: Event, _broker: Any) -> None:
        if topic.startswith("plugin.outbound.voice"):
            self.accept(event.payload, topic)

    async def _consume_stream(self) -> None:
        while True:
            ev = await self.fragments.get()
            if ev.event not in ("fragment", "message"):
                continue
            try:
                payload = json.loads(ev.data)
            except ValueError:
                payload = None
            self.accept(payload, f"stream event {ev.id}")

    async def _publish(self) -> None:
        # One publisher keeps utterances in the order they completed.
        while True:
            u = await self.outgoing.get()
            if u is None:
                return
            try:
                await self.adapter.broker.publish(TOPIC, Event.new(TOPIC, PLUGIN_ID, {
                    "conversation_id": u.conversation_id, "text": u.text, "fragments": u.fragments, "reason": u.reason,
                }, session_id=u.conversation_id))
            except Exception as exc:  # e.g. an utterance over the frame limit: log, keep going
                log(f"utterance of {u.conversation_id} not published: {exc}")

    async def shutdown(self) -> None:
        """Nothing buffered is lost: every open conversation goes out with reason "shutdown"."""
        if self.stream is not None:
            self.stream.stop()
        self._tasks[0].cancel()
        pending = len(self.assembler)
        self.assembler.flush_all("shutdown")
        self.outgoing.put_nowait(None)
        await self._tasks[1]
        log(f"stopped; {pending} open conversation(s) flushed")


async def main() -> None:
    glue: VoiceGlue

    async def on_configure(value: Any) -> None:
        await glue.configure(value)

    async def on_event(topic: str, event: Event, broker: Any) -> None:
        await glue.on_event(topic, event, broker)

    async def on_shutdown() -> None:
        await glue.shutdown()

    adapter = PluginAdapter(manifest_toml=MANIFEST, on_configure=on_configure, on_event=on_event, on_shutdown=on_shutdown)
    glue = VoiceGlue(adapter)
    await adapter.run()


if __name__ == "__main__":
    asyncio.run(main())
