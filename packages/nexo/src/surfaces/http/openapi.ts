import type { WorkflowInfo } from "../../app/index.js";

/** Extra paths a surface contributes to the OpenAPI document (e.g. the tools routes). */
export type OpenApiPaths = Record<string, Record<string, unknown>>;

/** How requests authenticate: OpenAPI security schemes (any one suffices), and the paths served without. */
export interface OpenApiSecurity {
  schemes: Record<string, Record<string, unknown>>;
  isExempt(path: string): boolean;
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "Stable NEXO_ERR_* code" },
        message: { type: "string" },
        errorId: { type: "string", description: "Set on 500s; the server log has the details under this id" },
        violations: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
      },
    },
  },
};

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const RUN_SCHEMA = {
  type: "object",
  required: ["id", "workflow", "status", "createdAt", "links"],
  properties: {
    id: { type: "string" },
    workflow: { type: "string" },
    status: { enum: ["queued", "running", "completed", "failed", "cancelled", "interrupted"] },
    channel: { type: "string" },
    sessionId: { type: ["string", "null"] },
    result: { description: "Set when completed" },
    error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, errorId: { type: "string" } } },
    eventsDropped: { type: "integer", description: "Progress events a full buffer dropped" },
    createdAt: { type: "string", format: "date-time" },
    startedAt: { type: ["string", "null"], format: "date-time" },
    finishedAt: { type: ["string", "null"], format: "date-time" },
    durationSeconds: { type: ["number", "null"] },
    links: {
      type: "object",
      description: "Where to poll the run (GET) and follow its events (SSE); on every run the run routes answer",
      required: ["self", "events"],
      properties: { self: { type: "string" }, events: { type: "string" } },
    },
    cancelRequested: { type: "boolean", description: "On the 202 of DELETE /runs/{id}: another daemon runs it and cancels it at its next heartbeat" },
  },
};

const PROBE_SCHEMA = {
  type: "object",
  required: ["status"],
  properties: {
    status: { enum: ["ok", "failed"] },
    state: { type: "string", description: "The app's lifecycle state" },
    waiting: { type: "array", items: { type: "string" }, description: "Why it is not ready (503 only)" },
  },
};
const probeResponse = (description: string): Record<string, unknown> => ({ description, content: { "application/json": { schema: PROBE_SCHEMA } } });
const UNAUTHENTICATED = errorResponse("Not authenticated (the AuthPlugin is on)");
const FORBIDDEN = errorResponse("No authorization rule grants the principal this workflow (NEXO_ERR_AUTHZ_FORBIDDEN)");
const RATE_LIMITED = errorResponse("Rate limited; see Retry-After");

const IDEMPOTENCY_PARAM = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "IETF draft-ietf-httpapi-idempotency-key-header: a retry with the same key and inputs (same principal, within runs.retention_seconds) returns the first outcome without running again",
  schema: { type: "string", maxLength: 257 },
};
const SESSION_PARAM = { name: "X-Session-Id", in: "header", required: false, schema: { type: "string", maxLength: 256 } };
const ID_PARAM = { name: "id", in: "path", required: true, schema: { type: "string" } };
const runResponse = (description: string): Record<string, unknown> => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Run" } } } });

const HEALTH_PROBES: OpenApiPaths = {
  "/health/live": {
    get: { operationId: "healthLive", summary: "Liveness: the process serves", responses: { "200": probeResponse("Alive"), "503": probeResponse("Stopping") } },
  },
  "/health/ready": {
    get: {
      operationId: "healthReady",
      summary: "Readiness: running, no plugin starting, store reachable",
      responses: { "200": probeResponse("Ready"), "503": probeResponse("Not ready; `waiting` says why") },
    },
  },
};

const RUN_PATHS: OpenApiPaths = {
  "/runs": {
    get: {
      operationId: "listRuns",
      summary: "The caller's runs, newest first",
      tags: ["runs"],
      parameters: [
        { name: "status", in: "query", schema: { enum: ["queued", "running", "completed", "failed", "cancelled", "interrupted"] } },
        { name: "workflow", in: "query", schema: { type: "string" } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
      ],
      responses: {
        "200": {
          description: "The runs",
          content: {
            "application/json": {
              schema: { type: "object", required: ["runs"], properties: { runs: { type: "array", items: { $ref: "#/components/schemas/Run" } } } },
            },
          },
        },
        "400": errorResponse("A bad filter"),
        "401": UNAUTHENTICATED,
      },
    },
  },
  "/runs/{id}": {
    get: {
      operationId: "getRun",
      summary: "A run's status, result or error, timings",
      tags: ["runs"],
      parameters: [ID_PARAM],
      responses: { "200": runResponse("The run"), "401": UNAUTHENTICATED, "404": errorResponse("No such run (or not the caller's)") },
    },
    delete: {
      operationId: "cancelRun",
      summary: "Cancel a queued or running run (its ctx.signal aborts)",
      tags: ["runs"],
      parameters: [ID_PARAM],
      responses: {
        "200": runResponse("Cancelled"),
        "202": runResponse("Another daemon runs it: cancellation requested"),
        "401": UNAUTHENTICATED,
        "404": errorResponse("No such run"),
        "409": errorResponse("The run already ended"),
      },
    },
  },
  "/runs/{id}/events": {
    get: {
      operationId: "runEvents",
      summary: "Server-Sent Events: progress and chunk events (id = seq; Last-Event-ID resumes), then `end` with the run",
      tags: ["runs"],
      parameters: [ID_PARAM, { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } }],
      responses: {
        "200": { description: "The event stream", content: { "text/event-stream": { schema: { type: "string" } } } },
        "401": UNAUTHENTICATED,
        "404": errorResponse("No such run"),
        "503": errorResponse("runs.max_event_streams streams are open (NEXO_ERR_RUN_STREAM_LIMIT); retry after Retry-After"),
      },
    },
  },
};

/**
 * An OpenAPI 3.1 document for the API as it is now: one `execute` operation
 * per registered workflow, its request body being the workflow's input schema.
 */
export function buildOpenApi(version: string, workflows: readonly WorkflowInfo[], extraPaths: OpenApiPaths = {}, security: OpenApiSecurity | null = null): Record<string, unknown> {
  const paths: OpenApiPaths = {
    "/health": {
      get: {
        operationId: "health",
        summary: "Status of the app, each plugin and each service",
        responses: { "200": { description: "Serving" }, "503": { description: "Not running, or something failed" } },
      },
    },
    "/workflows": {
      get: { operationId: "listWorkflows", summary: "Registered workflows with their input schemas", responses: { "200": { description: "The list" } } },
    },
  };
  Object.assign(paths, HEALTH_PROBES, RUN_PATHS);
  for (const w of workflows) {
    const body = { required: true, content: { "application/json": { schema: w.inputSchema ?? { type: "object" } } } };
    paths[`/workflows/${w.name}/runs`] = {
      post: {
        operationId: `startRun_${w.name}`,
        summary: `Start a run of ${w.name}; poll /runs/{id} or follow /runs/{id}/events`,
        tags: ["runs"],
        parameters: [IDEMPOTENCY_PARAM, SESSION_PARAM],
        requestBody: body,
        responses: {
          "202": {
            description: "Run accepted (or, with a reused Idempotency-Key, the first run)",
            headers: { Location: { schema: { type: "string" }, description: "/runs/{id}" } },
            content: { "application/json": { schema: { $ref: "#/components/schemas/Run" } } },
          },
          "400": errorResponse("Invalid inputs or Idempotency-Key"),
          "401": UNAUTHENTICATED,
          "403": FORBIDDEN,
          "404": errorResponse("No such workflow"),
          "422": errorResponse("Idempotency-Key reused with other inputs"),
          "429": RATE_LIMITED,
          "503": errorResponse("Run queue full (NEXO_ERR_RUN_QUEUE_FULL); see Retry-After"),
        },
      },
    };
    paths[`/workflows/${w.name}/execute`] = {
      post: {
        operationId: `execute_${w.name}`,
        summary: w.description || `Run workflow ${w.name}`,
        tags: ["workflows"],
        parameters: [IDEMPOTENCY_PARAM, SESSION_PARAM],
        requestBody: body,
        responses: {
          "200": {
            description: "The workflow's result; with Accept: text/event-stream, its progress/chunk events then a result or error event",
            content: { "application/json": { schema: {} }, "text/event-stream": { schema: { type: "string" } } },
          },
          "400": errorResponse("Invalid inputs (every violation is listed) or Idempotency-Key"),
          "401": UNAUTHENTICATED,
          "403": FORBIDDEN,
          "409": errorResponse("A request with this Idempotency-Key is still running; see Retry-After"),
          "422": errorResponse("Idempotency-Key reused with other inputs"),
          "429": RATE_LIMITED,
          "500": errorResponse("Internal error, with an error id"),
          "503": errorResponse("The run this Idempotency-Key names was interrupted (NEXO_ERR_WORKFLOW_INTERRUPTED): use a new key to run it again"),
        },
      },
    };
  }
  Object.assign(paths, extraPaths);
  if (!security) return { openapi: "3.1.0", info: { title: "Nexo API", version }, paths, components: { schemas: { Error: ERROR_SCHEMA, Run: RUN_SCHEMA } } };
  // Exempt paths (the probes by default) are marked as needing nothing, so a client generator sends no credentials there.
  for (const [path, item] of Object.entries(paths)) {
    if (!security.isExempt(path.replace(/\{[^}]+\}/g, "x"))) continue;
    paths[path] = Object.fromEntries(Object.entries(item).map(([method, op]) => [method, method === "parameters" ? op : { ...(op as object), security: [] }]));
  }
  return {
    openapi: "3.1.0",
    info: { title: "Nexo API", version },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA, Run: RUN_SCHEMA }, securitySchemes: security.schemes },
    security: Object.keys(security.schemes).map((name) => ({ [name]: [] })),
  };
}
