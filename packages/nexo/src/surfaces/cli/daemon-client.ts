import type { Command } from "commander";
import type { ErrorCode } from "../../errors.js";
import type { ControlClient } from "../control/index.js";
import { resolveSocketPath } from "./socket-path.js";

/** The control surface's module, loaded when a command first talks to a daemon. */
export type ControlModule = typeof import("../control/index.js");

/** The control surface, imported on first use: commands that never reach a daemon never load it. */
export function loadControl(): Promise<ControlModule> {
  return import("../control/index.js");
}

/** Connect to the daemon named by the global `--socket` / `--config` options (or `$NEXO_SOCKET`). */
export async function connectDaemon(program: Command): Promise<ControlClient> {
  const [{ ControlClient }, path] = await Promise.all([loadControl(), resolveSocketPath(program.opts<{ socket?: string; config?: string }>())]);
  return ControlClient.connect(path);
}

/**
 * One request to the running daemon on a fresh connection. An error the daemon
 * sends with a stable code in its data becomes a NexoError with that code, so
 * the CLI prints it like any local error.
 */
export async function requestDaemon(program: Command, method: keyof ControlModule["ControlMethods"], params?: unknown): Promise<any> {
  const [{ ControlMethods }, { RpcError }, { NexoError }, client] = await Promise.all([
    loadControl(),
    import("../../contract/index.js"),
    import("../../errors.js"),
    connectDaemon(program),
  ]);
  try {
    return await client.request(ControlMethods[method], params);
  } catch (err) {
    const data = err instanceof RpcError ? (err.data as { code?: string } | undefined) : undefined;
    if (data?.code?.startsWith("NEXO_ERR_")) throw new NexoError(data.code as ErrorCode, (err as Error).message);
    throw err;
  } finally {
    client.close();
  }
}
