import type { FastifyInstance } from "fastify";
import type { Nexo } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { SESSION_HEADER } from "./session-header.js";
import { replyAtTurnEnd } from "./turn-end-replies.js";

/** Header a client may set to name the agent a tool call is made for (`agent_id` on the wire). */
export const AGENT_HEADER = "x-agent-id";

const TOOL_RESULT_SCHEMA = {
  type: "object",
  required: ["content", "is_error"],
  properties: {
    content: { type: "array", items: { type: "object", required: ["type"], properties: { type: { type: "string" }, text: { type: "string" } } } },
    is_error: { type: "boolean", description: "true: the tool ran and reports a failure (still a 200)" },
    structured_content: { type: "object" },
  },
};

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

function header(value: string | string[] | undefined): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= 256 ? value : null;
}

/**
 * `GET /tools` (every callable tool with its input schema), `GET /tools/:name`
 * and `POST /tools/:name` (body = arguments; 200 with `{content, is_error}`;
 * 400 listing every violation, 404, 502 execution failed, 503 with
 * Retry-After, 504 timeout), and their entries in `/openapi.json`.
 */
export function registerToolRoutes(http: FastifyInstance, app: Nexo): void {
  http.get("/tools", async (request) => ({ tools: app.listTools(request.principal) }));

  http.get<{ Params: { name: string } }>("/tools/:name", async (request) => {
    const tool = app.getTool(request.params.name);
    if (!tool) throw new NexoError(ErrorCodes.TOOL_NOT_FOUND, `no tool named "${request.params.name}"`, { data: { tool: request.params.name } });
    return tool;
  });

  http.post<{ Params: { name: string } }>("/tools/:name", (request, reply) => {
    const result = app.callTool(request.params.name, request.body ?? {}, {
      channel: "http",
      sessionId: header(request.headers[SESSION_HEADER]),
      agentId: header(request.headers[AGENT_HEADER]),
      ...(request.principal ? { principal: request.principal } : {}),
    });
    replyAtTurnEnd(request, reply, result);
  });

  Object.assign(http.openApiPaths, {
    "/tools": {
      get: {
        operationId: "listTools",
        summary: "Callable tools (workflows and plugin tools) with their input schemas",
        tags: ["tools"],
        responses: { "200": { description: "The list", content: { "application/json": { schema: { type: "object", properties: { tools: { type: "array" } } } } } } },
      },
    },
    "/tools/{name}": {
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,128}$" } }],
      get: {
        operationId: "getTool",
        summary: "One tool's description and input schema",
        tags: ["tools"],
        responses: { "200": { description: "The tool" }, "404": errorResponse("No such tool") },
      },
      post: {
        operationId: "callTool",
        summary: "Call a tool; the body is its arguments (see its inputSchema in GET /tools)",
        tags: ["tools"],
        parameters: [
          { name: SESSION_HEADER, in: "header", required: false, schema: { type: "string" } },
          { name: AGENT_HEADER, in: "header", required: false, schema: { type: "string" } },
        ],
        requestBody: { required: false, content: { "application/json": { schema: { type: "object" } } } },
        responses: {
          "200": { description: "The tool's result", content: { "application/json": { schema: TOOL_RESULT_SCHEMA } } },
          "400": errorResponse("Invalid arguments: every violation is listed"),
          "401": errorResponse("Not authenticated"),
          "403": errorResponse("The tool denied the call"),
          "404": errorResponse("No such tool"),
          "429": errorResponse("Rate limited; see Retry-After"),
          "502": errorResponse("The tool failed"),
          "503": errorResponse("Unavailable (its plugin is restarting or exited during the call); see Retry-After"),
          "504": errorResponse("The tool did not answer in time"),
        },
      },
    },
  });
}
