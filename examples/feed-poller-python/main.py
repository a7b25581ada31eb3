"""Plugin pattern 4 (scheduled poller) in Python: poll a JSON feed every
`interval_secs`, publish each item not seen before on plugin.inbound.feed, and
remember what was published in <state dir>/state.json so that a restart (of the
plugin or of the daemon) emits nothing old. Standard library only."""
from __future__ import annotations

import asyncio
import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
try:
    import nexo_plugin_sdk  # noqa: F401  (installed with `pip install ./sdk/python`)
except ImportError:
    # Running from the repository: use the SDK beside it.
    sys.path.insert(0, str(HERE.parent.parent / "sdk" / "python"))

from nexo_plugin_sdk import Event, PluginAdapter, state_dir  # noqa: E402
from seen_store import SeenStore  # noqa: E402

MANIFEST = (HERE / "nexo-plugin.toml").read_text()
PLUGIN_ID = "feed_poller"
TOPIC = "plugin.inbound.feed"
#: Longest wait after repeated failures, whatever the interval.
MAX_BACKOFF_SECS = 300.0


def log(message: str) -> None:
    sys.stderr.write(f"[{PLUGIN_ID}] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class FeedConfig:
    """The operator's settings (nexo.yaml `plugins.feed_poller.config`)."""

    feed_url: str
    interval_secs: float = 60.0
    #: Dotted path to the item list inside the JSON document; None = the document is the list.
    items_path: str | None = None
    id_field: str = "id"
    timeout_secs: float = 10.0
    #: Ids remembered; ids the feed still lists are never forgotten.
    max_seen: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024

    @staticmethod
    def parse(value: Any) -> "FeedConfig":
        """Validate plugin.configure's value; a ValueError names the key and what was wrong."""
        if not isinstance(value, dict):
            raise ValueError(f"config must be a mapping, got {type(value).__name__}")
        known = set(FeedConfig.__dataclass_fields__)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        url = value.get("feed_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"feed_url must be an http(s) URL, got {url!r}")

        def positive(key: str, kind: type, default: Any) -> Any:
            v = value.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 or (kind is int and int(v) != v):
                raise ValueError(f"{key} must be a positive {'integer' if kind is int else 'number'}, got {v!r}")
            return kind(v)

        items_path = value.get("items_path")
        if items_path is not None and (not isinstance(items_path, str) or not items_path):
            raise ValueError(f"items_path must be a non-empty string, got {items_path!r}")
        id_field = value.get("id_field", "id")
        if not isinstance(id_field, str) or not id_field:
            raise ValueError(f"id_field must be a non-empty string, got {id_field!r}")
        return FeedConfig(
            feed_url=url,
            interval_secs=positive("interval_secs", float, 60.0),
            items_path=items_path,
            id_field=id_field,
            timeout_secs=positive("timeout_secs", float, 10.0),
            max_seen=positive("max_seen", int, 10_000),
            max_body_bytes=positive("max_body_bytes", int, 10 * 1024 * 1024),
        )


class FeedError(Exception):
    """A poll that failed; the message says why (never the response body)."""


def _fetch_blocking(url: str, headers: dict[str, str], timeout: float, max_bytes: int) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "nexo-feed-poller/0.1", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FeedError(f"feed is larger than max_body_bytes ({max_bytes})")
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, {k.lower(): v for k, v in exc.headers.items()}, b""
        raise FeedError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FeedError(f"cannot reach the feed: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise FeedError(f"request failed: {exc}") from None


async def fetch(url: str, headers: dict[str, str], timeout: float, max_bytes: int) -> tuple[int, dict[str, str], bytes]:
    """urllib in a daemon thread: a request still blocked at shutdown cannot hold the process's exit."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[tuple[int, dict[str, str], bytes]] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if fut.done():  # cancelled by shutdown meanwhile
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)

    def run() -> None:
        try:
            result, error = _fetch_blocking(url, headers, timeout, max_bytes), None
        except BaseException as exc:  # handed to the loop, which decides
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass  # the loop is closed: the plugin has exited

    threading.Thread(target=run, name="feed-fetch", daemon=True).start()
    return await fut


def items_of(document: Any, items_path: str | None) -> list[Any]:
    node = document
    for key in (items_path.split(".") if items_path else []):
        if not isinstance(node, dict) or key not in node:
            raise FeedError(f"items_path {items_path!r}: no key {key!r} in the document")
        node = node[key]
    if not isinstance(node, list):
        raise FeedError(f"expected a JSON array of items{f' at {items_path!r}' if items_path else ''}, got {type(node).__name__}")
    return node


class FeedPoller:
    """One feed on a timer: fetch (with ETag / Last-Modified), dedupe, publish new items, save state."""

    def __init__(self, adapter: PluginAdapter) -> None:
        self.adapter = adapter
        self.cfg: FeedConfig | None = None
        self.store: SeenStore | None = None
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._fetching: asyncio.Task[Any] | None = None

    async def configure(self, value: Any) -> None:
        cfg = FeedConfig.parse(value)
        await self.stop()
        self.cfg = cfg
        self.store = SeenStore(state_dir(PLUGIN_ID) / "state.json", cfg.max_seen)
        self.store.load(log)
        self.store.for_feed(cfg.feed_url)
        log(f"polling {cfg.feed_url} every {cfg.interval_secs:g} s ({len(self.store)} item(s) already seen)")
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """End the loop: a fetch in progress is abandoned, a publish in progress finishes and is saved."""
        self._stop.set()
        if self._fetching is not None:
            self._fetching.cancel()
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        assert self.cfg is not None
        while not self._stop.is_set():
            try:
                n = await self.poll_once()
                self.failures = 0
                if n:
                    log(f"published {n} new item(s)")
                delay = self.cfg.interval_secs
            except asyncio.CancelledError:
                if self._stop.is_set():
                    return
                raise
            except Exception as exc:  # a bad feed, or a publish the host refused: retry later, never die
                if self._stop.is_set():
                    return
                self.failures += 1
                delay = min(self.cfg.interval_secs * 2 ** (self.failures - 1), max(self.cfg.interval_secs, MAX_BACKOFF_SECS))
                reason = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
                log(f"poll failed ({reason}); failure {self.failures} in a row, next try in {delay:g} s")
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def poll_once(self) -> int:
        """One poll; returns how many items were published. Raises FeedError on a bad response."""
        cfg, store = self.cfg, self.store
        assert cfg is not None and store is not None
        headers: dict[str, str] = {}
        if store.etag:
            headers["If-None-Match"] = store.etag
        if store.last_modified:
            headers["If-Modified-Since"] = store.last_modified
        self._fetching = asyncio.ensure_future(fetch(cfg.feed_url, headers, cfg.timeout_secs, cfg.max_body_bytes))
        try:
            status, resp_headers, body = await self._fetching
        finally:
            self._fetching = None
        if status == 304:
            return 0
        try:
            items = items_of(json.loads(body), cfg.items_path)
        except ValueError as exc:
            raise FeedError(f"the feed is not valid JSON: {exc}") from None
        published = 0
        listed: list[str] = []
        missing_id = 0
        try:
            for item in items:
                raw_id = item.get(cfg.id_field) if isinstance(item, dict) else None
                if raw_id is None or isinstance(raw_id, (dict, list)):
                    missing_id += 1
                    continue
                item_id = str(raw_id)
                listed.append(item_id)
                if item_id in store:
                    continue
                # Acked: an item counts as published only once the host has put it on the broker,
                # so an interrupted poll re-emits it next time instead of losing it.
                await self.adapter.broker.publish_acked(TOPIC, Event.new(TOPIC, PLUGIN_ID, item, metadata={"feed_url": cfg.feed_url, "item_id": item_id}))
                store.add(item_id)
                published += 1
            # Validators are only trusted once every listed item is handled.
            store.set_validators(resp_headers.get("etag"), resp_headers.get("last-modified"))
        finally:
            store.prune(listed)
            store.save()
        if missing_id:
            log(f"{missing_id} item(s) without a usable {cfg.id_field!r} field skipped")
        return published


async def main() -> None:
    adapter: PluginAdapter
    poller: FeedPoller

    async def on_configure(value: Any) -> None:
        await poller.configure(value)

    async def on_shutdown() -> None:
        await poller.stop()
        log("stopped polling; state saved")

    adapter = PluginAdapter(manifest_toml=MANIFEST, on_configure=on_configure, on_shutdown=on_shutdown)
    poller = FeedPoller(adapter)
    await adapter.run()


if __name__ == "__main__":
    asyncio.run(main())
