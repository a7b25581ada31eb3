import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginHostEnv } from "../../src/host/index.js";
import { parseManifest } from "../../src/manifest/index.js";

const manifest = parseManifest('[plugin]\nid = "envy"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "node"\n', { file: "/tmp/envy/nexo-plugin.toml" });

test("host env - every plugin is told to reach the broker over stdio, as the upstream daemon tells its plugins", () => {
  const env = pluginHostEnv({ manifest, instance: "a" }, "/tmp/state/envy", "0.1.0");
  assert.equal(env.NEXO_BROKER_KIND, "stdio_bridge");
  assert.equal(env.NEXO_BROKER_URL, undefined, "no NATS URL: the host bridges the broker");
  assert.deepEqual([env.NEXO_PLUGIN_ID, env.NEXO_PLUGIN_KEY, env.NEXO_PLUGIN_INSTANCE, env.NEXO_PLUGIN_STATE_DIR], ["envy", "envy.a", "a", "/tmp/state/envy"]);
});
