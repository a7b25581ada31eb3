import type { FastifyInstance } from "fastify";
import type { Nexo } from "../../app/index.js";
import { parseAuditQuery } from "../../authz/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/**
 * `GET /audit`: the authorization audit trail, newest first, for principals
 * granted `admin: [audit]` (docs/authorization.md). 404 when the daemon keeps
 * no trail (no `authorization:`, or `audit.enabled: false`).
 */
export function registerAuditRoutes(http: FastifyInstance, app: Nexo): void {
  http.get<{ Querystring: Record<string, unknown> }>("/audit", async (request) => {
    const audit = app.authorization?.audit;
    if (audit === undefined) throw new NexoError(ErrorCodes.HTTP_NOT_FOUND, "this daemon keeps no audit trail (configure authorization: with audit enabled)");
    app.authorize(request.principal ?? undefined, "admin", "audit", "http");
    return { entries: await audit.query(parseAuditQuery(request.query ?? {})) };
  });

  Object.assign(http.openApiPaths, {
    "/audit": {
      get: {
        operationId: "listAudit",
        summary: "Authorization decisions (who, what, allowed or not), newest first",
        tags: ["authorization"],
        parameters: [
          ...["principal", "tenant", "name"].map((name) => ({ name, in: "query", required: false, schema: { type: "string" } })),
          { name: "kind", in: "query", required: false, schema: { enum: ["workflow", "tool", "admin"] } },
          { name: "allowed", in: "query", required: false, schema: { type: "boolean" } },
          { name: "since", in: "query", required: false, schema: { type: "string", format: "date-time" } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
          { name: "before", in: "query", required: false, schema: { type: "integer", minimum: 1 }, description: "Entries with a smaller id (paging)" },
        ],
        responses: {
          "200": { description: "The entries", content: { "application/json": { schema: { type: "object", properties: { entries: { type: "array" } } } } } },
          "400": errorResponse("A bad filter"),
          "401": errorResponse("Not authenticated"),
          "403": errorResponse("Not granted admin: [audit]"),
          "404": errorResponse("No audit trail kept"),
        },
      },
    },
  });
}
