import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test, type TestContext } from "node:test";
import { ErrorCodes, isNexoError, type NexoError } from "../../../src/errors.js";
import { loadManifest } from "../../../src/manifest/index.js";
import { NEXO_VERSION } from "../../../src/version.js";
import { testApp } from "../../helpers/app.js";
import { tempDir } from "../../helpers/fixture-plugins.js";

const SDK_TS = pathToFileURL(fileURLToPath(new URL("../../../../plugin-sdk/dist/index.js", import.meta.url))).href;
const SDK_PY = fileURLToPath(new URL("../../../../../sdk/python", import.meta.url));

const SCHEMA = { type: "object", required: ["n"], properties: { n: { type: "integer" } } };

/** A plugin dir with a manifest exposing `<id>.double` and `<id>.refuse` in the topic form, plus `entry` as its program. */
function sdkPlugin(t: TestContext, id: string, command: string, script: string, file: string): string {
  const dir = join(tempDir(t), id);
  mkdirSync(join(dir, "tools"), { recursive: true });
  writeFileSync(join(dir, "tools", "n.json"), JSON.stringify(SCHEMA));
  writeFileSync(join(dir, file), script);
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      `id = "${id}"`,
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      `command = ${JSON.stringify(command)}`,
      `args = [${JSON.stringify(file)}]`,
      ...[`${id}.double`, `${id}.refuse`, `${id}.crash`, `${id}.barrier`].flatMap((name) => ["[[plugin.tools.expose]]", `name = "${name}"`, 'schema_path = "./tools/n.json"']),
      "",
    ].join("\n"),
  );
  return dir;
}

const TS_PLUGIN = (id: string) => `
import { readFileSync } from "node:fs";
import { PluginAdapter, ToolUnavailableError } from ${JSON.stringify(SDK_TS)};
const adapter = new PluginAdapter({ manifestToml: readFileSync(new URL("./nexo-plugin.toml", import.meta.url), "utf8") });
adapter.onTopicTool("${id}.double", (args, event) => ({ doubled: args.n * 2, session: event.session_id }));
adapter.onTopicTool("${id}.refuse", () => { throw new ToolUnavailableError("come back later", 750); });
adapter.onTopicTool("${id}.crash", () => { throw new Error("plain failure"); });
// Answers only once 5 calls are running at the same time: proves calls are not handled one by one.
let arrived = 0; let open; const gate = new Promise((r) => (open = r));
adapter.onTopicTool("${id}.barrier", async () => { if (++arrived === 5) open(); await gate; return { arrived }; });
await adapter.run();
`;

const PY_PLUGIN = (id: string) => `
import asyncio, sys
from pathlib import Path
sys.path.insert(0, ${JSON.stringify(SDK_PY)})
from nexo_plugin_sdk import PluginAdapter
from nexo_plugin_sdk.errors import ToolUnavailable

async def double(args, event):
    return {"doubled": args["n"] * 2, "session": event.session_id}

async def refuse(args, event):
    raise ToolUnavailable("come back later", 750)

async def crash(args, event):
    raise RuntimeError("plain failure")

arrived = 0
gate = None

async def barrier(args, event):
    # Answers only once 5 calls are running at the same time: proves calls are not handled one by one.
    global arrived
    arrived += 1
    if arrived == 5:
        gate.set()
    await gate.wait()
    return {"arrived": arrived}

async def main():
    global gate
    gate = asyncio.Event()
    adapter = PluginAdapter(manifest_toml=(Path(__file__).parent / "nexo-plugin.toml").read_text())
    adapter.on_topic_tool("${id}.double", double).on_topic_tool("${id}.refuse", refuse).on_topic_tool("${id}.crash", crash).on_topic_tool("${id}.barrier", barrier)
    await adapter.run()

asyncio.run(main())
`;

for (const lang of ["ts", "py"] as const) {
  test(`tools - SDK topic-form helpers (${lang}): onTopicTool answers are routed to the caller and run concurrently, ToolErrors keep their code, other failures are -33403`, async (t) => {
    const { app } = testApp(t);
    const id = `sdk_${lang}`;
    const dir = lang === "ts" ? sdkPlugin(t, id, process.execPath, TS_PLUGIN(id), "main.mjs") : sdkPlugin(t, id, "python3", PY_PLUGIN(id), "main.py");
    app.host.add({ manifest: loadManifest(dir, { nexoVersion: NEXO_VERSION }) });
    await app.start();
    assert.equal(app.host.require(id).currentState, "ready", app.host.require(id).status().stderrTail.join("\n"));
    const r = await app.callTool(`${id}_${id}_double`, { n: 21 }, { sessionId: "conv-9" });
    assert.deepEqual(r.structured_content, { doubled: 42, session: "conv-9" });
    const many = await Promise.all(Array.from({ length: 50 }, (_, n) => app.callTool(`${id}_${id}_double`, { n })));
    many.forEach((x, n) => assert.equal((x.structured_content as { doubled: number }).doubled, n * 2));
    const together = await Promise.all(Array.from({ length: 5 }, () => app.callTool(`${id}_${id}_barrier`, { n: 0 }, { timeoutMs: 10_000 })));
    assert.deepEqual(
      together.map((x) => x.structured_content),
      Array(5).fill({ arrived: 5 }),
    );
    await assert.rejects(
      app.callTool(`${id}_${id}_refuse`, { n: 1 }, { timeoutMs: 10_000 }),
      (err) => isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE) && ((err as NexoError).details.data as { retryAfterMs: number }).retryAfterMs === 750,
    );
    await assert.rejects(
      app.callTool(`${id}_${id}_crash`, { n: 1 }, { timeoutMs: 10_000 }),
      (err) => isNexoError(err, ErrorCodes.TOOL_EXECUTION_FAILED) && /plain failure/.test((err as Error).message),
    );
  });
}
