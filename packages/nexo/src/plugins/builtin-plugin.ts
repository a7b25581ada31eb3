import type { Nexo } from "../app/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { NEXO_VERSION } from "../version.js";
import { NexusPlugin } from "../app/index.js";
import { describeValue, optionError, snakeCase, type OptionCheck } from "./option-checks.js";

/** One check per option of a built-in plugin. */
export type OptionSpecs<O> = { [K in keyof O]-?: OptionCheck<O[K]> };

/**
 * Base of the built-in plugins: options come from the constructor, from
 * properties set after construction (the reference plugin API, docs/writing-plugins.md: `rateLimit.limit = 1000`), or
 * from nexo.yaml through the plugin's factory; every value is checked when
 * it is set, and the set is frozen once `setup` runs (change options before
 * `app.addPlugin`). `toJSON()` hides secrets, so logging a plugin is safe.
 */
export abstract class BuiltinPlugin<O extends object> extends NexusPlugin<O> {
  private frozen = false;

  protected constructor(
    private readonly pluginId: string,
    private readonly specs: OptionSpecs<O>,
    defaults: O,
    given: unknown,
    private readonly secretKeys: ReadonlyArray<keyof O> = [],
  ) {
    super({ ...defaults });
    if (given === undefined || given === null) return;
    if (typeof given !== "object" || Array.isArray(given)) {
      throw new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${pluginId} options must be an object, got ${describeValue(given)}`, { pluginId });
    }
    for (const [key, value] of Object.entries(given)) {
      if (value === undefined) continue;
      // Own properties only: "constructor" or "toString" in nexo.yaml would otherwise find Object.prototype's.
      if (!Object.hasOwn(specs, key)) {
        const known = Object.keys(specs).map((k) => (snakeCase(k) === k ? k : `${k} (${snakeCase(k)})`));
        throw new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${pluginId} has no option ${JSON.stringify(key)}; options: ${known.join(", ")}`, { pluginId, field: key });
      }
      this.assign(key as keyof O, value);
    }
  }

  /** The plugin's name, also its key under `in_process_plugins:` in nexo.yaml. */
  get name(): string {
    return this.pluginId;
  }

  /** Built-ins ship with nexo and carry its version. */
  override get version(): string {
    return NEXO_VERSION;
  }

  /** The checked options (read-only view for subclasses). */
  protected get options(): Readonly<O> {
    return this.config;
  }

  /** Check and store one option; refused once the plugin is set up. */
  protected setOption<K extends keyof O>(key: K, value: unknown): void {
    if (this.frozen) {
      throw new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${this.pluginId} option ${String(key)} must be set before app.addPlugin(...); the plugin is already set up`, {
        pluginId: this.pluginId,
        field: String(key),
      });
    }
    this.assign(key, value);
  }

  /** Throw NEXO_ERR_PLUGIN_CONFIG_INVALID for option `key` (cross-field rules checked in `setup`). */
  protected fail(key: keyof O, expected: string, value: unknown = this.config[key]): never {
    throw optionError({ plugin: this.pluginId, option: String(key), secret: this.secretKeys.includes(key) }, expected, value);
  }

  /** Freezes the options; subclasses call `super.setup(app)` first. */
  override setup(app: Nexo): void | Promise<void> {
    this.frozen = true;
    this.app = app;
  }

  /** A view safe to log: secrets replaced by `[redacted]`, functions by `[function]`. */
  toJSON(): Record<string, unknown> {
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.config)) {
      options[k] = this.secretKeys.includes(k as keyof O) && v !== undefined ? "[redacted]" : typeof v === "function" ? "[function]" : v;
    }
    return { name: this.pluginId, version: this.version, options };
  }

  private assign<K extends keyof O>(key: K, value: unknown): void {
    this.config[key] = this.specs[key](value, { plugin: this.pluginId, option: String(key), secret: this.secretKeys.includes(key) });
  }
}
