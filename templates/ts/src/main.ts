// Plugin pattern 1 (echo channel): every event on plugin.outbound.{{id}}[.x] comes
// back on the mirrored plugin.inbound.{{id}}[.x] topic with the same payload,
// session id and correlation id, so a round trip can be matched end to end.
import { readFileSync } from "node:fs";
import { conformanceProbe, Event, PluginAdapter } from "nexo-plugin-sdk";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  onEvent: async (topic, event, broker) => {
    if (!topic.startsWith("plugin.outbound.")) return;
    const outTopic = topic.replace("plugin.outbound.", "plugin.inbound.");
    await broker.publish(outTopic, Event.new(outTopic, "{{id}}", event.payload, { sessionId: event.session_id, correlationId: event.correlation_id }));
  },
  // conformanceProbe() adds the tool `nexo plugin test` drives the SDK with, only when the
  // test runner starts the plugin; pass your own { tools, onTool } through it.
  ...conformanceProbe(),
});

await adapter.run();
