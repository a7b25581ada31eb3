import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bundledDemoConfig, bundledExamplesDir, defaultMcpStateDir, loadConfig, normalizeConfig } from "../../src/config/index.js";
import { buildPluginSpecs } from "../../src/daemon/plugin-specs.js";
import { ErrorCodes, isNexoError, violationLine } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";

test("config - no file and no ./nexo.yaml: an empty daemon, no plugins or workflows, its state under the current directory (or the given one)", (t) => {
  const dir = tempDir(t);
  const c = loadConfig(undefined, dir);
  assert.equal(c.file, null);
  assert.deepEqual([c.pluginPaths, c.plugins, c.workflows, c.inProcessPlugins, c.bindings], [[], null, [], [], []]);
  assert.equal(c.stateDir, join(dir, ".nexo-state"));
  assert.equal(c.control.socket, join(dir, ".nexo-state", "nexo.sock"));
  const elsewhere = join(tempDir(t), "state");
  assert.equal(loadConfig(undefined, dir, { emptyStateDir: elsewhere }).stateDir, elsewhere);
});

test("config - the MCP server's state without a config: $XDG_STATE_HOME/nexo/mcp, else ~/.local/state/nexo/mcp", () => {
  assert.equal(defaultMcpStateDir({ XDG_STATE_HOME: "/srv/state" }), "/srv/state/nexo/mcp");
  assert.equal(defaultMcpStateDir({}), join(homedir(), ".local", "state", "nexo", "mcp"));
  assert.equal(defaultMcpStateDir({ XDG_STATE_HOME: "relative" }), join(homedir(), ".local", "state", "nexo", "mcp"), "a relative XDG path is ignored, as the spec says");
});

test("config - demo: the bundled demo (examples/demo/nexo.yaml) with its state and socket under the current directory", (t) => {
  const dir = tempDir(t);
  const c = loadConfig(undefined, dir, { demo: true });
  assert.equal(c.file, bundledDemoConfig());
  assert.deepEqual(c.pluginPaths, [bundledExamplesDir()]);
  assert.deepEqual(Object.keys(c.plugins ?? {}).sort(), ["echo", "echo_py", "sms_outbound", "webhook"]);
  assert.deepEqual(
    c.inProcessPlugins.map((p) => p.name),
    ["sms_sandbox", "request_logger", "metrics", "monitoring"],
  );
  assert.deepEqual(c.workflows, [join(bundledExamplesDir(), "demo", "workflows.mjs")]);
  assert.equal(c.bindings.length, 1);
  assert.equal(c.broker, "local");
  assert.equal(c.stateDir, join(dir, ".nexo-state"));
  assert.equal(c.control.socket, join(dir, ".nexo-state", "nexo.sock"));
});

test("config - a file of one's own describes everything: no plugin paths, plugins or workflows unless it says so", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "nexo.yaml"), "log_level: debug\n");
  const c = loadConfig(undefined, dir);
  assert.equal(c.file, join(dir, "nexo.yaml"));
  assert.deepEqual([c.pluginPaths, c.plugins, c.workflows, c.inProcessPlugins], [[], null, [], []]);
  assert.equal(c.stateDir, join(dir, ".nexo-state"));
});

test("config - api: defaults, max_body_bytes and mcp_allowed_origins; a path in an origin is refused", () => {
  assert.deepEqual(normalizeConfig({}, null, "/srv").api, {
    enabled: true,
    host: "127.0.0.1",
    port: 8000,
    maxBodyBytes: 1_048_576,
    mcpAllowedOrigins: [],
    conventions: { securityHeaders: true },
  });
  const cors = normalizeConfig({ api: { cors: { origins: ["https://app.example.com"], credentials: true, max_age_seconds: 60 }, security_headers: false } }, null, "/srv");
  assert.deepEqual(cors.api.conventions, { securityHeaders: false, cors: { origins: ["https://app.example.com"], credentials: true, maxAgeSeconds: 60 } });
  assert.throws(
    () => normalizeConfig({ api: { cors: { origins: ["https://app.example.com/x"] } } }, null, "/srv"),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID),
  );
  const c = normalizeConfig({ api: { port: 0, max_body_bytes: 4096, mcp_allowed_origins: ["https://console.example"] } }, null, "/srv");
  assert.equal(c.api.maxBodyBytes, 4096);
  assert.deepEqual(c.api.mcpAllowedOrigins, ["https://console.example"]);
  assert.throws(
    () => normalizeConfig({ api: { mcp_allowed_origins: ["https://console.example/app"] } }, null, "/srv"),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && /mcp_allowed_origins\/0/.test(e.message),
  );
});

test("config - own plugin_paths without plugins: every plugin found runs (plugins = null)", () => {
  const c = normalizeConfig({ plugin_paths: ["./mine"] }, null, "/srv");
  assert.equal(c.plugins, null);
  assert.deepEqual(c.pluginPaths, ["/srv/mine"]);
});

test("config - invalid documents name every violation", (t) => {
  const dir = tempDir(t);
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, "broker: redis://x\nbogus: 1\n");
  assert.throws(
    () => loadConfig(file),
    (e) =>
      isNexoError(e, ErrorCodes.CONFIG_INVALID) &&
      /broker/.test(e.message) &&
      (e.details.data?.violations ?? []).some((v) => v.path === "/bogus" && v.message === "is not allowed") &&
      e.message.includes("/bogus: is not allowed"),
  );
  // The same shape as every other validator: a JSON Pointer and a message, each shown as one line of the message.
  writeFileSync(file, "api:\n  port: -1\n");
  assert.throws(
    () => loadConfig(file),
    (e) => {
      assert.ok(isNexoError(e, ErrorCodes.CONFIG_INVALID));
      const violations = e.details.data?.violations ?? [];
      assert.deepEqual(
        violations.map((v) => v.path),
        ["/api/port"],
      );
      assert.ok(e.message.includes(violationLine(violations[0]!)), e.message);
      return true;
    },
  );
  writeFileSync(file, "broker: [unclosed\n");
  assert.throws(
    () => loadConfig(file),
    (e) => isNexoError(e, ErrorCodes.CONFIG_PARSE) && /line/.test(e.message),
  );
});

test("config - plugins: runs only the listed plugins, reports the rest as skipped, and flags unknown ids", (t) => {
  const root = tempDir(t);
  const a = fixturePlugin(root, { id: "alpha", mode: "echo" });
  const b = fixturePlugin(root, { id: "beta", mode: "echo" });
  const all = buildPluginSpecs([a, b], null);
  assert.deepEqual(
    all.specs.map((s) => s.manifest.id),
    ["alpha", "beta"],
  );
  const c = normalizeConfig({ plugins: { beta: [{ instance: "one" }, { instance: "two", enabled: false }], gamma: {} } }, null, root);
  const listed = buildPluginSpecs([a, b], c.plugins);
  assert.deepEqual(
    listed.specs.map((s) => `${s.manifest.id}.${s.instance}`),
    ["beta.one"],
  );
  assert.deepEqual(listed.skipped.sort(), ["alpha", "beta.two"]);
  assert.equal(listed.errors.length, 1);
  assert.equal(listed.errors[0].code, ErrorCodes.CONFIG_INVALID);
  assert.equal(listed.errors[0].pluginId, "gamma");
  // A plugin may be called "constructor": not listed, it is skipped like any other, not found on Object.prototype.
  const odd = fixturePlugin(root, { id: "constructor", mode: "echo" });
  const withOdd = buildPluginSpecs([a, odd], c.plugins);
  assert.deepEqual(withOdd.skipped.sort(), ["alpha", "constructor"]);
  assert.deepEqual(withOdd.specs, []);
});

test("config - <name>_env resolves a secret from the daemon's environment; a missing variable is an error, not an empty value", (t) => {
  const root = tempDir(t);
  const m = loadManifest(fixturePlugin(root, { id: "tg", mode: "echo" }).dir, { nexoVersion: NEXO_VERSION });
  const c = normalizeConfig(
    {
      plugins: {
        tg: [
          { instance: "a", bot_token_env: "TOKEN_A" },
          { instance: "b", bot_token_env: "TOKEN_B" },
        ],
      },
    },
    null,
    root,
  );
  const r = buildPluginSpecs([m], c.plugins, { TOKEN_A: "s3cret" });
  assert.deepEqual(
    r.specs.map((s) => [s.instance, s.env]),
    [["a", { BOT_TOKEN: "s3cret" }]],
  );
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /TOKEN_B/);
  assert.doesNotMatch(r.errors[0].message, /s3cret/);
});

test("config - sandbox: require, default, host-network allow and limits, with plugins.<id>.limits kept out of the plugin's config", () => {
  const c = normalizeConfig(
    {
      sandbox: { require: true, default: { network: "deny", fs_read_paths: ["/usr/share"] }, allow_host_network: ["web"], limits: { memory_mb: 1024, processes: 64 } },
      plugins: { web: { limits: { open_files: 128 }, greeting: "hi" } },
    },
    null,
    "/srv",
  );
  assert.deepEqual(c.sandbox, {
    require: true,
    default: { network: "deny", fsReadPaths: ["/usr/share"], fsWritePaths: ["${state_dir}"], dropUser: true },
    allowHostNetwork: ["web"],
    limits: { memoryMb: 1024, processes: 64 },
    protectedPaths: ["/srv/.nexo-state", "/srv/.nexo-state/nexo.sock"],
  });
  assert.deepEqual(c.plugins?.web?.[0]?.limits, { openFiles: 128 });
  assert.deepEqual(c.plugins?.web?.[0]?.config, { greeting: "hi" });
  assert.deepEqual(normalizeConfig({}, null, "/srv").sandbox?.require, false);
  assert.deepEqual(normalizeConfig({ store: "sqlite:/var/lib/nexo.db" }, null, "/srv").sandbox?.protectedPaths, [
    "/srv/.nexo-state",
    "/srv/.nexo-state/nexo.sock",
    "/var/lib/nexo.db",
  ]);
  assert.throws(
    () => normalizeConfig({ sandbox: { limits: { memory_mb: "lots" } } }, null, "/srv"),
    (err: unknown) => isNexoError(err) && err.code === ErrorCodes.CONFIG_INVALID,
  );
  assert.throws(
    () => normalizeConfig({ sandbox: { default: { fs_read_paths: ["relative"] } } }, null, "/srv"),
    (err: unknown) => isNexoError(err) && err.code === ErrorCodes.CONFIG_INVALID,
  );
});
