import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { hashApiKey } from "../../src/plugins/auth/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { NEXO_BIN } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";
import { pythonMcpOrSkip } from "../helpers/python-mcp.js";

const PY_CLIENT = fileURLToPath(new URL("../fixtures/mcp/python-mcp-progress-client.py", import.meta.url));
const KEY = "analyst-key-0123456789abcdef";

interface ClientOutput {
  tools: string[];
  result: string;
  progress: Array<[number, number | null, string | null]>;
  refused: { is_error: boolean; text: string };
}

/** The Python client's one JSON line; asynchronous, since a synchronous child would block the daemon it talks to. */
function runClient(args: string[]): Promise<ClientOutput> {
  return new Promise((resolve, reject) =>
    execFile("python3", [PY_CLIENT, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split("\n").pop()!) as ClientOutput),
    ),
  );
}

/** What both transports must show: granted tools only, progress that rises and never passes its total, a readable refusal. */
function assertSession(out: ClientOutput, principal: string, tools: string[]): void {
  assert.deepEqual(out.tools, tools);
  assert.deepEqual(JSON.parse(out.result), { done: 3 });
  assert.deepEqual(
    out.progress.map((p) => p[2]),
    ["step 1", "partial", "step 2", "step 3"],
  );
  for (let i = 1; i < out.progress.length; i++) assert.ok(out.progress[i]![0] > out.progress[i - 1]![0], "progress rises");
  assert.ok(
    out.progress.every(([p, total]) => total === 3 && p <= 3),
    JSON.stringify(out.progress),
  );
  assert.equal(out.refused.is_error, true);
  assert.match(out.refused.text, new RegExp(`${principal} may not run workflow "secret".*${ErrorCodes.AUTHZ_FORBIDDEN}`));
}

test("authorization e2e - the official Python MCP client over Streamable HTTP and over nexo mcp (stdio): progress notifications arrive, an ungranted workflow is a tool error", async (t) => {
  if (!pythonMcpOrSkip(t)) return;
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "workflows.mjs"),
    [
      "export default function (app) {",
      '  app.register("steps", ({ steps }, ctx) => {',
      "    for (let i = 1; i <= steps; i++) {",
      '      ctx.progress({ progress: i, total: steps, message: "step " + i });',
      '      if (i === 1) ctx.emit("partial");',
      "    }",
      "    return { done: steps };",
      "  });",
      '  app.register("secret", () => ({ launch: "codes" }));',
      '  app.register("hold", (_i, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))));',
      "}",
    ].join("\n"),
  );
  const file = join(dir, "nexo.yaml");
  writeFileSync(
    file,
    JSON.stringify({
      state_dir: join(dir, "state"),
      workflows: [join(dir, "workflows.mjs")],
      api: { port: 0 },
      in_process_plugins: { auth: { strategy: "api_key", api_keys: [{ id: "analyst", hash: hashApiKey(KEY), claims: { roles: ["analyst"] } }] } },
      // A schedule makes every process on this file open the runs store at start, as a real nexo.yaml would.
      schedules: [{ name: "hourly", workflow: "steps", every_seconds: 3600, inputs: { steps: 1 } }],
      authorization: {
        rules: [
          { name: "analysts", principals: ["role:analyst"], workflows: ["steps", "hold"] },
          { name: "stdio", principals: ["local:mcp_stdio"], workflows: ["steps"] },
          { name: "hourly", principals: ["schedule:hourly"], workflows: ["steps"] },
        ],
      },
    }),
  );
  const daemon = await Daemon.start(loadConfig(file), { logger: captureLogger().logger, controlSocket: false });
  t.after(() => daemon.stop());
  // A run in progress on the daemon while an MCP client starts `nexo mcp` on the same nexo.yaml (so the same state dir).
  const headers = { "x-api-key": KEY, "content-type": "application/json" };
  const held = (await (await fetch(`${daemon.app.url}/workflows/hold/runs`, { method: "POST", headers, body: "{}" })).json()) as { id: string };
  const status = async (): Promise<string> => ((await (await fetch(`${daemon.app.url}/runs/${held.id}`, { headers })).json()) as { status: string }).status;
  await waitFor(async () => (await status()) === "running", "the held run to run");

  const [http, stdio] = await Promise.all([runClient(["http", `${daemon.app.url}/mcp`, KEY]), runClient(["stdio", process.execPath, NEXO_BIN, "mcp", "--config", file])]);
  assertSession(http, "api_key:analyst", ["hold", "steps"]);
  assertSession(stdio, "local:mcp_stdio", ["steps"]);
  // The second process did not take the daemon's running run for one its own previous life left behind.
  assert.equal(await status(), "running");
  assert.equal((await fetch(`${daemon.app.url}/runs/${held.id}`, { method: "DELETE", headers })).status, 200);
});
