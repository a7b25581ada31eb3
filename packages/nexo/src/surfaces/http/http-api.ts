import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Nexo } from "../../app/index.js";
import type { ExecuteWorkflowOptions, Principal } from "../../app/index.js";
import { ON_ABORTABLE } from "../../util/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { sendError } from "./error-reply.js";
import { installJsonBodyParser } from "./json-body.js";
import { buildOpenApi, type OpenApiPaths, type OpenApiSecurity } from "./openapi.js";
import { registerAuditRoutes } from "./audit-routes.js";
import { registerToolRoutes } from "./tool-routes.js";
import { SESSION_HEADER } from "./session-header.js";
import { registerHealthProbes, registerHttpConventions, type HttpConventionsOptions } from "./conventions.js";
import { executeWithExtras, registerRunRoutes } from "./run-routes.js";
import { wantsEventStream } from "./sse.js";
import { replyAtTurnEnd } from "./turn-end-replies.js";
import { IDEMPOTENCY_HEADER } from "../../runs/index.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who made the request, set by an auth hook (AuthPlugin); null when anonymous. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Paths other surfaces add to `/openapi.json`. */
    openApiPaths: OpenApiPaths;
    /** How requests authenticate, for `/openapi.json` (set by the AuthPlugin). */
    openApiSecurity: OpenApiSecurity | null;
  }
}

/**
 * Build the app's HTTP API on fastify: `/health` (and `/health/live`,
 * `/health/ready`), `/workflows`, `/workflows/:name`,
 * `POST /workflows/:name/execute`, the runs routes (`run-routes.ts`), `/tools`,
 * `/tools/:name`, `POST /tools/:name`, `/openapi.json`.
 * Errors are JSON with a stable code (`error-reply.ts`). Plugins add their
 * routes and hooks to the returned instance in `setup`.
 */
export function createHttpApi(app: Nexo, conventions: HttpConventionsOptions = {}): FastifyInstance {
  const http = Fastify({
    loggerInstance: app.logger.child({ surface: "http" }) as FastifyBaseLogger,
    // Per-request lines are the RequestLoggerPlugin's job; off by default keeps the hot path quiet.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: app.options.maxBodyBytes,
    // Plugins' hooks (auth, rate limit) run on every request; one uuid per request is what the logs need.
    requestIdHeader: false,
    return503OnClosing: true,
    // No pino child per request: it only added fastify's "req-N" counter (we turn
    // request-id headers off) and cost more than a cache hit's lookup. Failed
    // requests are logged with their own error id (error-reply.ts).
    childLoggerFactory: (logger) => logger,
    forceCloseConnections: "idle",
  });
  registerHttpConventions(http, conventions);
  installJsonBodyParser(http);
  http.decorateRequest("principal", null);
  http.decorate("openApiPaths", {} as OpenApiPaths);
  http.decorate("openApiSecurity", null as OpenApiSecurity | null);
  http.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  http.setNotFoundHandler((request, reply) => sendError(new NexoError(ErrorCodes.HTTP_NOT_FOUND, `no route ${request.method} ${request.url.split("?")[0]}`), request, reply));

  http.get("/health", async (_request, reply) => {
    const health = await app.health();
    return reply.code(health.status === "failed" ? 503 : 200).send(health);
  });

  http.get("/workflows", async () => ({
    workflows: app.listWorkflows().map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
  }));

  http.get<{ Params: { name: string } }>("/workflows/:name", async (request) => {
    const w = app.getWorkflow(request.params.name);
    if (!w) throw new NexoError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow named "${request.params.name}"`, { data: { workflow: request.params.name } });
    return { name: w.name, description: w.description, inputSchema: w.inputSchema };
  });

  http.post<{ Params: { name: string } }>("/workflows/:name/execute", (request, reply) => {
    const h = request.headers;
    // Two header lookups keep the plain call on its fast path; keys and streams take the runs path.
    if (h[IDEMPOTENCY_HEADER] !== undefined || wantsEventStream(h.accept)) return executeWithExtras(app, request, reply);
    // Not a promise: the reply is sent by replyAtTurnEnd, and fastify waits for it.
    executeRoute(app, request, reply);
    return undefined;
  });
  registerRunRoutes(http, app);
  registerHealthProbes(http, app);

  registerToolRoutes(http, app);
  registerAuditRoutes(http, app);

  http.get("/openapi.json", async () => buildOpenApi(app.version, app.listWorkflows(), http.openApiPaths, http.openApiSecurity));
  return http;
}

function executeRoute(app: Nexo, request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply): void {
  // The client went away before we answered: abort the execution (ctx.signal fires).
  // No AbortController per request: the app hands us an abort function instead.
  let abort: ((reason?: unknown) => void) | undefined;
  // Left attached: the response object dies with the request, and removing a listener costs more than the check.
  reply.raw.on("close", () => abort?.(new NexoError(ErrorCodes.WORKFLOW_ABORTED, "the HTTP client disconnected")));
  const session = request.headers[SESSION_HEADER];
  const options: ExecuteWorkflowOptions = {
    channel: "http",
    sessionId: typeof session === "string" && session.length > 0 && session.length <= 256 ? session : null,
    headers: request.headers,
  };
  if (request.principal) options.principal = request.principal;
  // Assigned, not written in the literal: a computed symbol key sends V8's object literal down a slow path (~10x).
  options[ON_ABORTABLE] = (fn) => (abort = fn);
  // Through the instance, not a captured method: a plugin that replaced executeWorkflow wraps this surface too.
  // Once it has settled there is nothing left to abort, though its reply may still be waiting for the turn's end.
  replyAtTurnEnd(request, reply, app.executeWorkflow(request.params.name, request.body ?? {}, options), () => (abort = undefined));
}
