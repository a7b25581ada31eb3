// Proxy routes follow their plugin through reloads: a restarted plugin is served under its route again,
// a removed one's route answers 404, and a prefix new since start is reported as needing a restart.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../../src/config/index.js";
import { Daemon } from "../../../src/daemon/index.js";
import { tempDir } from "../../helpers/fixture-plugins.js";
import { httpCall } from "../../helpers/http-client.js";
import { httpFixturePlugin } from "../../helpers/http-fixture.js";
import { captureLogger } from "../../helpers/log-capture.js";
import { waitFor } from "../../helpers/wait.js";

test("reload routes - a restarted plugin is served again under its route, a removed one's route is 404, a new prefix waits for a restart", async (t) => {
  const dir = tempDir(t, "nexo-reload-routes-");
  for (const id of ["web", "other", "late"]) httpFixturePlugin(join(dir, "plugins"), { id });
  const file = join(dir, "nexo.yaml");
  const write = (plugins: Record<string, unknown>): void =>
    writeFileSync(file, JSON.stringify({ state_dir: join(dir, "state"), plugin_paths: ["./plugins"], api: { port: 0 }, plugins }));
  write({ web: {}, other: {} });
  const daemon = await Daemon.start(loadConfig(file), { logger: captureLogger("info").logger, controlSocket: false });
  t.after(() => daemon.stop());
  const url = daemon.app.url!;
  const pid = async (prefix: string): Promise<string | null> => {
    const r = await httpCall(`${url}${prefix}/pid`);
    return r.status === 200 ? r.text : null;
  };
  const first = await waitFor(() => pid("/hooks/web"), "web routed", 15_000, 25);
  const otherPid = await waitFor(() => pid("/hooks/other"), "other routed", 15_000, 25);

  write({ web: { env: { RESTART_ME: "1" } }, other: {} });
  const restarted = await daemon.reload();
  assert.deepEqual(restarted.routes, { add: [], replace: ["/hooks/web"], remove: [], keep: ["/hooks/other"] });
  const second = await waitFor(() => pid("/hooks/web"), "web routed again", 15_000, 25);
  assert.notEqual(second, first, "the route reaches the new process");

  write({ other: {}, late: {} });
  const removed = await daemon.reload();
  assert.deepEqual(removed.routes, { add: ["/hooks/late"], replace: [], remove: ["/hooks/web"], keep: ["/hooks/other"] });
  assert.deepEqual(removed.needsRestart, ["routes: /hooks/late"]);
  assert.equal((await httpCall(`${url}/hooks/web/pid`)).status, 404);
  assert.equal((await httpCall(`${url}/hooks/late/pid`)).status, 404, "fastify takes no new route once listening");
  assert.match(daemon.host.get("late")!.status().route ?? "", /refused: is new since the daemon started/);
  assert.equal(await pid("/hooks/other"), otherPid, "the unchanged plugin and its route were not touched");

  write({ other: {}, web: {} });
  await daemon.reload();
  const third = await waitFor(() => pid("/hooks/web"), "web routed after coming back", 15_000, 25);
  assert.ok(third !== first && third !== second);
});
