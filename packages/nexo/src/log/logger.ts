import { pino, type Logger as PinoLogger, type LoggerOptions } from "pino";

/** The daemon's structured logger (pino). Child loggers carry `plugin`, `eventId`, ... */
export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  /** Minimum level. Default `process.env.NEXO_LOG_LEVEL` or `info`. */
  level?: string;
  /** Pretty-print for humans. Default: stdout is a TTY. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/** Paths redacted in every log line so secrets never reach logs. */
const REDACT_PATHS = [
  "token",
  "*.token",
  "secret",
  "*.secret",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "apiKey",
  "*.apiKey",
  "env.*",
  "*.env.*",
];

/** Create the root logger: JSON lines by default, pretty when attached to a TTY. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.NEXO_LOG_LEVEL ?? "info";
  const base: LoggerOptions = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination as any);
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino(base);
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
