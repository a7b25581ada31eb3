import type { TestContext } from "node:test";
import { Nexo, type NexoOptions } from "../../src/app/index.js";
import { RunService, type RunsOptions } from "../../src/runs/index.js";
import { captureLogger } from "./log-capture.js";
import { tempDir } from "./fixture-plugins.js";

/** Options of `testApp`: the app's, and the run service's (`runs`, as nexo.yaml `runs:`). */
export interface TestAppOptions extends NexoOptions {
  runs?: RunsOptions;
}

/**
 * A Nexo app for tests: captured logs, state in a temp dir, a run service
 * attached as the daemon attaches one, no listening port unless `http: true`
 * (then a free port), stopped after the test.
 */
export function testApp(t: TestContext, options: TestAppOptions = {}): { app: Nexo; logs: () => Array<Record<string, any>> } {
  const cap = captureLogger();
  const { runs, ...appOptions } = options;
  const app = new Nexo({ logger: cap.logger, http: false, apiPort: 0, stateDir: tempDir(t), ...appOptions });
  app.attachRuns(RunService.forApp(app, runs));
  t.after(() => app.stop());
  return { app, logs: cap.lines };
}
