import { Writable } from "node:stream";
import type { Command } from "commander";
import { emptyDaemonHint } from "./commands-daemon.js";

/**
 * `nexo mcp`: an MCP server on stdio for clients that launch their tools
 * (Claude Desktop, IDEs). It runs its own app from the config (plugins,
 * workflows) for as long as the client keeps stdin open; stdout carries MCP
 * frames only (logs and anything else printed go to stderr). It opens no
 * control socket and, unless `--http`, no HTTP port, so it can run beside a
 * `nexo run` daemon using the same file. A running daemon is reachable
 * directly over Streamable HTTP at `<api>/mcp`. Without a config it serves an
 * empty daemon whose state goes to `defaultMcpStateDir()`, never the client's
 * working directory.
 */
export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("serve the config's tools and workflows to an MCP client over stdio")
    .option("-c, --config <file>", "nexo.yaml to load (default ./nexo.yaml if present, else an empty daemon with its state in $XDG_STATE_HOME/nexo/mcp)")
    .option("--http", "also open the HTTP API (and /mcp) on the config's api port")
    .action(async (opts: { config?: string; http?: boolean }) => {
      // First, before anything can print: stdout belongs to the MCP transport.
      const { installStdoutGuard } = await import("nexo-plugin-sdk");
      const guard = installStdoutGuard();
      const [{ defaultMcpStateDir, loadConfig }, { Daemon }, { createLogger }, { serveMcpStdio }] = await Promise.all([
        import("../../config/index.js"),
        import("../../daemon/index.js"),
        import("../../log/index.js"),
        import("../mcp/index.js"),
      ]);
      const frames = new Writable({
        write(chunk: Buffer | string, _enc, cb) {
          if (guard.rawWrite(typeof chunk === "string" ? chunk : chunk.toString("utf8"))) cb();
          else process.stdout.once("drain", () => cb());
        },
      });
      const loaded = loadConfig(opts.config ?? program.opts<{ config?: string }>().config, process.cwd(), { emptyStateDir: defaultMcpStateDir() });
      if (loaded.file === null) process.stderr.write(emptyDaemonHint("mcp"));
      const config = { ...loaded, api: { ...loaded.api, enabled: opts.http === true && loaded.api.enabled } };
      const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr });
      const daemon = await Daemon.start(config, { logger, controlSocket: false });
      const server = await serveMcpStdio(daemon.app, { stdout: frames });
      logger.info({ tools: daemon.app.listTools().length }, "MCP server on stdio");
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (why: string): void => {
          if (stopping) return;
          stopping = true;
          logger.info({ why }, "stopping");
          void server
            .close()
            .then(() => daemon.stop())
            .catch((err: unknown) => logger.error({ err }, "error while stopping"))
            .finally(resolve);
        };
        void server.closed.then(() => stop("MCP client disconnected"));
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
        // Unlike `nexo run`, SIGHUP still stops: a stdio server lives as long as the client that launched it, and a
        // hang-up means that client (or its terminal) is gone; there is no control socket to reload through either.
        process.once("SIGHUP", () => stop("SIGHUP"));
      });
    });
}
