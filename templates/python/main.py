"""Plugin pattern 1 (echo) in Python: every event on plugin.outbound.{{id}}[.x] is
published back on plugin.inbound.{{id}}[.x] with the same payload."""
import asyncio
from pathlib import Path

# The nexo-plugin-sdk distribution (requirements.txt), installed in this plugin's .venv.
from nexo_plugin_sdk import Event, PluginAdapter, conformance_probe

HERE = Path(__file__).resolve().parent

MANIFEST = (HERE / "nexo-plugin.toml").read_text()


async def on_event(topic: str, event: Event, broker) -> None:
    out_topic = topic.replace("plugin.outbound.", "plugin.inbound.")
    await broker.publish(out_topic, Event.new(out_topic, "{{id}}", event.payload,
                                              session_id=event.session_id,
                                              correlation_id=event.correlation_id or event.id))


async def main() -> None:
    # conformance_probe() adds the tool `nexo plugin test` drives the SDK with, only when
    # the test runner starts the plugin; pass your own tools=/on_tool= through it.
    await PluginAdapter(manifest_toml=MANIFEST, on_event=on_event, **conformance_probe()).run()


if __name__ == "__main__":
    asyncio.run(main())
