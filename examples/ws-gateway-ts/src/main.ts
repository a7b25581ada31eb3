// Plugin pattern 5 (long-running connection): hold a WebSocket to the configured
// URL. Each message from it becomes an event on plugin.inbound.ws; each event on
// plugin.outbound.ws[.x] is sent over it as JSON. Connection changes are
// published on plugin.inbound.ws.status. On shutdown (request, SIGTERM/SIGINT or
// stdin EOF) the socket is closed with a close frame before the process exits 0.
import { readFileSync } from "node:fs";
import { Event, PluginAdapter } from "nexo-plugin-sdk";
import { parseConfig } from "./config.js";
import { WsGateway } from "./gateway.js";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");
const SOURCE = "ws_gateway";
const INBOUND = "plugin.inbound.ws";
const STATUS = "plugin.inbound.ws.status";

const log = (message: string): void => void process.stderr.write(`[${SOURCE}] ${message}\n`);

let gateway: WsGateway | undefined;

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  onConfigure: async (value) => {
    const cfg = parseConfig(value);
    // A new config (hot reload) replaces the connection.
    await gateway?.close("reconfigured");
    gateway = new WsGateway(cfg, {
      onMessage: (payload) => adapter.broker.publish(INBOUND, Event.new(INBOUND, SOURCE, payload)),
      onStatus: (status) => {
        adapter.broker.publish(STATUS, Event.new(STATUS, SOURCE, status)).catch((err: Error) => log(`status not published: ${err.message}`));
      },
      log,
    });
    gateway.start();
  },
  onEvent: async (topic, event) => {
    if (!topic.startsWith("plugin.outbound.ws")) return;
    if (!gateway) {
      log(`no connection configured; dropped an event on ${topic}`);
      return;
    }
    gateway.send(JSON.stringify(event.payload));
  },
  onShutdown: async () => {
    await gateway?.close();
  },
});

await adapter.run();
