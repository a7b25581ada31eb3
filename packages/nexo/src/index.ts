export { NexoError, ErrorCodes, isNexoError } from "./errors.js";
export type { ErrorCode, NexoErrorDetails } from "./errors.js";
