import { loadConfig, type NexoConfig } from "../../config/index.js";
import { RpcError, RpcErrorCodes } from "../../contract/index.js";
import { ErrorCodes, isNexoError, NexoError } from "../../errors.js";
import type { Daemon } from "../daemon.js";
import type { ReloadReport } from "./apply.js";
import { Reloader } from "./reloader.js";

/** The daemon's reloader: what runs now is read from its host, bindings and config; the file is read again with `load`. */
export function createReloader(daemon: Daemon, load?: () => NexoConfig): Reloader {
  return new Reloader({
    load:
      load ??
      (() => {
        const file = daemon.config.file;
        if (file === null) throw new NexoError(ErrorCodes.CONFIG_INVALID, "this daemon runs without a config file: there is nothing to reload (start it with --config)");
        return loadConfig(file);
      }),
    current: () => ({
      config: daemon.config,
      // Plugins the embedder added itself (DaemonOptions.configure) are not the config's to remove.
      plugins: daemon.host
        .list()
        .filter((s) => daemon.configuredPlugins.has(s.key))
        .map((s) => s.spec),
      bindings: daemon.bindings.specs,
    }),
    target: () => ({
      app: daemon.app,
      bindings: daemon.bindings,
      pollers: daemon.pollers,
      startPollers: (config) => daemon.startPollers(config),
      configured: daemon.configuredPlugins,
    }),
    commit: (config) => daemon.commitReload(config),
    logger: daemon.logger,
  });
}

/** `nexo reload` over the control socket: the report, or the refusal with its stable code and every violation. */
export async function reloadOverControl(daemon: Daemon): Promise<ReloadReport> {
  try {
    return await daemon.reload();
  } catch (err) {
    if (isNexoError(err)) {
      const violations = isNexoError(err, ErrorCodes.CONFIG_INVALID) ? err.details.data?.violations : undefined;
      throw new RpcError(RpcErrorCodes.INVALID_PARAMS, err.message, { code: err.code, ...(violations ? { violations } : {}) });
    }
    throw err;
  }
}
