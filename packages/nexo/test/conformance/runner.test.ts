import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadVectors, runConformance, type VectorResult } from "../../src/conformance/index.js";
import { ErrorCodes, NexoError } from "../../src/errors.js";
import { NEXO_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const CONFORMANCE = fileURLToPath(new URL("../../../../conformance/", import.meta.url));
const REFERENCE = join(CONFORMANCE, "fixture");
const REFERENCE_SCRIPT = join(REFERENCE, "reference-plugin.cjs");
/** Deadlines x3: these tests share 2 cores with the rest of the suite. */
const TIME_SCALE = 3;

test("conformance runner - the reference plugin (no SDK) passes every vector, reported in vector order", async () => {
  const seen: VectorResult[] = [];
  let started: { id: string; count: number } | undefined;
  const report = await runConformance({ pluginDir: REFERENCE, timeScale: TIME_SCALE, onStart: (p, count) => (started = { id: p.id, count }), onResult: (r) => seen.push(r) });
  const failures = report.results.filter((r) => r.status !== "pass").map((r) => `${r.id}: ${r.reason}`);
  assert.deepEqual(failures, []);
  assert.equal(report.passed, loadVectors().length);
  assert.deepEqual(started, { id: "reference", count: report.passed });
  assert.deepEqual(
    seen.map((r) => r.id),
    loadVectors().map((v) => v.id),
  );
  assert.deepEqual(report.plugin.tags, ["echo", "probe"]);
});

test("conformance runner - vectors that need an undeclared tag, or a plugin without tools, are skipped with the reason", async (t) => {
  const bare = await runConformance({ pluginDir: REFERENCE, tags: [], only: ["echo-publish", "stdout-guard", "unknown-method"], timeScale: TIME_SCALE });
  assert.deepEqual(
    bare.results.map((r) => [r.id, r.status, r.status === "skip" ? r.reason : ""]),
    [
      ["echo-publish", "skip", "needs tag echo"],
      ["stdout-guard", "skip", "needs tag probe"],
      ["unknown-method", "pass", ""],
    ],
  );
  assert.deepEqual([bare.passed, bare.failed, bare.skipped], [1, 0, 2]);

  // The same plugin declaring a tool of its own: the two "no own tools" vectors no longer apply.
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    `[plugin]\nid = "reference"\nversion = "0.1.0"\n[plugin.entrypoint]\ncommand = "node"\nargs = [${JSON.stringify(REFERENCE_SCRIPT)}]\n[[plugin.channels.register]]\nkind = "reference"\n[plugin.extends]\ntools = ["lookup"]\n`,
  );
  const tooled = await runConformance({ pluginDir: dir, only: ["initialize-tools-absent", "tool-invoke-no-handler", "configure"], timeScale: TIME_SCALE });
  assert.deepEqual(
    tooled.results.map((r) => [r.id, r.status]),
    [
      ["configure", "pass"],
      ["initialize-tools-absent", "skip"],
      ["tool-invoke-no-handler", "skip"],
    ],
  );
});

test("conformance runner - plugins start through the host's launcher: host NEXO_* variables, manifest env, no leaked parent env; the probe switch only for probe vectors", async (t) => {
  const dir = tempDir(t);
  const plugin = join(dir, "envp");
  const vectors = join(dir, "vectors");
  mkdirSync(plugin);
  mkdirSync(vectors);
  // A raw plugin that reports its environment as its server_version.
  writeFileSync(
    join(plugin, "main.mjs"),
    `import { existsSync } from "node:fs";
const e = process.env;
const report = ["id=" + e.NEXO_PLUGIN_ID, "key=" + e.NEXO_PLUGIN_KEY, "state=" + (existsSync(e.NEXO_PLUGIN_STATE_DIR) ? "made" : "missing"), "version=" + e.NEXO_VERSION,
  "own=" + e.FROM_MANIFEST, "leak=" + (e.CONFORMANCE_TEST_SECRET ?? "none"), "probe=" + (e.NEXO_CONFORMANCE_PROBE ?? "off"), "cwd=" + (process.cwd() === ${JSON.stringify(plugin)})].join(";");
let buf = "";
process.stdin.on("data", (d) => { buf += d; let nl; while ((nl = buf.indexOf("\\n")) !== -1) { const m = JSON.parse(buf.slice(0, nl)); buf = buf.slice(nl + 1);
  if (m.method === "initialize") process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { manifest: { plugin: { id: "envp" } }, server_version: report } }) + "\\n"); } });
`,
  );
  writeFileSync(
    join(plugin, "nexo-plugin.toml"),
    `[plugin]\nid = "envp"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "node"\nargs = ["main.mjs"]\nenv = { FROM_MANIFEST = "m" }\n`,
  );
  const vector = (id: string, probe: boolean, expected: string): void =>
    writeFileSync(
      join(vectors, `${id}.json`),
      JSON.stringify({
        id,
        title: id,
        contract: "Transport",
        initialize: false,
        probe,
        requires: probe ? ["probe"] : [],
        steps: [{ send: { jsonrpc: "2.0", id: 1, method: "initialize", params: {} } }, { expect: { id: 1, result: { server_version: expected } } }],
      }),
    );
  const base = `id=envp;key=envp;state=made;version=${NEXO_VERSION};own=m;leak=none`;
  vector("env-plain", false, `${base};probe=off;cwd=true`);
  vector("env-probe", true, `${base};probe=1;cwd=true`);
  process.env.CONFORMANCE_TEST_SECRET = "leaked";
  t.after(() => delete process.env.CONFORMANCE_TEST_SECRET);
  const report = await runConformance({ pluginDir: plugin, vectorsDir: vectors, tags: ["probe"], timeScale: TIME_SCALE });
  assert.deepEqual(
    report.results.map((r) => [r.id, r.status, r.reason ?? ""]),
    [
      ["env-plain", "pass", ""],
      ["env-probe", "pass", ""],
    ],
  );
});

test("conformance runner - unusable options are refused with NEXO_ERR_CONFORMANCE_INVALID_OPTIONS", async (t) => {
  const code = (err: unknown): string | undefined => (err instanceof NexoError ? err.code : undefined);
  await assert.rejects(runConformance({ pluginDir: REFERENCE, tags: ["telepathy"] }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS);
  await assert.rejects(runConformance({ pluginDir: REFERENCE, only: ["no-such-vector"] }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS);
  await assert.rejects(runConformance({ pluginDir: REFERENCE, jobs: 0 }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS);
  await assert.rejects(runConformance({ pluginDir: REFERENCE, timeScale: -1 }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS);
  const dir = tempDir(t);
  writeFileSync(join(dir, "plugin.toml"), `[plugin]\nid = "nochan"\nversion = "0.1.0"\n[plugin.entrypoint]\ncommand = "node"\n[plugin.conformance]\ntags = ["echo"]\n`);
  await assert.rejects(runConformance({ pluginDir: dir }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS && /channels/.test((e as Error).message));
  writeFileSync(join(dir, "plugin.toml"), `[plugin]\nid = "nochan"\nversion = "0.1.0"\n[plugin.entrypoint]\ncommand = "node"\n[plugin.conformance]\ntags = "echo"\n`);
  await assert.rejects(runConformance({ pluginDir: dir }), (e) => code(e) === ErrorCodes.CONFORMANCE_INVALID_OPTIONS);
  await assert.rejects(runConformance({ pluginDir: join(dir, "nowhere") }), (e) => code(e) === ErrorCodes.MANIFEST_NOT_FOUND);
});

test("conformance runner - a plugin that cannot start fails every vector with the spawn error instead of throwing", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "plugin.toml"), `[plugin]\nid = "ghost"\nversion = "0.1.0"\n[plugin.entrypoint]\ncommand = "./no-such-binary"\n`);
  const report = await runConformance({ pluginDir: dir, only: ["configure", "unknown-method"] });
  assert.equal(report.failed, 2);
  for (const r of report.results) assert.match(r.reason ?? "", /could not start the plugin: .*no-such-binary/);
});

test("conformance runner - invariants fail any vector: a stray stdout line, a second reply, a reply to an id never sent", async (t) => {
  const dir = tempDir(t);
  const vectors = join(dir, "vectors");
  mkdirSync(vectors);
  // A vector that only asks for one reply; the invariants must catch the rest on their own.
  writeFileSync(
    join(vectors, "ping.json"),
    JSON.stringify({
      id: "ping",
      title: "ping",
      contract: "Errors",
      steps: [{ send: { jsonrpc: "2.0", id: 2, method: "x.ping" } }, { expect: { id: 2, error: { code: -32601 } } }, { sleep_ms: 100 }],
    }),
  );
  const plugin = (mode: string): string => {
    const p = join(dir, mode);
    mkdirSync(p);
    writeFileSync(
      join(p, "main.mjs"),
      `const mode = ${JSON.stringify(mode)}; const out = (f) => process.stdout.write(JSON.stringify(f) + "\\n");
let buf = "";
process.stdin.on("data", (d) => { buf += d; let nl; while ((nl = buf.indexOf("\\n")) !== -1) { const m = JSON.parse(buf.slice(0, nl)); buf = buf.slice(nl + 1);
  if (m.method === "initialize") { out({ jsonrpc: "2.0", id: m.id, result: { manifest: { plugin: { id: "inv" } }, server_version: "inv-1" } }); continue; }
  if (m.id === "q" && m.method === undefined) { process.stdout.write("debug: the runner answered\\n"); continue; }
  const err = { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "no" } };
  out(err);
  if (mode.startsWith("ask_")) out({ jsonrpc: "2.0", id: "q", method: mode.slice(4), params: {} });
  if (mode === "stray") process.stdout.write("debug: handled a request\\n");
  if (mode === "twice") out(err);
  if (mode === "unsolicited") out({ jsonrpc: "2.0", id: 99, result: {} });
} });
`,
    );
    writeFileSync(join(p, "plugin.toml"), `[plugin]\nid = "inv"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "node"\nargs = ["main.mjs"]\n`);
    return p;
  };
  const outcome = async (mode: string): Promise<string> => {
    const r = (await runConformance({ pluginDir: plugin(mode), vectorsDir: vectors, timeScale: TIME_SCALE })).results[0];
    return r.status === "pass" ? "pass" : (r.reason ?? "");
  };
  assert.equal(await outcome("good"), "pass");
  assert.match(await outcome("stray"), /stdout carried a line that is not a frame \(invalid_json.*debug: handled a request/);
  assert.match(await outcome("twice"), /second response to id 2/);
  assert.match(await outcome("unsolicited"), /response to id 99, which the runner never sent/);
  // The runner answers broker requests as the daemon would, and only those: not a method Object.prototype has.
  assert.match(await outcome("ask_broker.publish"), /debug: the runner answered/);
  assert.equal(await outcome("ask_constructor"), "pass");
});
