// A Rust plugin written against the upstream plugin API (nexo_microapp_sdk::plugin:
// sdk/rust/examples/microapp_plugin.rs) under `nexo run`: its tools over the HTTP API,
// an event through `nexo publish` / `nexo tail`, host calls answered by the daemon.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { tempDir } from "../../../nexo/test/helpers/fixture-plugins.js";
import { runNexo, startNexoDaemon, startNexoTail } from "../../../nexo/test/helpers/nexo-cli.js";
import { freePort } from "../../../nexo/test/helpers/nats-server.js";
import { waitFor } from "../../../nexo/test/helpers/wait.js";

const RUST_SDK = fileURLToPath(new URL("../../../../sdk/rust", import.meta.url));

/** The manifest the example embeds (its `MANIFEST` raw string), written beside the binary as the daemon needs it. */
const MANIFEST = /const MANIFEST: &str = r#"\n([\s\S]*?)"#;/.exec(readFileSync(join(RUST_SDK, "examples", "microapp_plugin.rs"), "utf8"))![1];

test("rust microapp api - a plugin written against the upstream Rust plugin API serves tools and events under nexo run", async (t) => {
  // scripts/setup.sh builds it; this is a no-op then, and rebuilds after an SDK edit.
  execFileSync("cargo", ["build", "--quiet", "--example", "microapp_plugin"], { cwd: RUST_SDK, stdio: ["ignore", "ignore", "inherit"] });
  const dir = tempDir(t);
  const plugin = join(dir, "plugins", "microapp");
  mkdirSync(plugin, { recursive: true });
  copyFileSync(join(RUST_SDK, "target", "debug", "examples", "microapp_plugin"), join(plugin, "microapp_plugin"));
  writeFileSync(join(plugin, "nexo-plugin.toml"), MANIFEST);
  const port = await freePort();
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [
      `state_dir: ${JSON.stringify(join(dir, "state"))}`,
      `plugin_paths: [${JSON.stringify(join(dir, "plugins"))}]`,
      "api:",
      `  port: ${port}`,
      "plugins:",
      "  microapp: {}",
      "",
    ].join("\n"),
  );
  const env = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startNexoDaemon(t, config);
  const base = `http://127.0.0.1:${port}`;
  const names = await waitFor(
    async () => {
      const r = await fetch(`${base}/tools`).catch(() => undefined);
      if (!r?.ok) return undefined;
      const body = (await r.json()) as { tools?: Array<{ name: string }> } | Array<{ name: string }>;
      const list = (Array.isArray(body) ? body : (body.tools ?? [])).map((x) => x.name);
      return list.length === 3 ? list : undefined;
    },
    "three tools listed",
    30_000,
    100,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });
  const tool = (suffix: string) => names!.find((n) => n.endsWith(suffix))!;
  const call = async (suffix: string, args: unknown) => {
    const r = await fetch(`${base}/tools/${tool(suffix)}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(args) });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  const echo = await call("echo", { text: "hi" });
  assert.equal(echo.status, 200, JSON.stringify(echo.body));
  assert.deepEqual(echo.body.structured_content, { args: { text: "hi" }, agent: null, plugin: "microapp" });

  const host = await call("host", {});
  assert.equal(host.status, 200, JSON.stringify(host.body));
  assert.deepEqual(host.body.structured_content, {
    // The daemon serves memory.recall from its own store (empty here); no LLM provider is configured.
    recall: { entries: 0 },
    complete: { server: -32603, message: "llm.complete is not configured on this host: add llm.providers to nexo.yaml or run an LLM provider plugin" },
  });

  const fail = await call("fail", {});
  assert.equal(fail.status, 503, JSON.stringify(fail.body));
  assert.match(JSON.stringify(fail.body), /unavailable: busy/);

  const tail = await startNexoTail(t, "plugin.inbound.microapp", 1, env);
  const pub = await runNexo(["publish", "plugin.outbound.microapp", '{"n":1}'], env);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(await tail.closed, 0);
  const [reply] = tail.events();
  assert.deepEqual(reply.payload, { echo: { n: 1 }, from: "plugin.outbound.microapp" });
  assert.equal(reply.source, "microapp");
  assert.match(String(reply.correlation_id), /^[0-9a-f-]{36}$/, "the reply is tied to the published event");
});
