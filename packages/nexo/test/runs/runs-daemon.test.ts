import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Nexo, NexusPlugin } from "../../src/app/index.js";
import { normalizeConfig } from "../../src/config/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { Daemon } from "../../src/daemon/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { runNexo } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";

/** A daemon from a nexo.yaml-shaped config: CORS for one origin, runs bounds, a workflow that streams and waits. */
async function startDaemon(t: TestContext) {
  const dir = tempDir(t);
  const config = normalizeConfig(
    {
      state_dir: join(dir, "state"),
      api: { port: 0, cors: { origins: ["https://app.example.com"], credentials: true } },
      runs: { retention_seconds: 3600, max_concurrent: 4 },
    },
    join(dir, "nexo.yaml"),
    dir,
  );
  const release = new Set<() => void>();
  const daemon = await Daemon.start(config, {
    logger: captureLogger().logger,
    configure: (app) => {
      app.register("steps", async (inputs: { steps?: number; hold?: boolean }, ctx) => {
        const n = inputs.steps ?? 3;
        for (let i = 1; i <= n; i++) {
          ctx.progress({ progress: i, total: n, message: `step ${i}` });
          if (i === 1) ctx.emit("partial");
        }
        if (inputs.hold) {
          await new Promise<void>((resolve, reject) => {
            release.add(resolve);
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
          });
        }
        return { done: n };
      });
    },
  });
  t.after(() => daemon.stop());
  return { daemon, env: { NEXO_SOCKET: config.control.socket }, socket: config.control.socket, release };
}

test("runs - nexo runs list, show and cancel work over the control socket for every principal's runs", async (t) => {
  const { daemon, socket } = await startDaemon(t);
  const url = daemon.app.url!;
  const post = (body: unknown) => fetch(`${url}/workflows/steps/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const done = ((await (await post({ steps: 1 })).json()) as { id: string }).id;
  const held = ((await (await post({ hold: true })).json()) as { id: string }).id;
  await waitFor(async () => (await daemon.app.runs.get(held, "operator"))?.status === "running", "the held run to run");
  await waitFor(async () => (await daemon.app.runs.get(done, "operator"))?.status === "completed", "the short run to complete");

  const list = await runNexo(["--socket", socket, "runs", "list", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as Array<{ id: string; status: string }>;
  assert.deepEqual(
    rows.map((r) => [r.id, r.status]),
    [
      [held, "running"],
      [done, "completed"],
    ],
  );

  const cancel = await runNexo(["--socket", socket, "runs", "cancel", held]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal(cancel.stdout.trim(), `${held}: cancelled`);
  const show = await daemon.app.runs.get(held, "operator");
  assert.equal(show?.status, "cancelled");
  const again = await runNexo(["--socket", socket, "runs", "show", "no-such-run"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /NEXO_ERR_RUN_NOT_FOUND/);
});

test("runs - a workflow's ctx.progress reaches an MCP client that sent a progressToken, as notifications/progress", async (t) => {
  const { daemon } = await startDaemon(t);
  const client = new Client({ name: "progress-test", version: "1.0.0" });
  t.after(() => client.close().catch(() => undefined));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${daemon.app.url}/mcp`)));
  const seen: Array<{ progress: number; total?: number; message?: string }> = [];
  const result = (await client.callTool({ name: "steps", arguments: { steps: 3 } }, undefined, { onprogress: (p) => void seen.push(p) })) as CallToolResult;
  assert.equal(result.isError, false);
  await waitFor(() => seen.length >= 4, "four progress notifications");
  // A chunk between two steps is sent just above the last step (MCP wants progress to rise), never as a step of its own.
  assert.deepEqual(
    seen.map((p) => p.message),
    ["step 1", "partial", "step 2", "step 3"],
  );
  assert.deepEqual(seen[0], { progress: 1, total: 3, message: "step 1" });
  assert.ok(seen[1]!.progress > 1 && seen[1]!.progress < 1.001, `the chunk's progress ${seen[1]!.progress}`);
  assert.equal(seen[1]!.total, 3);
  assert.deepEqual(seen.slice(2), [
    { progress: 2, total: 3, message: "step 2" },
    { progress: 3, total: 3, message: "step 3" },
  ]);
});

test("conventions - CORS preflight answers the configured origin only, security headers are on, and /health/ready is 503 while a plugin starts", async (t) => {
  const { daemon } = await startDaemon(t);
  const url = daemon.app.url!;
  const preflight = await fetch(`${url}/workflows/steps/runs`, {
    method: "OPTIONS",
    headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type,idempotency-key" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
  assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Idempotency-Key/i);
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
  const foreign = await fetch(`${url}/workflows`, { headers: { origin: "https://evil.example.net" } });
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  const plain = await fetch(`${url}/workflows`, { headers: { origin: "https://app.example.com" } });
  assert.equal(plain.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.match(plain.headers.get("access-control-expose-headers") ?? "", /Location/);
  assert.equal(plain.headers.get("x-content-type-options"), "nosniff");
  assert.match(plain.headers.get("content-security-policy") ?? "", /default-src 'none'/);

  assert.throws(
    () => new Nexo({ http: false, httpConventions: { cors: { origins: ["*"], credentials: true } } }),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID),
  );

  assert.equal((await fetch(`${url}/health/live`)).status, 200);
  assert.equal((await fetch(`${url}/health/ready`)).status, 200);
  let finishSetup!: () => void;
  class SlowStart extends NexusPlugin {
    get name() {
      return "slow-start";
    }
    override setup() {
      return new Promise<void>((r) => (finishSetup = r));
    }
  }
  const added = daemon.app.addPlugin(new SlowStart());
  const notReady = await fetch(`${url}/health/ready`);
  assert.equal(notReady.status, 503);
  assert.deepEqual(((await notReady.json()) as { waiting: string[] }).waiting, ["plugin slow-start setting-up"]);
  assert.equal((await fetch(`${url}/health/live`)).status, 200, "alive while not ready");
  finishSetup();
  await added;
  assert.equal((await fetch(`${url}/health/ready`)).status, 200);
});

test("runs - a run in progress when the nexo process is killed shows interrupted once the daemon is back", async (t) => {
  const { writeFileSync } = await import("node:fs");
  const { startNexoDaemon } = await import("../helpers/nexo-cli.js");
  const dir = tempDir(t);
  writeFileSync(join(dir, "workflows.mjs"), `export default (app) => app.register("hang", () => new Promise(() => {}));\n`);
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, JSON.stringify({ state_dir: join(dir, "state"), api: { port: 0 }, workflows: [join(dir, "workflows.mjs")] }));
  const urlOf = async (d: { output: () => string }): Promise<string> =>
    waitFor<string | undefined>(() => /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(d.output())?.[1], "the daemon's API url", 20_000, 50) as Promise<string>;
  const first = startNexoDaemon(t, config);
  const url1 = await urlOf(first);
  const { id } = (await (await fetch(`${url1}/workflows/hang/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as { id: string };
  await waitFor(async () => ((await (await fetch(`${url1}/runs/${id}`)).json()) as { status: string }).status === "running", "the run to be running");
  first.kill("SIGKILL");
  await new Promise((r) => first.once("close", r));
  const second = startNexoDaemon(t, config);
  const url2 = await urlOf(second);
  const run = (await (await fetch(`${url2}/runs/${id}`)).json()) as { status: string; error: { code: string } };
  assert.equal(run.status, "interrupted");
  assert.equal(run.error.code, "NEXO_ERR_WORKFLOW_INTERRUPTED");
});
