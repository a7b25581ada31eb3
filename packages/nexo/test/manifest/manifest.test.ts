import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import { formatManifestReport, loadManifest, ManifestError, parseManifest, resolveEntrypoint } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const FIX = fileURLToPath(new URL("./fixtures/", import.meta.url));
const V = { nexoVersion: "0.1.0" };

/** Each bad fixture: the field and rule it must be refused for. */
const EXPECTED: Record<string, [field: string, rule: string]> = {
  no_plugin: ["plugin", "required"],
  manifest_version: ["manifest_version", "value"],
  id_pattern: ["plugin.id", "id_pattern"],
  id_missing: ["plugin.id", "required"],
  semver: ["plugin.version", "semver"],
  semver_range: ["plugin.min_nexo_version", "semver_range"],
  version_unsatisfied: ["plugin.min_nexo_version", "version_unsatisfied"],
  entrypoint_missing: ["plugin.entrypoint", "required"],
  entrypoint_empty: ["plugin.entrypoint.command", "non_empty"],
  args_type: ["plugin.entrypoint.args", "type"],
  reserved_env: ["plugin.entrypoint.env.NEXO_TOKEN", "reserved_env"],
  env_value_type: ["plugin.entrypoint.env.PORT", "type"],
  channel_kind: ["plugin.channels.register[0].kind", "id_pattern"],
  channel_duplicate: ["plugin.channels.register[1].kind", "duplicate"],
  extends_id: ["plugin.extends.tools[0]", "id_pattern"],
  extends_duplicate: ["plugin.extends.tools[1]", "duplicate"],
  extends_across: ["plugin.extends.tools[0]", "duplicate_across"],
  extends_unknown: ["plugin.extends.toolz", "unknown_key"],
  tool_schema_missing: ["plugin.tools.expose[0].schema_path", "exists"],
  tool_schema_escape: ["plugin.tools.expose[0].schema_path", "inside_plugin"],
  tool_name: ["plugin.tools.expose[0].name", "tool_name"],
  supervisor_range: ["plugin.supervisor.max_attempts", "range"],
  supervisor_backoff: ["plugin.supervisor.backoff_ms", "range"],
  stderr_tail: ["plugin.supervisor.stderr_tail_lines", "range"],
  respawn_type: ["plugin.supervisor.respawn", "type"],
  supervisor_typo: ["plugin.supervisor.max_attempt", "unknown_key"],
  http_port: ["plugin.capabilities.http_server.port", "range"],
  http_bind: ["plugin.capabilities.http_server.bind", "ip_address"],
  health_path: ["plugin.capabilities.http_server.health_path", "path"],
  mount_reserved: ["plugin.http.mount_prefix", "reserved_prefix"],
  mount_path: ["plugin.http.mount_prefix", "path"],
  http_timeout: ["plugin.http.timeout_seconds", "range"],
  toml_syntax: ["line 1, column 8", "toml_syntax"],
  // upstream's schema refuses unknown fields, and so does this host
  unknown_section: ["plugin.future_thing", "unknown_key"],
  unknown_top: ["shiny", "unknown_key"],
  manifest_version_3: ["manifest_version", "value"],
  // strict types and values
  version_v: ["plugin.version", "semver"],
  version_space: ["plugin.version", "semver"],
  version_datetime: ["plugin.version", "type"],
  description_datetime: ["plugin.description", "type"],
  command_nul: ["plugin.entrypoint.command", "nul_byte"],
  args_nul: ["plugin.entrypoint.args[1]", "nul_byte"],
  env_nul: ["plugin.entrypoint.env.MODE", "nul_byte"],
  extends_too_long: ["plugin.extends.tools[0]", "id_pattern"],
  // upstream sections
  deferred_not_exposed: ["plugin.tools.deferred[0]", "not_exposed"],
  outbound_not_exposed: ["plugin.tools.outbound[0].name", "not_exposed"],
  outbound_schema: ["plugin.tools.outbound[0].input_schema", "schema_object"],
  broker_pattern: ["plugin.capabilities.broker.subscribe[0]", "topic_pattern"],
  subscriptions_pattern: ["plugin.subscriptions.broker_topics[0]", "topic_pattern"],
  config_shape: ["plugin.config_schema.shape", "value"],
  config_schema_json: ["plugin.config_schema.schema", "json"],
  config_schema_path: ["plugin.config.schema_path", "exists"],
  requires_env_name: ["plugin.requires.env[0]", "env_name"],
  requires_bin_empty: ["plugin.requires.bins[0]", "non_empty"],
  token_env_name: ["plugin.capabilities.http_server.token_env", "env_name"],
  sandbox_network: ["plugin.sandbox.network", "value"],
  sandbox_path: ["plugin.sandbox.fs_read_paths[1]", "path"],
  provides_value: ["plugin.capabilities.provides[0]", "value"],
};

test("manifest - a full manifest parses with every section and defaults", () => {
  const m = loadManifest(join(FIX, "good"), V);
  assert.equal(m.id, "slack");
  assert.equal(m.version, "0.2.0");
  assert.deepEqual(m.entrypoint, { command: "./bin/slack", args: ["--mode", "stdio"], env: { RUST_LOG: "info" } });
  assert.deepEqual(m.channels, [{ kind: "slack", adapter: "SlackChannelAdapter" }]);
  assert.deepEqual(m.extends.tools, ["slack_send"]);
  assert.equal(m.toolsExpose[0].name, "stripe.create_invoice");
  assert.deepEqual(m.toolsExpose[0].inputSchema.required, ["amount"]);
  assert.deepEqual(m.supervisor, { respawn: true, maxAttempts: 5, backoffMs: 500, stderrTailLines: 64 });
  assert.deepEqual(m.httpServer, { port: 0, bind: "127.0.0.1", healthPath: "/healthz" });
  assert.deepEqual(m.http, { mountPrefix: "/webhook/slack", timeoutSeconds: 10, mode: "reverse_proxy" });
  assert.equal((m.raw.plugin as Record<string, unknown>).id, "slack");
});

test("manifest - defaults for a minimal manifest", () => {
  const m = parseManifest('[plugin]\nid = "mini"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "python3"\n', { file: "/tmp/x/plugin.toml", ...V });
  assert.deepEqual(m.supervisor, { respawn: true, maxAttempts: 3, backoffMs: 1000, stderrTailLines: 32 });
  assert.deepEqual(m.channels, []);
  assert.equal(m.name, "mini");
  assert.equal(m.httpServer, undefined);
});

test("manifest - one bad manifest per rule, each refused naming the file, field and rule", () => {
  const files = readdirSync(join(FIX, "bad")).filter((f) => f.endsWith(".toml"));
  assert.deepEqual(files.map((f) => f.replace(".toml", "")).sort(), Object.keys(EXPECTED).sort(), "every fixture has an expectation");
  for (const f of files) {
    const name = f.replace(".toml", "");
    const [field, rule] = EXPECTED[name];
    const file = join(FIX, "bad", f);
    assert.throws(
      () => loadManifest(file, V),
      (err: unknown) => {
        assert.ok(err instanceof ManifestError, name);
        assert.ok(
          err.violations.some((v) => v.field === field && v.rule === rule),
          `${name}: expected ${field} [${rule}], got ${JSON.stringify(err.violations)}`,
        );
        assert.ok(err.message.includes(file) && err.message.includes(field) && err.message.includes(`[${rule}]`), `${name}: message names file, field and rule`);
        const code = name === "toml_syntax" ? ErrorCodes.MANIFEST_PARSE : name === "version_unsatisfied" ? ErrorCodes.MANIFEST_VERSION_UNSATISFIED : ErrorCodes.MANIFEST_INVALID;
        assert.equal(err.code, code, name);
        return true;
      },
    );
  }
});

test("manifest - every violation is reported, not just the first; min_nexo_version names both versions", () => {
  const text = '[plugin]\nid = "X"\nversion = "v1"\nmin_nexo_version = ">=2.0.0"\n[plugin.entrypoint]\ncommand = ""\nenv = { NEXO_A = "1" }\n';
  try {
    parseManifest(text, { file: "/tmp/m/plugin.toml", ...V });
    assert.fail("should throw");
  } catch (err) {
    assert.ok(err instanceof ManifestError);
    assert.deepEqual(err.violations.map((v) => v.rule).sort(), ["id_pattern", "non_empty", "reserved_env", "semver", "version_unsatisfied"]);
    assert.match(err.message, />=2\.0\.0.*0\.1\.0/);
  }
});

test("manifest - plugin.toml wins over nexo-plugin.toml; a dir without a manifest is NOT_FOUND", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "nexo-plugin.toml"), '[plugin]\nid = "second"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "x"\n');
  writeFileSync(join(dir, "plugin.toml"), '[plugin]\nid = "first"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "x"\n');
  assert.equal(loadManifest(dir, V).id, "first");
  const empty = join(dir, "empty");
  mkdirSync(empty);
  assert.throws(
    () => loadManifest(empty, V),
    (e) => e instanceof ManifestError && e.code === ErrorCodes.MANIFEST_NOT_FOUND,
  );
});

test("manifest - entrypoint resolution: relative against the manifest dir, absolute and bare names kept", (t) => {
  const dir = tempDir(t);
  const mk = (cmd: string) => {
    writeFileSync(join(dir, "plugin.toml"), `[plugin]\nid = "e"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "${cmd}"\nargs = ["a"]\n`);
    return resolveEntrypoint(loadManifest(dir, V));
  };
  assert.deepEqual(mk("./bin/run"), { command: join(dir, "bin/run"), args: ["a"], cwd: dir });
  assert.deepEqual(mk("bin/run"), { command: join(dir, "bin/run"), args: ["a"], cwd: dir });
  assert.equal(mk("/usr/bin/python3").command, "/usr/bin/python3");
  assert.equal(mk("node").command, "node");
});

test("manifest - schema files must be JSON object schemas", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "tools"));
  copyFileSync(join(FIX, "good/tools/array.json"), join(dir, "tools/array.json"));
  writeFileSync(join(dir, "tools/bad.json"), "{nope");
  writeFileSync(
    join(dir, "plugin.toml"),
    '[plugin]\nid = "s"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "x"\n[[plugin.tools.expose]]\nname = "a"\nschema_path = "tools/array.json"\n[[plugin.tools.expose]]\nname = "b"\nschema_path = "tools/bad.json"\n',
  );
  assert.throws(
    () => loadManifest(dir, V),
    (e) => e instanceof ManifestError && e.violations.map((v) => v.rule).join() === "schema_object,json",
  );
});

test("manifest - the validate report lists the plugin or every problem", () => {
  assert.match(formatManifestReport(loadManifest(join(FIX, "good"), V)), /valid manifest for slack 0\.2\.0[\s\S]*\/webhook\/slack/);
  const boxed = parseManifest('[plugin]\nid = "b"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "x"\n[plugin.sandbox]\nenabled = true\nfs_write_paths = ["${state_dir}"]\n', {
    file: "/tmp/b/plugin.toml",
    ...V,
  });
  assert.deepEqual(boxed.sandbox, { enabled: true, network: "deny", fsReadPaths: [], fsWritePaths: ["${state_dir}"], dropUser: true });
  assert.match(formatManifestReport(boxed), /sandbox: +bubblewrap, network deny, uid 65534, writes \$\{state_dir\}/);
  try {
    loadManifest(join(FIX, "bad/semver.toml"), V);
  } catch (err) {
    assert.match(formatManifestReport(err as ManifestError), /✗.*semver\.toml[\s\S]*plugin\.version/);
  }
});
