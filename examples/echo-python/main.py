"""Plugin pattern 1 (echo) in Python: every event on plugin.outbound.echo_py[.x] is
published back on plugin.inbound.echo_py[.x] with the same payload."""
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import nexo_plugin_sdk  # noqa: F401  (installed with `pip install ./sdk/python`)
except ImportError:
    # Running from the repository: use the SDK beside it.
    sys.path.insert(0, str(HERE.parent.parent / "sdk" / "python"))

from nexo_plugin_sdk import Event, PluginAdapter, conformance_probe  # noqa: E402

MANIFEST = (HERE / "nexo-plugin.toml").read_text()


async def on_event(topic: str, event: Event, broker) -> None:
    out_topic = topic.replace("plugin.outbound.", "plugin.inbound.")
    await broker.publish(out_topic, Event.new(out_topic, "echo_py", event.payload,
                                              session_id=event.session_id,
                                              correlation_id=event.correlation_id or event.id))


async def main() -> None:
    # conformance_probe() adds the tool `nexo plugin test` drives the SDK with, only when
    # the test runner starts the plugin; pass your own tools=/on_tool= through it.
    await PluginAdapter(manifest_toml=MANIFEST, on_event=on_event, **conformance_probe()).run()


if __name__ == "__main__":
    asyncio.run(main())
