import type { TestContext } from "node:test";
import { Nexo, type NexoOptions } from "../../src/app/index.js";
import { captureLogger } from "./log-capture.js";
import { tempDir } from "./fixture-plugins.js";

/**
 * A Nexo app for tests: captured logs, state in a temp dir, no listening port
 * unless `http: true` (then a free port), stopped after the test.
 */
export function testApp(t: TestContext, options: NexoOptions = {}): { app: Nexo; logs: () => Array<Record<string, any>> } {
  const cap = captureLogger();
  const app = new Nexo({ logger: cap.logger, http: false, apiPort: 0, stateDir: tempDir(t), ...options });
  t.after(() => app.stop());
  return { app, logs: cap.lines };
}
