import type { WorkflowInfo } from "../../app/index.js";

/** Extra paths a surface contributes to the OpenAPI document (e.g. the tools routes). */
export type OpenApiPaths = Record<string, Record<string, unknown>>;

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

/**
 * An OpenAPI 3.1 document for the API as it is now: one `execute` operation
 * per registered workflow, its request body being the workflow's input schema.
 */
export function buildOpenApi(version: string, workflows: readonly WorkflowInfo[], extraPaths: OpenApiPaths = {}): Record<string, unknown> {
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
  for (const w of workflows) {
    paths[`/workflows/${w.name}/execute`] = {
      post: {
        operationId: `execute_${w.name}`,
        summary: w.description || `Run workflow ${w.name}`,
        tags: ["workflows"],
        requestBody: { required: true, content: { "application/json": { schema: w.inputSchema ?? { type: "object" } } } },
        responses: {
          "200": { description: "The workflow's result", content: { "application/json": { schema: {} } } },
          "400": errorResponse("Invalid inputs: every violation is listed"),
          "401": errorResponse("Not authenticated"),
          "429": errorResponse("Rate limited; see Retry-After"),
          "500": errorResponse("Internal error, with an error id"),
        },
      },
    };
  }
  Object.assign(paths, extraPaths);
  return {
    openapi: "3.1.0",
    info: { title: "Nexo API", version },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  };
}
