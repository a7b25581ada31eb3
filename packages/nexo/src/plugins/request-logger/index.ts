export { RequestLoggerPlugin } from "./request-logger-plugin.js";
export { DEFAULT_REDACT_KEYS, redact } from "./redact.js";
export type { RequestLoggerOptions } from "./request-logger-plugin.js";
