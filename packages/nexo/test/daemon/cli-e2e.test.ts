import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runNexo, startNexoDaemon, startNexoTail, waitForPlugins } from "../helpers/nexo-cli.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));
const run = runNexo;

/** Wait until the daemon lists every key in `keys` as ready, then check `nexo plugin list --json` says so (the daemon's output is added to a failure). */
async function waitForReady(daemon: ChildProcess & { output: () => string }, env: { NEXO_SOCKET: string }, keys: string[]): Promise<void> {
  const readyKeys = (rows: Array<{ key: string; state: string }>) => rows.filter((p) => p.state === "ready").map((p) => p.key);
  await waitForPlugins(env.NEXO_SOCKET, (rows) => keys.every((k) => readyKeys(rows).includes(k)), `${keys.join(", ")} ready`).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });
  const r = await run(["plugin", "list", "--json"], env);
  assert.equal(r.code, 0, r.stderr);
  const listed = readyKeys(JSON.parse(r.stdout) as Array<{ key: string; state: string }>);
  for (const k of keys) assert.ok(listed.includes(k), `nexo plugin list --json shows ${k} ready: ${r.stdout}`);
}

test("daemon - nexo run with the bundled echo plugin: publish on plugin.outbound.echo shows up in nexo tail plugin.inbound.>", async (t) => {
  const dir = tempDir(t);
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [
      `state_dir: ${join(dir, "state")}`,
      `plugin_paths: [${JSON.stringify(EXAMPLES)}]`,
      `workflows: [${JSON.stringify(join(EXAMPLES, "demo", "workflows.mjs"))}]`,
      "api:",
      "  port: 0",
      "plugins:",
      "  echo: {}",
      "",
    ].join("\n"),
  );
  const socketEnv = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startNexoDaemon(t, config);
  await waitForReady(daemon, socketEnv, ["echo"]);
  const tail = await startNexoTail(t, "plugin.inbound.>", 1, socketEnv);

  const pub = await run(["publish", "plugin.outbound.echo", '{"text":"hi"}'], socketEnv);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(await tail.closed, 0);
  const event = tail.events()[0];
  assert.equal(event.topic, "plugin.inbound.echo");
  assert.deepEqual(event.payload, { text: "hi" });
  assert.equal(event.source, "echo");

  const status = await run(["plugin", "status", "echo"], socketEnv);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /state:\s+ready/);

  const workflows = await run(["workflow", "list", "--json"], socketEnv);
  assert.equal(workflows.code, 0, workflows.stderr);
  assert.deepEqual(
    (JSON.parse(workflows.stdout) as Array<{ name: string }>).map((w) => w.name),
    ["echo", "greet", "notify"],
  );
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

test("daemon - nexo run with the TypeScript and Python echo plugins side by side: events flow through both", async (t) => {
  const dir = tempDir(t);
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(EXAMPLES)}]`, "api:", "  port: 0", "plugins:", "  echo: {}", "  echo_py: {}", ""].join("\n"),
  );
  const socketEnv = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startNexoDaemon(t, config);
  await waitForReady(daemon, socketEnv, ["echo", "echo_py"]);
  const tail = await startNexoTail(t, "plugin.inbound.>", 4, socketEnv);

  for (const [topic, payload] of [
    ["plugin.outbound.echo", { lang: "ts", n: 1 }],
    ["plugin.outbound.echo_py.room", { lang: "py", text: "héllo 😀" }],
    ["plugin.outbound.echo.room", { lang: "ts", n: 2 }],
    ["plugin.outbound.echo_py", { lang: "py", n: 3 }],
  ] as const) {
    const pub = await run(["publish", topic, JSON.stringify(payload)], socketEnv);
    assert.equal(pub.code, 0, pub.stderr);
  }
  assert.equal(await tail.closed, 0);
  const events = tail.events() as Array<{ topic: string; source: string; payload: { lang: string } }>;
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
