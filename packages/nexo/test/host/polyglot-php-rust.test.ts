// The PHP and Rust echo plugins (examples/echo-php, examples/echo-rust) under the real
// host: events flow both ways in order, tool.invoke works, a plugin that stops reading
// holds up nothing else, and shutdown is clean (exit 0 inside the grace, no signal).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { PluginHost } from "../../src/host/index.js";
import { silentLogger } from "../../src/log/index.js";
import { loadManifest } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples/", import.meta.url));
const RUST_DIR = join(EXAMPLES, "echo-rust");
const RUST_BIN = join(RUST_DIR, "target", "release", "echo_rust");

/**
 * Build the Rust echo plugin if cargo is here (a no-op when it is up to date;
 * scripts/setup.sh normally did it). Without cargo an existing binary is used;
 * with neither the test fails: a missing toolchain is never a skip.
 */
function ensureRustEcho(): void {
  const r = spawnSync("cargo", ["build", "--release", "--quiet"], { cwd: RUST_DIR, encoding: "utf8", timeout: 600_000 });
  if (r.error && !existsSync(RUST_BIN)) throw new Error(`cannot build examples/echo-rust (cargo: ${r.error.message}); run bash scripts/setup.sh`);
  if (!r.error && r.status !== 0) throw new Error(`cargo build in examples/echo-rust failed:\n${r.stderr}`);
}

function startHost(t: import("node:test").TestContext): { broker: LocalBroker; host: PluginHost } {
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(tempDir(t), "state") });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: loadManifest(join(EXAMPLES, "echo-php"), { nexoVersion: "0.1.0" }) });
  host.add({ manifest: loadManifest(RUST_DIR, { nexoVersion: "0.1.0" }) });
  return { broker, host };
}

const payloadI = (e: Event): number => (e.payload as { i: number }).i;

test("host - the PHP and Rust echo plugins echo in order, serve tool.invoke and exit 0 within the grace", { timeout: 600_000 }, async (t) => {
  ensureRustEcho();
  const { broker, host } = startHost(t);
  const report = await host.startAll();
  assert.deepEqual(report.failed, []);
  assert.deepEqual(
    host.get("echo_php")!.tools.map((x) => x.name),
    ["echo"],
  );
  assert.deepEqual(
    host.get("echo_rust")!.tools.map((x) => x.name),
    ["echo"],
  );

  const seen: Event[] = [];
  broker.subscribe("plugin.inbound.>", (e) => void seen.push(e), { bufferSize: 1024 });
  for (let i = 0; i < 50; i++) {
    const meta = { sessionId: `s-${i}`, correlationId: `c-${i}` };
    await broker.publish("plugin.outbound.echo_php.room", newEvent("plugin.outbound.echo_php.room", "t", { lang: "php", i, text: "héllo 👋 世界" }, meta));
    await broker.publish("plugin.outbound.echo_rust", newEvent("plugin.outbound.echo_rust", "t", { lang: "rust", i, nested: {} }, meta));
  }
  await waitFor(() => seen.length === 100, "100 echoes", 20_000);
  const php = seen.filter((e) => e.topic === "plugin.inbound.echo_php.room");
  const rust = seen.filter((e) => e.topic === "plugin.inbound.echo_rust");
  const order = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(php.map(payloadI), order);
  assert.deepEqual(rust.map(payloadI), order);
  assert.deepEqual(php[7].payload, { lang: "php", i: 7, text: "héllo 👋 世界" });
  assert.deepEqual(rust[7].payload, { lang: "rust", i: 7, nested: {} });
  for (const e of [php[3], rust[3]]) {
    assert.equal(e.session_id, "s-3");
    assert.equal(e.correlation_id, "c-3");
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "the SDK's own UUID v7, not one the host filled in");
  }
  assert.deepEqual(new Set(seen.map((e) => e.source)), new Set(["echo_php", "echo_rust"]));

  for (const key of ["echo_php", "echo_rust"]) {
    assert.deepEqual(await host.invokeTool(key, { tool_name: "echo", args: { text: `hi ${key}` } }), { content: [{ type: "text", text: `hi ${key}` }], is_error: false });
    await assert.rejects(host.invokeTool(key, { tool_name: "echo", args: {} }), (err: { code?: number; data?: unknown }) => {
      assert.equal(err.code, -33402);
      assert.deepEqual(err.data, { details: [{ path: "/text", message: "required" }] });
      return true;
    });
    await assert.rejects(host.invokeTool(key, { tool_name: "nope", args: {} }), (err: { code?: number }) => err.code === -33401);
  }

  await host.stopAll("test over");
  for (const s of host.status()) {
    assert.equal(s.state, "stopped", s.key);
    assert.equal(s.lastExitCode, 0, `${s.key} exit code (stderr: ${s.stderrTail.join(" | ")})`);
    assert.equal(s.lastSignal, null, `${s.key} exited by itself inside the grace, no SIGTERM/SIGKILL`);
  }
});

test("host - a PHP plugin that stops reading holds up neither the broker nor the Rust plugin, and catches up after", { timeout: 600_000 }, async (t) => {
  ensureRustEcho();
  const { broker, host } = startHost(t);
  assert.deepEqual((await host.startAll()).failed, []);
  const phpPid = host.get("echo_php")!.status().pid!;
  const seen: Event[] = [];
  broker.subscribe("plugin.inbound.>", (e) => void seen.push(e), { bufferSize: 4096 });

  // SIGSTOP: the PHP process reads nothing until SIGCONT, like a plugin stuck in a handler.
  process.kill(phpPid, "SIGSTOP");
  t.after(() => {
    try {
      process.kill(phpPid, "SIGCONT");
    } catch {
      // already gone
    }
  });
  // Enough 1 KiB events to fill the pipe (64 KiB) and the host's 64-frame stdin queue, but not the subscription buffer (1024).
  const filler = "x".repeat(1024);
  for (let i = 0; i < 300; i++) {
    await broker.publish("plugin.outbound.echo_php", newEvent("plugin.outbound.echo_php", "t", { i, filler }));
    if (i % 3 === 0) await broker.publish("plugin.outbound.echo_rust", newEvent("plugin.outbound.echo_rust", "t", { i: i / 3 }));
  }
  await waitFor(() => seen.filter((e) => e.topic === "plugin.inbound.echo_rust").length === 100, "the Rust plugin's 100 echoes while PHP is stopped", 20_000);
  assert.deepEqual(
    seen.filter((e) => e.topic === "plugin.inbound.echo_rust").map(payloadI),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(await host.invokeTool("echo_rust", { tool_name: "echo", args: { text: "still here" } }), { content: [{ type: "text", text: "still here" }], is_error: false });
  assert.equal(seen.filter((e) => e.topic === "plugin.inbound.echo_php").length, 0, "the stopped plugin answered nothing");

  process.kill(phpPid, "SIGCONT");
  await waitFor(() => seen.filter((e) => e.topic === "plugin.inbound.echo_php").length === 300, "the PHP plugin's backlog after SIGCONT", 30_000);
  assert.deepEqual(
    seen.filter((e) => e.topic === "plugin.inbound.echo_php").map(payloadI),
    Array.from({ length: 300 }, (_, i) => i),
  );
  assert.equal(host.get("echo_php")!.status().droppedEvents, 0, "buffered, not dropped");
  assert.deepEqual(await host.invokeTool("echo_php", { tool_name: "echo", args: { text: "back" } }), { content: [{ type: "text", text: "back" }], is_error: false });

  await host.stopAll("test over");
  for (const s of host.status()) {
    assert.equal(s.lastExitCode, 0, s.key);
    assert.equal(s.lastSignal, null, s.key);
  }
});
