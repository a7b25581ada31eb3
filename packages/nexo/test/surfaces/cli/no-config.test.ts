// `nexo mcp` started where there is no config, as an MCP client launches it:
// an empty daemon that says how to add plugins, and no state written where
// the client happens to start it. (`nexo run` shares the config path, tested
// in config/load-config.test.ts; it binds port 8000, so no test starts it here.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../helpers/fixture-plugins.js";
import { NEXO_BIN } from "../../helpers/nexo-cli.js";
import { waitFor } from "../../helpers/wait.js";

test("cli no-config - nexo mcp with no config serves an empty daemon, prints how to add plugins, and keeps its state under $XDG_STATE_HOME, not the cwd", async (t) => {
  const cwd = tempDir(t);
  const xdg = tempDir(t);
  const child = spawn(process.execPath, [NEXO_BIN, "mcp"], { cwd, env: { ...process.env, XDG_STATE_HOME: xdg } });
  t.after(() => void (child.exitCode === null && child.kill("SIGKILL")));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const closed = new Promise<number | null>((r) => child.once("close", r));
  child.stdin.write(
    `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`,
  );
  await waitFor(() => stdout.includes('"id":1'), "the initialize result", 30_000);
  child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })}\n`);
  await waitFor(() => stdout.includes('"id":2'), "the tools/list result", 30_000);
  const tools = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { id?: number; result?: { tools: unknown[] } })
    .find((f) => f.id === 2);
  assert.deepEqual(tools?.result?.tools, [], "no plugins, no workflows: no tools");
  child.stdin.end();
  assert.equal(await closed, 0, stderr);
  assert.match(stderr, /empty daemon/);
  assert.match(stderr, /plugin_paths:/);
  assert.match(stderr, /nexo demo/);
  assert.deepEqual(readdirSync(cwd), [], "nothing written into the client's working directory");
  assert.ok(existsSync(join(xdg, "nexo", "mcp")), "state under $XDG_STATE_HOME/nexo/mcp");
});
