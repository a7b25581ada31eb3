import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Nexo } from "../../app/index.js";
import { internalPrincipal } from "../../authz/index.js";
import { createMcpSession } from "./mcp-server.js";

/** Options of `serveMcpStdio`. */
export interface McpStdioOptions {
  /** Where MCP frames are read. Default `process.stdin`. */
  stdin?: Readable;
  /** Where MCP frames are written; nothing else may write there. Default `process.stdout`. */
  stdout?: Writable;
}

/** A running stdio MCP server. */
export interface McpStdioServer {
  /** Resolves when the client went away (stdin ended or errored) or `close()` was called. */
  readonly closed: Promise<void>;
  /** Close the MCP session; the app keeps running (its owner stops it). */
  close(): Promise<void>;
}

/**
 * Serve `app`'s tools over MCP on stdio (newline-delimited JSON-RPC, the
 * official SDK transport). The end of stdin is the client disconnecting.
 */
export async function serveMcpStdio(app: Nexo, options: McpStdioOptions = {}): Promise<McpStdioServer> {
  const stdin = options.stdin ?? process.stdin;
  const session = createMcpSession(app, { principal: internalPrincipal("local", "mcp_stdio") });
  const transport = new StdioServerTransport(stdin, options.stdout ?? process.stdout);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  transport.onclose = () => resolveClosed();
  const onEnd = (): void => void session.close();
  stdin.once("end", onEnd);
  stdin.once("close", onEnd);
  await session.server.connect(transport);
  void closed.then(() => {
    stdin.off("end", onEnd);
    stdin.off("close", onEnd);
  });
  return {
    closed,
    close: async () => {
      await session.close();
      resolveClosed();
    },
  };
}
