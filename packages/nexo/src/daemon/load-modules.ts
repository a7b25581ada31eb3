import { pathToFileURL } from "node:url";
import type { Nexo } from "../app/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
// Loading the folder registers the built-ins (auth, monitoring, rate_limit, ...) under their nexo.yaml names.
import { builtinPluginFactory, builtinPluginNames } from "../plugins/index.js";
import type { NexusPlugin } from "../app/index.js";
import type { InProcessPluginConfig } from "../config/index.js";

/** What a workflow module exports: `default` or `register`, a function of the app. */
type RegisterFn = (app: Nexo) => void | Promise<void>;

async function importModule(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${what}: cannot load ${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

/**
 * Load each `workflows:` module and let it register on `app`. A module
 * exports `default` or `register`: `(app) => void | Promise<void>`.
 */
export async function loadWorkflowModules(app: Nexo, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const mod = await importModule(file, "workflows");
    const fn = (typeof mod.default === "function" ? mod.default : mod.register) as RegisterFn | undefined;
    if (typeof fn !== "function") {
      throw new NexoError(ErrorCodes.CONFIG_INVALID, `workflows: ${file} must export a function (default or register) taking the app`, { file });
    }
    await fn(app);
  }
}

/**
 * Add each `in_process_plugins:` entry to `app`, in file order: a built-in by
 * name, or `module:` a file whose default export is a NexusPlugin subclass
 * (constructed with `options`) or a factory `(options) => plugin`.
 */
export async function loadInProcessPlugins(app: Nexo, entries: readonly InProcessPluginConfig[]): Promise<void> {
  for (const entry of entries) {
    let plugin: NexusPlugin<any>;
    if (entry.module) {
      const mod = await importModule(entry.module, `in_process_plugins.${entry.name}`);
      const exported = mod.default;
      if (typeof exported !== "function") {
        throw new NexoError(ErrorCodes.CONFIG_INVALID, `in_process_plugins.${entry.name}: ${entry.module} must default-export a NexusPlugin class or a factory`, {
          file: entry.module,
        });
      }
      // A class is recognised by its prototype's setup(), not by instanceof: the module may
      // import NexusPlugin from another copy of nexo (a global install, a bundled build).
      const isClass = typeof (exported.prototype as { setup?: unknown } | undefined)?.setup === "function";
      plugin = isClass ? new (exported as new (o: unknown) => NexusPlugin<any>)(entry.options) : (exported as (o: unknown) => NexusPlugin<any>)(entry.options);
    } else {
      const factory = builtinPluginFactory(entry.name);
      if (!factory) {
        throw new NexoError(
          ErrorCodes.CONFIG_INVALID,
          `in_process_plugins.${entry.name}: no built-in plugin of that name (built-ins: ${builtinPluginNames().join(", ") || "none"}); give module: for your own`,
          { field: `in_process_plugins.${entry.name}` },
        );
      }
      plugin = factory(entry.options);
    }
    await app.addPlugin(plugin);
  }
}
