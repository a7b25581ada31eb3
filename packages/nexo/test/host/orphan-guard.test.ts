import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { OrphanGuard } from "../../src/host/orphan-guard.js";
import { isAlive } from "../helpers/hostile-plugins.js";
import { waitFor } from "../helpers/wait.js";

test("host - orphan guard: its watchdog kills the listed groups when its pipe closes, and comes back if killed", async (t) => {
  const spawnGroup = () => {
    const p = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1 << 30);"], { detached: true, stdio: "ignore" });
    t.after(() => {
      if (p.pid && isAlive(p.pid)) process.kill(-p.pid, "SIGKILL");
    });
    return p.pid!;
  };
  const kept = spawnGroup();
  const released = spawnGroup();
  const guard = new OrphanGuard();
  guard.track(kept);
  guard.track(released);
  guard.untrack(released);
  const first = guard.pid!;
  assert.ok(first > 0);
  process.kill(first, "SIGKILL");
  await waitFor(() => guard.pid !== undefined && guard.pid !== first, "a new watchdog");
  assert.deepEqual(guard.tracked, [kept]);
  guard.close();
  await waitFor(() => !isAlive(kept), "the listed group killed", 5000);
  assert.ok(isAlive(released), "an untracked group is left alone");
});
