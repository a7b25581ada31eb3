export { createMcpSession } from "./mcp-server.js";
export { mountMcpHttp } from "./http-sessions.js";
export { serveMcpStdio } from "./stdio-server.js";
export { checkMcpOrigin, isLoopbackHost } from "./origin-check.js";
export { toMcpError, toMcpResult } from "./to-mcp-result.js";
export type { McpSession } from "./mcp-server.js";
export type { McpHttpEndpoint, McpHttpOptions } from "./http-sessions.js";
export type { McpStdioOptions, McpStdioServer } from "./stdio-server.js";
