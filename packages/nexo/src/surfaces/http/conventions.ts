import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import helmet from "helmet";
import type { Nexo } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";

/** CORS of the HTTP API (nexo.yaml `api.cors`). Off unless `origins` names at least one. */
export interface CorsOptions {
  /** Browser origins allowed (`https://app.example.com`), or `["*"]` for any (refused with `credentials`). Default none: CORS off. */
  origins: string[];
  /** Methods allowed in preflight. Default GET, POST, DELETE. */
  methods?: string[];
  /** Request headers allowed. Default Content-Type, Authorization, X-API-Key, Idempotency-Key, X-Session-Id, Last-Event-ID. */
  allowedHeaders?: string[];
  /** Response headers a page may read. Default Location, Retry-After, Idempotent-Replayed, X-Nexo-Run-Id. */
  exposedHeaders?: string[];
  /** Allow cookies / HTTP auth from those origins. Default false. */
  credentials?: boolean;
  /** How long a browser may cache a preflight, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/** Browser-facing conventions of the HTTP API. */
export interface HttpConventionsOptions {
  /** Default: CORS off (no cross-origin browser access). */
  cors?: CorsOptions;
  /** Standard security headers (helmet) on every response. Default true. */
  securityHeaders?: boolean;
}

const DEFAULT_METHODS = ["GET", "POST", "DELETE"];
const DEFAULT_ALLOWED = ["Content-Type", "Authorization", "X-API-Key", "Idempotency-Key", "X-Session-Id", "Last-Event-ID"];
const DEFAULT_EXPOSED = ["Location", "Retry-After", "Idempotent-Replayed", "X-Nexo-Run-Id"];

/**
 * Register CORS (`@fastify/cors`) when origins are configured and the security
 * headers (helmet's, with a `default-src 'none'` policy: the API serves JSON
 * and event streams, never pages). Throws NEXO_ERR_CONFIG_INVALID for a
 * wildcard origin with credentials, which browsers refuse anyway.
 */
export function registerHttpConventions(http: FastifyInstance, options: HttpConventionsOptions = {}): void {
  const c = options.cors;
  if (c && c.origins.length > 0) {
    const any = c.origins.includes("*");
    if (any && c.credentials) {
      throw new NexoError(ErrorCodes.CONFIG_INVALID, 'api.cors: origins "*" cannot be combined with credentials: true; list the origins', { field: "api.cors.origins" });
    }
    void http.register(cors, {
      origin: any ? "*" : c.origins,
      methods: c.methods ?? DEFAULT_METHODS,
      allowedHeaders: c.allowedHeaders ?? DEFAULT_ALLOWED,
      exposedHeaders: c.exposedHeaders ?? DEFAULT_EXPOSED,
      credentials: c.credentials ?? false,
      maxAge: c.maxAgeSeconds ?? 600,
      strictPreflight: true,
    });
  }
  if (options.securityHeaders !== false) {
    const headers = securityHeaders(c !== undefined && c.origins.length > 0);
    const names = Object.keys(headers);
    // One synchronous hook setting precomputed values: @fastify/helmet rebuilds helmet's
    // middleware chain on every request, a measurable share of the execute hot path.
    http.addHook("onRequest", (_request, reply, done) => {
      for (let i = 0; i < names.length; i++) reply.header(names[i]!, headers[names[i]!]!);
      done();
    });
  }
}

/**
 * The headers helmet sets for our policy, computed once: helmet's middleware is
 * run against a recording response. The values depend on the options only (no nonces).
 */
export function securityHeaders(corsEnabled: boolean): Record<string, string> {
  // The set OWASP's REST cheat sheet asks of an API; helmet's page-only headers (COOP, Origin-Agent-Cluster,
  // X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) would
  // only add bytes and work to every response of a JSON API.
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { "default-src": ["'none'"], "frame-ancestors": ["'none'"] } },
    // A cross-origin page allowed by CORS must still be able to read responses.
    crossOriginResourcePolicy: { policy: corsEnabled ? "cross-origin" : "same-origin" },
    xFrameOptions: { action: "deny" },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void (headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failed: unknown;
  middleware({ headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => void (failed = err));
  if (failed) throw failed;
  return headers;
}

/**
 * Security headers a plugin's own pages need to set for themselves: on its
 * proxied routes (`[plugin.http]`) they are removed, since a `default-src 'none'`
 * policy, DENY framing or a same-origin resource policy would break the HTML UI
 * a plugin may serve. nosniff, HSTS and the referrer policy stay.
 */
export const PAGE_POLICY_HEADERS: readonly string[] = ["content-security-policy", "x-frame-options", "cross-origin-resource-policy"];

/** States of a plugin that is on its way up: the app is not ready while one is in them. */
const STARTING_STATES = new Set(["setting-up", "starting", "restarting"]);

/**
 * `/health/live` (the process serves: 200 unless it is stopping) and
 * `/health/ready` (200 only when the app is running, no plugin is starting or
 * restarting, and the store answers), beside `/health`'s full report.
 */
export function registerHealthProbes(http: FastifyInstance, app: Nexo): void {
  http.get("/health/live", async (_request, reply) => {
    const live = app.state === "running" || app.state === "starting";
    return reply.code(live ? 200 : 503).send({ status: live ? "ok" : "failed", state: app.state });
  });
  http.get("/health/ready", async (_request, reply) => {
    const waiting: string[] = [];
    if (app.state !== "running") waiting.push(`app ${app.state}`);
    for (const p of await app.pluginStatuses()) if (STARTING_STATES.has(p.state)) waiting.push(`plugin ${p.name} ${p.state}`);
    if (app.hasRuns && !(await app.runs.ready())) waiting.push("store unreachable");
    const ready = waiting.length === 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ok" : "failed", state: app.state, ...(ready ? {} : { waiting }) });
  });
}
