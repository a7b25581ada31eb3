import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Nexo } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { createMcpSession, type McpSession } from "./mcp-server.js";
import { checkMcpOrigin } from "./origin-check.js";

/** Options of `mountMcpHttp`. */
export interface McpHttpOptions {
  /** Route. Default "/mcp". */
  path?: string;
  /** Open sessions at most; a new one beyond this is refused with 503. Default 256. */
  maxSessions?: number;
  /**
   * Open sessions per client (the authenticated principal, else the IP address)
   * at most; a client's new session beyond this closes that client's least
   * recently used one (its id then gets 404, so it re-initializes), so one
   * caller that never closes its sessions cannot take them all. Default 32.
   */
  maxSessionsPerClient?: number;
  /** A session without any request for this long is closed (its client re-initializes). Default 30 min. */
  idleTimeoutMs?: number;
}

interface HttpSession {
  mcp: McpSession;
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** Who opened it (`clientOf`); only the same client may use it. */
  client: string;
}

/** What `mountMcpHttp` mounted. */
export interface McpHttpEndpoint {
  /** The route. */
  readonly path: string;
  /** Sessions open now (initialized and not closed). */
  readonly openSessions: number;
}

/** The client a request counts for: what was verified (the principal), else the peer's IP address. */
function clientOf(request: FastifyRequest): string {
  return request.principal ? `p:${request.principal.id}` : `ip:${request.ip}`;
}

const SESSION_HEADER = "mcp-session-id";

/** A transport-level refusal as the MCP transport answers it: a JSON-RPC error with no id, the status and code from the catalogue. */
function rpcError(reply: FastifyReply, err: NexoError): FastifyReply {
  return reply
    .code(err.httpStatus)
    .type("application/json")
    .send({ jsonrpc: "2.0", error: { code: err.details.rpcCode, message: err.message }, id: null });
}

/**
 * MCP over Streamable HTTP on the app's own fastify instance (POST, GET and
 * DELETE on `/mcp`), so the HTTP API's hooks (auth, rate limit, request
 * logging) apply to every MCP request and `request.principal` reaches tool
 * calls. Stateful: one MCP server per session (`Mcp-Session-Id`), so each
 * client's GET stream receives `notifications/tools/list_changed`. Sessions
 * are bounded in all and per client, belong to the client that opened them,
 * end on DELETE (with or without a body), expire when idle, and are closed
 * before the HTTP server closes.
 */
export function mountMcpHttp(app: Nexo, options: McpHttpOptions = {}): McpHttpEndpoint {
  const http = app.http;
  const path = options.path ?? "/mcp";
  const maxSessions = options.maxSessions ?? 256;
  const perClient = options.maxSessionsPerClient ?? 32;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
  const log = app.logger.child({ surface: "mcp" });
  const sessions = new Map<string, HttpSession>();
  const byClient = new Map<string, Set<string>>();
  let pending = 0; // sessions created but not yet initialized, counted against the bound too

  const forget = (id: string, entry: HttpSession): void => {
    if (sessions.get(id) !== entry) return;
    sessions.delete(id);
    const mine = byClient.get(entry.client);
    mine?.delete(id);
    if (mine?.size === 0) byClient.delete(entry.client);
  };

  /** Make room for one more session of `client`: close its least recently used one when it has `perClient`. */
  const makeRoomFor = (client: string): void => {
    const mine = byClient.get(client);
    if (!mine || mine.size < perClient) return;
    let oldest: [string, HttpSession] | undefined;
    for (const id of mine) {
      const s = sessions.get(id);
      if (s && (!oldest || s.lastSeen < oldest[1].lastSeen)) oldest = [id, s];
    }
    if (!oldest) return;
    forget(oldest[0], oldest[1]);
    log.info({ session: oldest[0], client, perClient }, "closing a client's least recently used MCP session: it opened too many");
    void oldest[1].mcp.close();
  };

  const open = async (client: string): Promise<HttpSession> => {
    const mcp = createMcpSession(app);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        makeRoomFor(client);
        sessions.set(id, entry);
        const mine = byClient.get(client) ?? new Set<string>();
        mine.add(id);
        byClient.set(client, mine);
      },
    });
    const entry: HttpSession = { mcp, transport, lastSeen: Date.now(), client };
    transport.onclose = () => {
      if (transport.sessionId) forget(transport.sessionId, entry);
      void mcp.close();
    };
    mcp.server.onerror = (err) => log.debug({ err: err.message }, "MCP session error");
    await mcp.server.connect(transport);
    return entry;
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    checkMcpOrigin({ host: request.headers.host, origin: request.headers.origin }, app.options.apiHost, app.options.mcpAllowedOrigins);
    const sid = request.headers[SESSION_HEADER];
    const client = clientOf(request);
    let entry: HttpSession | undefined;
    let fresh = false;
    if (typeof sid === "string" && sid.length > 0) {
      entry = sessions.get(sid);
      // -32001 + 404 tells the client its session is gone and it must initialize again (MCP transport spec).
      // Another client's session id is answered the same way: a session is bound to whoever opened it.
      if (!entry || entry.client !== client) return rpcError(reply, new NexoError(ErrorCodes.MCP_SESSION_NOT_FOUND, "Session not found"));
    } else {
      if (request.method !== "POST") return rpcError(reply, new NexoError(ErrorCodes.MCP_SESSION_REQUIRED, "Bad Request: Mcp-Session-Id header is required"));
      // The client's own oldest session gives way before the global bound refuses anyone.
      if (sessions.size + pending >= maxSessions) makeRoomFor(client);
      if (sessions.size + pending >= maxSessions) {
        throw new NexoError(ErrorCodes.MCP_SESSION_LIMIT, `too many MCP sessions open (${maxSessions}); close one or retry later`, { data: { retryAfterMs: 1000 } });
      }
      pending++;
      try {
        entry = await open(client);
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

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleTimeoutMs;
      for (const [id, s] of sessions) {
        if (s.lastSeen < cutoff) {
          forget(id, s);
          log.info({ session: id }, "closing idle MCP session");
          void s.mcp.close();
        }
      }
    },
    Math.min(60_000, idleTimeoutMs),
  );
  sweep.unref();

  // preClose, not onClose: an open GET stream would otherwise keep fastify's close() waiting.
  http.addHook("preClose", async () => {
    clearInterval(sweep);
    const all = [...sessions.values()];
    sessions.clear();
    byClient.clear();
    await Promise.allSettled(all.map((s) => s.mcp.close()));
  });

  return {
    path,
    get openSessions() {
      return sessions.size;
    },
  };
}
