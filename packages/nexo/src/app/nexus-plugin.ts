import type { Nexo } from "./nexo.js";
import type { HealthStatus } from "./types.js";

/** What an in-process plugin reports to `/health` while it is ready. */
export interface PluginHealth {
  /** "degraded" serves with a problem (the plugin's entry and the overall status say so); "failed" makes `/health` 503. */
  status: HealthStatus;
  /** What is wrong, for the `error` field of the plugin's entry. */
  message?: string;
  /** Figures merged into the entry's `details`. */
  details?: Record<string, unknown>;
}

/**
 * Base class of in-process plugins. Subclasses name themselves, receive their
 * configuration through the constructor, register hooks, middleware,
 * workflows and HTTP routes in `setup(app)`, and release what they hold in
 * `teardown()` (called once, in reverse order of setup, when the app stops or
 * the plugin is unregistered).
 * @example
 * class Greeter extends NexusPlugin<{ greeting?: string }> {
 *   get name() { return "greeter"; }
 *   setup(app: Nexo) {
 *     app.onWorkflowCompleted((e) => console.log(this.config.greeting ?? "done", e.workflowName));
 *   }
 * }
 * app.addPlugin(new Greeter({ greeting: "hello" }));
 */
export abstract class NexusPlugin<C extends object = Record<string, unknown>> {
  /** The configuration given to the constructor (default `{}`). */
  protected config: C;
  /** The app, set just before `setup` runs. */
  protected app: Nexo | undefined;

  constructor(config?: C) {
    this.config = config ?? ({} as C);
  }

  /** Unique name; a letter then letters, digits, `_` or `-` (it becomes a topic segment). */
  abstract get name(): string;

  /** One line for status pages. Default "". */
  get description(): string {
    return "";
  }

  /** Semver of the plugin. Default "0.0.0". */
  get version(): string {
    return "0.0.0";
  }

  /** Register hooks, middleware, workflows and routes. May be async; the app's `start()` waits for it. */
  setup(app: Nexo): void | Promise<void> {
    this.app = app;
  }

  /** Release resources. Called once; errors and hangs are logged, never thrown at the app. */
  teardown(): void | Promise<void> {}

  /**
   * Optional: the plugin's own view of its health, asked on each `/health`
   * while it is ready (synchronous and cheap: report state kept as it changes).
   * Absent: a ready plugin is "ok".
   */
  health?(): PluginHealth;
}
