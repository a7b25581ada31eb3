// `nexo reload` against a `nexo run` child: what changed is printed as JSON; a bad file exits 1 with the daemon's reason.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCodes } from "../../../src/errors.js";
import { fixturePlugin, tempDir } from "../../helpers/fixture-plugins.js";
import { runNexo, startNexoDaemon } from "../../helpers/nexo-cli.js";
import { waitFor } from "../../helpers/wait.js";

test("reload cli - nexo reload prints {add, replace, remove, keep} per kind; a file that does not validate exits 1, says why and changes nothing", async (t) => {
  const dir = tempDir(t, "nexo-reload-cli-");
  const plugins = join(dir, "plugins");
  for (const id of ["one", "two"]) fixturePlugin(plugins, { id, mode: "echo" });
  const file = join(dir, "nexo.yaml");
  const write = (extra: Record<string, unknown>): void =>
    writeFileSync(file, JSON.stringify({ state_dir: join(dir, "state"), plugin_paths: [plugins], api: { enabled: false }, ...extra }));
  write({ plugins: { one: { config: { v: 1 } } } });
  const daemon = startNexoDaemon(t, file);
  await waitFor(() => daemon.output().includes("plugin ready"), "the plugin ready", 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  });

  // The socket is named directly: a broken file must be read by the daemon, not by the CLI looking for the socket.
  const socket = ["--socket", join(dir, "state", "nexo.sock")];
  write({
    plugins: { one: { config: { v: 2 } }, two: {} },
    api: { enabled: false, port: 9999 },
    llm: { providers: { local: { kind: "openai", base_url: "http://127.0.0.1:9/v1" } } },
  });
  const ok = await runNexo(["reload", ...socket]);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.deepEqual(report.plugins, { add: ["two"], replace: ["one"], remove: [], keep: [] });
  assert.deepEqual(report.reconfigure, ["one"]);
  assert.deepEqual(report.restarted, []);
  assert.deepEqual(report.providers, { add: ["local"], replace: [], remove: [], keep: [] });
  assert.deepEqual(report.bindings, { add: [], replace: [], remove: [], keep: [] });
  assert.deepEqual(report.needsRestart, ["api.port"]);

  writeFileSync(file, "plugins: [unclosed");
  const bad = await runNexo(["reload", ...socket]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(ErrorCodes.CONFIG_PARSE));
  assert.match(bad.stderr, /nexo\.yaml/);
  await waitFor(() => daemon.output().includes("config not reloaded: nothing changed"), "the daemon's log line");
  const status = await runNexo(["plugin", "list", "--json", ...socket]);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(
    (JSON.parse(status.stdout) as Array<{ key: string; state: string }>).map((p) => [p.key, p.state]),
    [
      ["one", "ready"],
      ["two", "ready"],
    ],
  );
});
