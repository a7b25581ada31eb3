import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Nexo } from "../../app/nexo.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { createMcpSession, type McpSession } from "./mcp-server.js";
import { checkMcpOrigin } from "./origin-check.js";

/** Options of `mountMcpHttp`. */
export interface McpHttpOptions {
  /** Route. Default "/mcp". */
  path?: string;
  /** Open sessions at most; a new one beyond this is refused with 503. Default 256. */
  maxSessions?: number;
  /** A session without any request for this long is closed (its client re-initializes). Default 30 min. */
  idleTimeoutMs?: number;
}

interface HttpSession {
  mcp: McpSession;
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
}

const SESSION_HEADER = "mcp-session-id";

function rpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type("application/json").send({ jsonrpc: "2.0", error: { code, message }, id: null });
}

/**
 * MCP over Streamable HTTP on the app's own fastify instance (POST, GET and
 * DELETE on `/mcp`), so the HTTP API's hooks (auth, rate limit, request
 * logging) apply to every MCP request and `request.principal` reaches tool
 * calls. Stateful: one MCP server per session (`Mcp-Session-Id`), so each
 * client's GET stream receives `notifications/tools/list_changed`. Sessions
 * are bounded, expire when idle, and are closed before the HTTP server closes.
 */
export function mountMcpHttp(app: Nexo, options: McpHttpOptions = {}): void {
  const http = app.http;
  const path = options.path ?? "/mcp";
  const maxSessions = options.maxSessions ?? 256;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
  const log = app.logger.child({ surface: "mcp" });
  const sessions = new Map<string, HttpSession>();
  let pending = 0; // sessions created but not yet initialized, counted against the bound too

  const open = async (): Promise<HttpSession> => {
    const mcp = createMcpSession(app);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, entry),
    });
    const entry: HttpSession = { mcp, transport, lastSeen: Date.now() };
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void mcp.close();
    };
    mcp.server.onerror = (err) => log.debug({ err: err.message }, "MCP session error");
    await mcp.server.connect(transport);
    return entry;
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    checkMcpOrigin({ host: request.headers.host, origin: request.headers.origin }, app.options.apiHost, app.options.mcpAllowedOrigins);
    const sid = request.headers[SESSION_HEADER];
    let entry: HttpSession | undefined;
    let fresh = false;
    if (typeof sid === "string" && sid.length > 0) {
      entry = sessions.get(sid);
      // -32001 + 404 tells the client its session is gone and it must initialize again (MCP transport spec).
      if (!entry) return rpcError(reply, 404, -32001, "Session not found");
    } else {
      if (request.method !== "POST") return rpcError(reply, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
      if (sessions.size + pending >= maxSessions) {
        throw new NexoError(ErrorCodes.MCP_SESSION_LIMIT, `too many MCP sessions open (${maxSessions}); close one or retry later`, { httpStatus: 503, data: { retryAfterMs: 1000 } });
      }
      pending++;
      try {
        entry = await open();
      } finally {
        pending--;
      }
      fresh = true;
    }
    entry.lastSeen = Date.now();
    const principal = request.principal;
    const raw = request.raw as typeof request.raw & { auth?: AuthInfo };
    if (principal) raw.auth = { token: "", clientId: principal.id, scopes: [], extra: { principal } };
    reply.hijack();
    try {
      await entry.transport.handleRequest(raw, reply.raw, request.body);
    } finally {
      // A first request that was not `initialize` leaves a transport without a session: discard it.
      if (fresh && entry.transport.sessionId === undefined) await entry.mcp.close();
    }
  };

  http.post(path, handle);
  http.get(path, handle);
  http.delete(path, handle);

  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleTimeoutMs;
    for (const [id, s] of sessions) {
      if (s.lastSeen < cutoff) {
        sessions.delete(id);
        log.info({ session: id }, "closing idle MCP session");
        void s.mcp.close();
      }
    }
  }, Math.min(60_000, idleTimeoutMs));
  sweep.unref();

  // preClose, not onClose: an open GET stream would otherwise keep fastify's close() waiting.
  http.addHook("preClose", async () => {
    clearInterval(sweep);
    const all = [...sessions.values()];
    sessions.clear();
    await Promise.allSettled(all.map((s) => s.mcp.close()));
  });
}
