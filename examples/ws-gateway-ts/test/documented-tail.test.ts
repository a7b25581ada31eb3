// The tail commands the README and nexo.yaml show must see what the plugin
// publishes: messages on plugin.inbound.ws itself, status on plugin.inbound.ws.status.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { matchTopic } from "../../../packages/nexo/src/broker/index.js";

const TOPICS = ["plugin.inbound.ws", "plugin.inbound.ws.status"];

test("ws-gateway-ts docs - every documented tail pattern matches both the message topic and the status topic", () => {
  for (const file of ["README.md", "nexo.yaml"]) {
    const text = readFileSync(new URL(`../${file}`, import.meta.url), "utf8");
    const patterns = [...text.matchAll(/ tail '([^']+)'/g)].map((m) => m[1]);
    assert.ok(patterns.length > 0, `${file} documents a tail command`);
    for (const pattern of patterns) for (const topic of TOPICS) assert.ok(matchTopic(pattern, topic), `${file}: tail '${pattern}' misses ${topic}`);
  }
});
