import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { NEXO_CONTRACT_VERSION } from "../../src/contract/version.js";
import { ErrorCodes } from "../../src/errors.js";
import { loadManifest, ManifestError, type PluginManifest } from "../../src/manifest/index.js";

/** Upstream-shaped manifests, one per upstream section, and some shaped like the published upstream plugins. */
const CORPUS = fileURLToPath(new URL("./upstream/", import.meta.url));

type Loads = (m: PluginManifest) => void;
/** Each corpus entry: what loading it must give (a check of the loaded manifest, or the fields refused as unsupported). */
const EXPECTED: Record<string, Loads | { unsupported: string[] } | { code: string; field: string; rule: string }> = {
  "tools-expose-strings": (m) => {
    assert.deepEqual(m.toolsExposeNames, ["notes_add", "notes_search"]);
    assert.deepEqual(m.toolsExpose, []);
  },
  "tools-deferred": (m) => {
    assert.deepEqual(m.toolsDeferred, ["notes_bulk_export"]);
    assert.ok(
      m.warnings.some((w) => w.includes("deferred")),
      "deferred is accepted with a notice, not silently",
    );
  },
  "tools-outbound": (m) => {
    assert.deepEqual(
      m.toolsOutbound.map((t) => [t.name, t.rpcMethod, t.timeoutMs]),
      [
        ["sms_send", "outbound_tool.invoke", undefined],
        ["sms_status", "sms.status", 2500],
      ],
    );
    assert.deepEqual(m.toolsOutbound[0].inputSchema.required, ["to", "text"]);
  },
  "http-server-token-env": (m) => {
    assert.deepEqual(m.httpServer, { port: 18123, bind: "127.0.0.1", healthPath: "/healthz", tokenEnv: "DASHBOARD_UI_TOKEN" });
    assert.deepEqual(m.passEnv.sort(), ["DASHBOARD_UI_TENANT", "DASHBOARD_UI_TOKEN"]);
  },
  requires: (m) => {
    assert.deepEqual(m.requires, { nexoCapabilities: ["broker"], bins: ["ffmpeg", "./tools/helper"], env: ["CONVERTER_API_KEY"] });
    assert.deepEqual(m.passEnv, ["CONVERTER_API_KEY"]);
  },
  "extends-64": (m) => {
    assert.equal(m.extends.tools[0].length, 59);
    assert.equal(m.extends.hooks[0].length, 61);
  },
  "min-nexo-version-0-1-19": (m) => assert.equal(m.minNexoVersion, ">=0.1.19"),
  "min-nexo-version-0-2-0": (m) => assert.equal(m.minNexoVersion, ">=0.2.0"),
  "min-nexo-version-cargo-bare": (m) => assert.equal(m.minNexoVersion, "0.2"),
  "min-nexo-version-too-new": { code: ErrorCodes.MANIFEST_VERSION_UNSATISFIED, field: "plugin.min_nexo_version", rule: "version_unsatisfied" },
  "legacy-v1": (m) => {
    assert.equal(m.manifestVersion, 2);
    assert.deepEqual(m.entrypoint, { command: "./bin/ledger", args: ["--stdio"], env: {} });
    assert.equal(m.minNexoVersion, ">=0.1.0");
    assert.equal(m.httpServer?.tokenEnv, "LEDGER_TOKEN");
    assert.deepEqual((m.raw.plugin as Record<string, unknown>).meta, { author: "Someone", license: "MIT" });
    const w = m.warnings.find((x) => x.includes("manifest_version = 1"));
    assert.ok(w, "converted with a warning");
    for (const dropped of ["capabilities.tools", "requires.bins", "plugin.priority"]) assert.ok(w.includes(dropped), `${dropped} is named as dropped`);
  },
  "legacy-v1-implicit": (m) => {
    assert.equal(m.entrypoint.command, "ledger");
    assert.ok(m.warnings.some((x) => x.includes("manifest_version = 1")));
  },
  "capabilities-broker": (m) =>
    assert.deepEqual(m.broker, { subscribe: ["plugin.inbound.email.>", "crm.jobs.*"], publish: ["plugin.outbound.email.>", "crm.events.lead_created"] }),
  subscriptions: (m) => assert.deepEqual(m.broker, { subscribe: ["plugin.inbound.email.*", "crm.notify.>"], publish: [] }),
  "config-schema": (m) => {
    assert.equal(m.config?.shape, "array");
    assert.deepEqual(m.config?.schema.required, ["agent_id"]);
  },
  "config-schema-path": (m) => {
    assert.equal(m.config?.shape, "object");
    assert.ok(m.config?.source.endsWith("schemas/config.json"));
    assert.equal(m.config?.schema.additionalProperties, false);
  },
  "no-entrypoint": (m) => {
    assert.deepEqual(m.entrypoint, { command: "./bin/sweeper", args: [], env: {}, implicit: true });
  },
  meta: (m) => assert.equal(((m.raw.plugin as Record<string, unknown>).meta as Record<string, unknown>).license, "Apache-2.0"),
  "enabled-by-default": (m) => assert.equal((m.raw.plugin as Record<string, unknown>).enabled_by_default, true),
  provides: (m) => assert.equal(m.id, "tidy"),
  "http-server-opaque": (m) =>
    assert.ok(
      m.warnings.some((w) => w.includes("[plugin.http_server]")),
      "accepted as upstream accepts it, with a notice",
    ),
  "sandbox-off": (m) => assert.equal(m.id, "tidy"),
  "credentials-off": (m) => assert.equal(m.id, "tidy"),
  "metrics-off": (m) => assert.equal(m.id, "tidy"),
  "public-tunnel-off": (m) => assert.equal(m.id, "tidy"),
  "sandbox-on": (m) => assert.deepEqual(m.sandbox, { enabled: true, network: "host", fsReadPaths: [], fsWritePaths: [], dropUser: true }),
  "credentials-on": { unsupported: ["plugin.credentials_schema.enabled"] },
  "metrics-on": { unsupported: ["plugin.metrics.prometheus"] },
  "public-tunnel-on": { unsupported: ["plugin.public_tunnel.enabled"] },
  poller: { unsupported: ["plugin.poller"] },
  admin: { unsupported: ["plugin.admin"] },
  pairing: { unsupported: ["plugin.pairing"] },
  dashboard: { unsupported: ["plugin.dashboard"] },
  advisors: { unsupported: ["plugin.advisors"] },
  agents: { unsupported: ["plugin.agents.contributes_dir"] },
  skills: { unsupported: ["plugin.skills.contributes_dir"] },
  "capability-gates": { unsupported: ["plugin.capability_gates"] },
  ui: { unsupported: ["plugin.ui"] },
  contracts: { unsupported: ["plugin.contracts"] },
  "capabilities-admin": { unsupported: ["plugin.capabilities.admin"] },
  "capabilities-skills": { unsupported: ["plugin.capabilities.skills"] },
  // shaped like the published upstream plugins
  "like-google": { unsupported: ["plugin.admin", "plugin.credentials_schema.enabled", "plugin.dashboard"] },
  "like-web-search": { unsupported: ["plugin.admin", "plugin.dashboard", "plugin.metrics.prometheus"] },
  "like-poller-rss": { unsupported: ["plugin.poller"] },
  "like-poller-gmail": { unsupported: ["plugin.poller"] },
  "like-poller-google-calendar": { unsupported: ["plugin.poller"] },
  "like-marketing-legacy": (m) => assert.deepEqual(m.sandbox?.fsWritePaths, ["${state_dir}/outreach"]),
  "like-marketing": (m) => {
    assert.equal(m.extends.tools.length, 4);
    assert.deepEqual(m.broker.publish, ["plugin.outbound.email.>", "agent.email.notification.>"]);
    assert.deepEqual(m.passEnv.sort(), ["OUTREACH_ADMIN_TOKEN", "OUTREACH_TENANT_ID"]);
  },
  "like-plugin-admin": { unsupported: ["plugin.capabilities.admin"] },
};

function entries(): string[] {
  return readdirSync(CORPUS, { withFileTypes: true }).map((e) => (e.isDirectory() ? e.name : e.name.replace(/\.toml$/, "")));
}

test("manifest upstream corpus - every corpus entry has an expectation and every expectation an entry", () => {
  assert.deepEqual(entries().sort(), Object.keys(EXPECTED).sort());
});

for (const name of Object.keys(EXPECTED)) {
  test(`manifest upstream corpus - ${name}`, () => {
    const path = join(CORPUS, readdirSync(CORPUS).includes(name) ? name : `${name}.toml`);
    const want = EXPECTED[name];
    if (typeof want === "function") {
      want(loadManifest(path));
      return;
    }
    assert.throws(
      () => loadManifest(path),
      (err: unknown) => {
        assert.ok(err instanceof ManifestError, String(err));
        if ("unsupported" in want) {
          assert.equal(err.code, ErrorCodes.MANIFEST_UNSUPPORTED, err.message);
          assert.deepEqual(err.violations.map((v) => v.field).sort(), want.unsupported, err.message);
          assert.ok(err.violations.every((v) => v.rule === "unsupported" && v.message.includes("not supported by this host")));
        } else {
          assert.equal(err.code, want.code);
          assert.ok(
            err.violations.some((v) => v.field === want.field && v.rule === want.rule),
            err.message,
          );
        }
        return true;
      },
    );
  });
}

test("manifest upstream corpus - min_nexo_version is checked against the upstream contract version, not Nexo's package version", () => {
  assert.equal(NEXO_CONTRACT_VERSION, "0.2.0");
  // Against a 0.1.0 host the same manifest is refused: the requirement really is evaluated.
  assert.throws(
    () => loadManifest(join(CORPUS, "min-nexo-version-0-2-0.toml"), { nexoVersion: "0.1.0" }),
    (e: unknown) => e instanceof ManifestError && e.code === ErrorCodes.MANIFEST_VERSION_UNSATISFIED,
  );
  // A Cargo bare requirement is a caret range: "0.2" admits 0.2.x, not 0.3.0.
  assert.throws(
    () => loadManifest(join(CORPUS, "min-nexo-version-cargo-bare.toml"), { nexoVersion: "0.3.0" }),
    (e: unknown) => e instanceof ManifestError && e.code === ErrorCodes.MANIFEST_VERSION_UNSATISFIED,
  );
});
