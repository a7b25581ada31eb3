import type { Nexo } from "../app/nexo.js";

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
}
