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
    [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(EXAMPLES)}]`, "api:", "  port: 0", "plugins:", "  echo: {}", ""].join("\n"),
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

test("daemon - nexo run with the TypeScript and Python echo plugins side by side: events flow through both", async (t) => {
  const dir = tempDir(t);
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(EXAMPLES)}]`, "api:", "  port: 0", "plugins:", "  echo: {}", "  echo_py: {}", ""].join("\n"),
  );
  const socketEnv = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startDaemon(t, config);
  await waitFor(
    async () => {
      const r = await run(["plugin", "list", "--json"], socketEnv);
      if (r.code !== 0) return false;
      const ready = (JSON.parse(r.stdout) as Array<{ key: string; state: string }>).filter((p) => p.state === "ready").map((p) => p.key);
      return ready.includes("echo") && ready.includes("echo_py");
    },
    "both echo plugins ready",
    30_000,
    200,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });

  const tail = spawn(process.execPath, [NEXO, "tail", "plugin.inbound.>", "--count", "4"], { env: { ...process.env, ...socketEnv } });
  let tailOut = "";
  let tailErr = "";
  tail.stdout.on("data", (d) => (tailOut += d));
  tail.stderr.on("data", (d) => (tailErr += d));
  const tailClosed = new Promise((r) => tail.once("close", r));
  t.after(() => void tail.kill());
  await waitFor(() => tailErr.includes("tailing"), "tail subscription live");

  for (const [topic, payload] of [
    ["plugin.outbound.echo", { lang: "ts", n: 1 }],
    ["plugin.outbound.echo_py.room", { lang: "py", text: "héllo 😀" }],
    ["plugin.outbound.echo.room", { lang: "ts", n: 2 }],
    ["plugin.outbound.echo_py", { lang: "py", n: 3 }],
  ] as const) {
    const pub = await run(["publish", topic, JSON.stringify(payload)], socketEnv);
    assert.equal(pub.code, 0, pub.stderr);
  }
  assert.equal(await tailClosed, 0);
  const events = tailOut.trim().split("\n").map((l) => JSON.parse(l) as { topic: string; source: string; payload: { lang: string } });
  const by = (source: string) => events.filter((e) => e.source === source).map((e) => [e.topic, e.payload]);
  assert.deepEqual(by("echo"), [
    ["plugin.inbound.echo", { lang: "ts", n: 1 }],
    ["plugin.inbound.echo.room", { lang: "ts", n: 2 }],
  ]);
  assert.deepEqual(by("echo_py"), [
    ["plugin.inbound.echo_py.room", { lang: "py", text: "héllo 😀" }],
    ["plugin.inbound.echo_py", { lang: "py", n: 3 }],
  ]);

  const daemonClosed = new Promise((r) => daemon.once("close", r));
  daemon.kill("SIGTERM");
  assert.equal(await daemonClosed, 0, daemon.output());
});
