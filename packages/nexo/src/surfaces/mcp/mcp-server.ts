import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { Nexo } from "../../app/index.js";
import type { Principal } from "../../app/index.js";
import { ErrorCodes, isNexoError, NexoError } from "../../errors.js";
import { MAX_JSON_DEPTH, valueDepthExceeds } from "../http/index.js";
import { toMcpError, toMcpResult } from "./to-mcp-result.js";
import { progressSender } from "./progress.js";

/** One MCP server session bound to an app, and how to release it. */
export interface McpSession {
  server: Server;
  /** Stop listening for tool-list changes and close the server (and its transport). */
  close(): Promise<void>;
}

/** Options of one MCP session. */
export interface McpSessionOptions {
  /** The caller when the transport authenticates nobody (stdio: the local user, `local:mcp_stdio`). */
  principal?: Principal;
}

/**
 * An MCP server (official SDK, low-level `Server`: the tools are JSON Schema,
 * not zod) exposing every tool of `app`: `tools/list` is `app.listTools()`,
 * `tools/call` goes through `app.callTool` with channel `mcp`. A change in
 * the tool list is sent as `notifications/tools/list_changed` once the client
 * has initialized. One per connection (stdio) or per session (HTTP).
 */
export function createMcpSession(app: Nexo, options: McpSessionOptions = {}): McpSession {
  const server = new Server(
    { name: "nexo", version: app.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions: "Tools of a Nexo daemon: plugin tools are named <plugin>_<tool>, workflows by their own name.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => {
    const principal = (extra.authInfo?.extra?.principal as Principal | undefined) ?? options.principal;
    // Only what this caller may call: a tool it would be refused is not offered to its model.
    return { tools: app.listTools(principal).map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema as { type: "object" } })) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args } = request.params;
    const principal = (extra.authInfo?.extra?.principal as Principal | undefined) ?? options.principal;
    // The HTTP body parser already refused deeper JSON; stdio messages arrive parsed, so check here too.
    if (valueDepthExceeds(args, MAX_JSON_DEPTH)) {
      return toMcpError(
        new NexoError(ErrorCodes.TOOL_INVALID_ARGS, `the arguments of ${name} nest arrays/objects deeper than ${MAX_JSON_DEPTH} levels`, {
          data: { tool: name, maxDepth: MAX_JSON_DEPTH },
        }),
      );
    }
    const progressToken = request.params._meta?.progressToken;
    try {
      const result = await app.callTool(name, args ?? {}, {
        channel: "mcp",
        sessionId: extra.sessionId ?? null,
        ...(principal ? { principal } : {}),
        ...(progressToken !== undefined ? { onProgress: progressSender(progressToken, (n) => extra.sendNotification(n)) } : {}),
        signal: extra.signal,
      });
      return toMcpResult(result);
    } catch (err) {
      // An unknown tool is a protocol error (MCP spec); everything else is a result the model can read.
      if (isNexoError(err, ErrorCodes.TOOL_NOT_FOUND)) throw new McpError(ErrorCode.InvalidParams, err.message, { code: err.code });
      if (isNexoError(err)) return toMcpError(err);
      throw err;
    }
  });
  const off = app.onToolsChanged(() => {
    if (!server.getClientVersion()) return; // not initialized yet: its first tools/list will be current
    server.sendToolListChanged().catch(() => undefined); // the transport went away; its close handler cleans up
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    close: () => {
      closed ??= (async () => {
        off();
        await server.close().catch(() => undefined);
      })();
      return closed;
    },
  };
}
