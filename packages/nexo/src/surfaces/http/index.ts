export { createHttpApi, SESSION_HEADER } from "./http-api.js";
export { sendError } from "./error-reply.js";
export { installJsonBodyParser, jsonDepthExceeds, MAX_JSON_DEPTH, valueDepthExceeds } from "./json-body.js";
export { buildOpenApi } from "./openapi.js";
export { AGENT_HEADER, registerToolRoutes } from "./tool-routes.js";
export type { ErrorBody } from "./error-reply.js";
export type { OpenApiPaths, OpenApiSecurity } from "./openapi.js";
export type { CorsOptions, HttpConventionsOptions } from "./conventions.js";
export { PAGE_POLICY_HEADERS } from "./conventions.js";
