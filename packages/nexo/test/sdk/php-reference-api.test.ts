// A PHP plugin written against the reference PHP SDK's API alone
// (sdk/php/tests/fixtures/reference-plugin) runs under the daemon unchanged:
// events and their self-correlating replies, typed host calls served by the
// host, upstream-named tools with their error codes, and a clean exit.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { collect, startExampleDaemon, tempDir, waitFor } from "../../../../examples/test-support/index.js";
import { newEvent } from "../../src/contract/index.js";

const FIXTURES = fileURLToPath(new URL("../../../../sdk/php/tests/fixtures/", import.meta.url));

test("sdk php - a plugin written against the reference API runs under the daemon: events, host calls, tools, shutdown", { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "nexo.yaml"), stringify({ plugin_paths: [FIXTURES], plugins: { refphp: {} } }));
  const { daemon, broker, stop } = await startExampleDaemon(t, dir, { stateDir: join(dir, "state") });
  const recalls: unknown[] = [];
  daemon.host.setHostService("memory.recall", async (params) => {
    recalls.push(params);
    return { entries: [{ id: "m1", agent_id: "agent_x", content: "likes tea", tags: [], concept_tags: [], created_at: "2026-01-01T00:00:00Z", memory_type: "fact" }] };
  });
  daemon.host.setHostService("llm.complete", async () => ({ content: "hello", finish_reason: "stop", usage: { prompt_tokens: 2, completion_tokens: 1 } }));

  const { events } = collect(t, broker, "plugin.inbound.refphp");
  const asked = ["echo", "recall", "complete"].map((op) => newEvent("plugin.outbound.refphp", "test", { op, text: "hi", q: "prefs" }));
  for (const e of asked) await broker.publish(e.topic, e);
  await waitFor(() => events.length === 3, "three replies", 20_000);
  const byCause = new Map(events.map((e) => [e.correlation_id, e]));
  assert.deepEqual(byCause.get(asked[0].id)?.payload, { echoed: "hi", topic: "plugin.outbound.refphp" }, "the reply correlates to its event by itself");
  assert.deepEqual(byCause.get(asked[1].id)?.payload, { contents: ["likes tea"], agents: ["agent_x"] });
  assert.deepEqual(recalls[0], { agent_id: "agent_x", query: "prefs", limit: 3 });
  assert.deepEqual(byCause.get(asked[2].id)?.payload, { content: "hello", finish: "stop", completion_tokens: 1, is_result: true });
  assert.ok(events.every((e) => e.source === "refphp"));

  // Upstream tool names already carry the plugin id: they are served under that name.
  const echoed = await daemon.app.callTool("refphp_echo", { x: 1 });
  assert.deepEqual(echoed.structured_content, { args: { x: 1 }, agent: null, plugin: "refphp", ctx_plugin: "refphp" });
  const recalled = await daemon.app.callTool("refphp_recall", { q: "tea" });
  assert.deepEqual(recalled.content, [{ type: "text", text: "likes tea" }]);
  for (const [how, code] of [
    ["invalid", -33402],
    ["unavailable", -33404],
    ["denied", -33405],
    ["failed", -33403],
  ] as const) {
    await assert.rejects(daemon.app.callTool("refphp_fail", { how }), (err: Error & { details?: { rpcCode?: number } }) => {
      assert.equal(err.details?.rpcCode, code, `${how}: ${err.message}`);
      return true;
    });
  }

  const sup = daemon.host.require("refphp");
  await stop();
  assert.equal(sup.status().lastExitCode, 0, sup.status().stderrTail.join("\n"));
  assert.ok(
    sup.status().stderrTail.some((l) => l.includes("REFPHP_SHUTDOWN_HOOK")),
    sup.status().stderrTail.join("\n"),
  );
});
