export { createLogger, silentLogger } from "./logger.js";
export type { Logger, CreateLoggerOptions } from "./logger.js";
