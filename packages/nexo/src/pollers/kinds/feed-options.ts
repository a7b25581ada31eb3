import { Ajv } from "ajv";
import { violationLine } from "../../errors.js";
import { ajvViolation } from "../../util/index.js";
import { configError } from "../poll-error.js";
import type { FeedJobOptions } from "./types.js";

/** Default `max_body_bytes`: 5 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** JSON Schema properties shared by the HTTP feed kinds. */
export const feedOptionProperties = {
  headers: { type: "object", additionalProperties: { type: "string" } },
  max_per_tick: { type: "integer", minimum: 1, maximum: 10_000 },
  seen_capacity: { type: "integer", minimum: 1, maximum: 100_000 },
  max_body_bytes: { type: "integer", minimum: 1, maximum: 100 * 1024 * 1024 },
  allow_private_networks: { type: "boolean" },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ReturnType<typeof ajv.compile>>();

/** Validate `config` against a kind's schema; throws one config PollError listing every problem. */
export function checkKindConfig(kind: string, schema: object, config: Record<string, unknown>): void {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(config)) throw configError(`invalid ${kind} config: ${(validate.errors ?? []).map((e) => violationLine(ajvViolation(e))).join("; ")}`);
}

/** The shared options with their defaults. */
export function parseFeedOptions(config: Record<string, unknown>, defaults: { maxPerTick: number }): FeedJobOptions {
  return {
    maxPerTick: (config.max_per_tick as number | undefined) ?? defaults.maxPerTick,
    seenCapacity: (config.seen_capacity as number | undefined) ?? 1000,
    maxBodyBytes: (config.max_body_bytes as number | undefined) ?? DEFAULT_MAX_BODY_BYTES,
    ...(typeof config.allow_private_networks === "boolean" ? { allowPrivateNetworks: config.allow_private_networks } : {}),
  };
}

/**
 * Replace `${NAME}` with the daemon's environment variable NAME, so secrets
 * (tokens in headers or URLs) stay out of pollers.yaml. A missing variable is
 * a config error naming the variable, never its surroundings.
 */
export function expandEnv(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw configError(`${where} uses \${${name}}, but the environment variable ${name} is not set`);
    return v;
  });
}

/** `headers` with `${VAR}` expanded in each value. */
export function expandHeaders(headers: Record<string, string> | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = expandEnv(v, env, `headers.${k}`);
  return out;
}
