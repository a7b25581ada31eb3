import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const NEXO = fileURLToPath(new URL("../../bin/nexo.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NEXO, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function startDaemon(t: TestContext, config: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [NEXO, "run", "--config", config], { env: { ...process.env, NEXO_LOG_LEVEL: "info" } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("close", r));
    }
  });
  return Object.assign(child, { output: () => out });
}

test("daemon - nexo run with the bundled echo plugin: publish on plugin.outbound.echo shows up in nexo tail plugin.inbound.>", async (t) => {
  const dir = tempDir(t);
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [
      `state_dir: ${join(dir, "state")}`,
      `plugin_paths: [${JSON.stringify(EXAMPLES)}]`,
      `workflows: [${JSON.stringify(join(EXAMPLES, "demo-workflows.mjs"))}]`,
      "api:",
      "  port: 0",
      "plugins:",
      "  echo: {}",
      "",
    ].join("\n"),
  );
  const socketEnv = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startDaemon(t, config);
  await waitFor(
    async () => {
      const r = await run(["plugin", "list", "--json"], socketEnv);
      return r.code === 0 && (JSON.parse(r.stdout) as Array<{ key: string; state: string }>).some((p) => p.key === "echo" && p.state === "ready");
    },
    "echo plugin ready",
    30_000,
    200,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });

  const tail = spawn(process.execPath, [NEXO, "tail", "plugin.inbound.>", "--count", "1"], { env: { ...process.env, ...socketEnv } });
  let tailOut = "";
  let tailErr = "";
  tail.stdout.on("data", (d) => (tailOut += d));
  tail.stderr.on("data", (d) => (tailErr += d));
  // Listen for the exit now: the tail may finish before the test gets to await it.
  const tailClosed = new Promise((r) => tail.once("close", r));
  t.after(() => void tail.kill());
  await waitFor(() => tailErr.includes("tailing"), "tail subscription live");

  const pub = await run(["publish", "plugin.outbound.echo", '{"text":"hi"}'], socketEnv);
  assert.equal(pub.code, 0, pub.stderr);
  const code = await tailClosed;
  assert.equal(code, 0);
  const event = JSON.parse(tailOut.trim().split("\n")[0]);
  assert.equal(event.topic, "plugin.inbound.echo");
  assert.deepEqual(event.payload, { text: "hi" });
  assert.equal(event.source, "echo");

  const status = await run(["plugin", "status", "echo"], socketEnv);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /state:\s+ready/);

  const workflows = await run(["workflow", "list", "--json"], socketEnv);
  assert.equal(workflows.code, 0, workflows.stderr);
  assert.deepEqual((JSON.parse(workflows.stdout) as Array<{ name: string }>).map((w) => w.name), ["echo", "greet"]);
  const greet = await run(["workflow", "run", "greet", "--input", '{"name":"Ada","language":"es"}'], socketEnv);
  assert.equal(greet.code, 0, greet.stderr);
  assert.deepEqual(JSON.parse(greet.stdout), { text: "hola, Ada" });
  const invalid = await run(["workflow", "run", "greet", "--input", '{"nome":"Ada"}'], socketEnv);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /NEXO_ERR_WORKFLOW_INVALID_INPUT/);
  assert.match(invalid.stderr, /\/name: is required/);
  assert.match(invalid.stderr, /\/nome: is not allowed/);
  const badJson = await run(["workflow", "run", "greet", "--input", "{oops"], socketEnv);
  assert.equal(badJson.code, 1);
  assert.match(badJson.stderr, /--input is not valid JSON/);

  const restart = await run(["plugin", "restart", "echo"], socketEnv);
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stdout, /echo: ready/);

  const daemonClosed = new Promise((r) => daemon.once("close", r));
  daemon.kill("SIGTERM");
  const exit = await daemonClosed;
  assert.equal(exit, 0, daemon.output());
});

test("daemon - CLI commands give a clear error when no daemon is running", async (t) => {
  const dir = tempDir(t);
  const r = await run(["plugin", "list"], { NEXO_SOCKET: join(dir, "none.sock") });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no nexo daemon at .*none\.sock.*NEXO_ERR_CONTROL_UNREACHABLE/);
});

test("daemon - nexo manifest validate reports every violation with file, field and rule", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "plugin.toml");
  writeFileSync(file, '[plugin]\nid = "Bad-Id"\nversion = "one"\n[plugin.entrypoint]\ncommand = "x"\nenv = { NEXO_SECRET = "1" }\n');
  const r = await run(["manifest", "validate", file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plugin\.toml/);
  assert.match(r.stderr, /plugin\.id/);
  assert.match(r.stderr, /plugin\.version/);
  assert.match(r.stderr, /NEXO_SECRET/);
  const good = await run(["manifest", "validate", join(EXAMPLES, "echo-ts")]);
  assert.equal(good.code, 0, good.stderr);
});
