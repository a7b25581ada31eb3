import type { FastifyReply, FastifyRequest } from "fastify";
import type { Nexo, Principal } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check, optionError, type OptionCheck } from "../option-checks.js";
import { compilePathPatterns, pathOf, patternRegex, type PathMatcher } from "../path-match.js";
import { policyField, rateLimitField } from "./ratelimit-headers.js";
import { NatsBroker } from "../../broker/index.js";
import { SharedKv } from "../../cluster/index.js";
import { SharedTokenBuckets } from "./shared-buckets.js";
import { TokenBuckets, type TakeResult } from "./token-buckets.js";

/** A limit for some routes, instead of the default one. */
export interface RouteLimit {
  /** Path pattern: exact, `*` for one segment, trailing `/**` for any rest. */
  path: string;
  /** Only this method (e.g. "POST"). Default: any. */
  method?: string;
  /** Requests per minute sustained. */
  limit: number;
  /** Bucket capacity: the most accepted at once. */
  burst: number;
  /** Policy name in the RateLimit headers. Default `route<N>`. */
  name?: string;
}

/** Options of RateLimitPlugin (nexo.yaml: `in_process_plugins.rate_limit`). */
export interface RateLimitOptions {
  /** Requests per minute sustained, per client. Default 1000. */
  limit: number;
  /** Bucket capacity per client: the most accepted at once. Default 100. */
  burst: number;
  /** Paths never limited. Default ["/health", "/health/live", "/health/ready"]. */
  exempt: string[];
  /** Per-route limits; the first match wins, else the default limit applies. Default none. */
  routes: RouteLimit[];
  /**
   * Most client buckets kept. Only buckets that refilled to full are evicted for
   * a new client; while every bucket is partly used, new clients share one
   * overflow bucket per policy. Default 10000.
   */
  maxBuckets: number;
  /** Send `RateLimit-Policy` and `RateLimit` on every limited route's response, not only on 429s. Default true. */
  headers: boolean;
  /** How often buckets that refilled to full are dropped, in ms. Default 60000. */
  sweepIntervalMs: number;
  /** Clock in ms (tests). Default `Date.now`. */
  now: () => number;
  /**
   * Where buckets live: `memory` (this process), `nats` (JetStream KV shared by
   * every daemon of a cluster, docs/cluster.md), or `auto` (default): `nats`
   * when the app's broker is NATS, else `memory`.
   */
  backend: string;
}

/** Counters of a RateLimitPlugin. */
export interface RateLimitStats {
  allowed: number;
  limited: number;
  buckets: number;
  /** Full (idle) buckets dropped to make room for a new client. */
  evictions: number;
  /** Requests counted against the shared overflow bucket because every bucket was in use. */
  overflowed: number;
  /** `memory` or `nats`: where the buckets are. */
  backend: string;
  /** Shared backend: takes answered from this daemon's memory because NATS was unreachable. */
  fallbacks: number;
}

interface Policy {
  name: string;
  limit: number;
  burst: number;
  policyHeader: string;
  matches?: (method: string, path: string) => boolean;
  /** Bucket keys of shared principals under this policy (`bucketKey`). */
  principalKeys: WeakMap<Principal, string>;
}

const POLICY_NAME = /^[A-Za-z0-9_-]{1,32}$/;

const routeCheck: OptionCheck<RouteLimit> = (v, p) => {
  const o = check.object()(v, p);
  const at = (option: string) => ({ ...p, option: `${p.option}.${option}` });
  const route: RouteLimit = {
    path: check.pathPattern()(o.path, at("path")),
    limit: check.int(1, 100_000_000)(o.limit, at("limit")),
    burst: check.int(1, 100_000_000)(o.burst, at("burst")),
  };
  if (o.method !== undefined)
    route.method = check
      .string(
        1,
        /^[A-Za-z]+$/,
        "an HTTP method such as POST",
      )(o.method, at("method"))
      .toUpperCase();
  if (o.name !== undefined) route.name = check.string(1, POLICY_NAME, "a policy name of letters, digits, _ or - (at most 32)")(o.name, at("name"));
  for (const k of Object.keys(o))
    if (!["path", "method", "limit", "burst", "name"].includes(k)) throw optionError(at(k), "absent (route keys: path, method, limit, burst, name)", o[k]);
  return route;
};

const SPECS: OptionSpecs<RateLimitOptions> = {
  limit: check.int(1, 100_000_000),
  burst: check.int(1, 100_000_000),
  exempt: check.array(check.pathPattern()),
  routes: check.array(routeCheck, 1000),
  maxBuckets: check.int(1, 100_000_000),
  headers: check.bool(),
  sweepIntervalMs: check.int(1000, 86_400_000),
  now: check.fn(),
  backend: check.string(1, /^(auto|memory|nats)$/, "auto, memory or nats"),
};

/**
 * Token-bucket rate limiting of the HTTP API, per client: the authenticated
 * principal, else the IP address (an API key the AuthPlugin did not verify is
 * ignored: a made-up key per request must not buy a fresh bucket). Over the limit: 429
 * with `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit` fields.
 * Runs in fastify's `preParsing` phase, after every `onRequest` hook, so the
 * AuthPlugin (an `onRequest` hook) has set `request.principal` whatever the
 * order the plugins were added in, and a refused request's body is never read
 * (docs/adr/0006).
 * @example
 * const rateLimit = new RateLimitPlugin();
 * rateLimit.limit = 1000; // per minute
 * rateLimit.burst = 100;
 * app.addPlugin(rateLimit);
 */
export class RateLimitPlugin extends BuiltinPlugin<RateLimitOptions> {
  private buckets = new TokenBuckets(10_000);
  private shared: SharedTokenBuckets | undefined;
  private readonly counters = { allowed: 0, limited: 0 };
  private policies: Policy[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options?: Partial<RateLimitOptions>) {
    super(
      "rate_limit",
      SPECS,
      {
        limit: 1000,
        burst: 100,
        exempt: ["/health", "/health/live", "/health/ready"],
        routes: [],
        maxBuckets: 10_000,
        headers: true,
        sweepIntervalMs: 60_000,
        now: Date.now,
        backend: "auto",
      },
      options,
    );
  }

  override get description(): string {
    return "Token-bucket rate limits per client on the HTTP API";
  }

  /** Requests per minute sustained, per client. */
  get limit(): number {
    return this.options.limit;
  }
  set limit(v: number) {
    this.setOption("limit", v);
  }
  /** Bucket capacity: the most requests accepted at once. */
  get burst(): number {
    return this.options.burst;
  }
  set burst(v: number) {
    this.setOption("burst", v);
  }
  get exempt(): string[] {
    return [...this.options.exempt];
  }
  set exempt(v: string[]) {
    this.setOption("exempt", v);
  }
  get routes(): RouteLimit[] {
    return [...this.options.routes];
  }
  set routes(v: RouteLimit[]) {
    this.setOption("routes", v);
  }

  override setup(app: Nexo): void {
    super.setup(app);
    const o = this.options;
    this.buckets = new TokenBuckets(o.maxBuckets);
    this.policies = o.routes.map((r, i) => {
      const re = patternRegex(r.path);
      const method = r.method;
      const name = r.name ?? `route${i + 1}`;
      return {
        name,
        limit: r.limit,
        burst: r.burst,
        policyHeader: policyField(name, r.limit, r.burst),
        principalKeys: new WeakMap(),
        matches: (m: string, path: string) => (method === undefined || method === m) && re.test(path),
      };
    });
    const names = this.policies.map((p) => p.name);
    const dup = names.find((n, i) => n === "default" || names.indexOf(n) !== i);
    if (dup !== undefined) this.fail("routes", `routes with distinct names other than "default" (${JSON.stringify(dup)} is taken)`);
    const fallback: Policy = { name: "default", limit: o.limit, burst: o.burst, policyHeader: policyField("default", o.limit, o.burst), principalKeys: new WeakMap() };
    const isExempt: PathMatcher = compilePathPatterns(o.exempt);
    const routed = this.policies;
    const headers = o.headers;
    this.shared = undefined;
    if (o.backend === "nats" || (o.backend === "auto" && app.broker instanceof NatsBroker)) {
      if (!(app.broker instanceof NatsBroker)) this.fail("backend", '"nats" only with a NATS broker (broker: nats://...)');
      // Idle buckets are full again after burst / rate; the KV forgets them a little later.
      const refillMs = Math.max(60_000, ...[fallback, ...routed].map((p) => (p.burst / p.limit) * 60_000 * 2));
      const kv = new SharedKv(app.broker.connection, "nexo_ratelimit", Math.min(refillMs, 7 * 86_400_000), app.logger);
      this.shared = new SharedTokenBuckets(kv, this.buckets, app.logger.child({ plugin: this.name }));
    }
    const shared = this.shared;
    app.http.addHook("preParsing", (request, reply, payload, done) => {
      const path = pathOf(request.url);
      if (isExempt(path)) return done(null, payload);
      let policy = fallback;
      for (let i = 0; i < routed.length; i++) {
        if (routed[i].matches!(request.method, path)) {
          policy = routed[i];
          break;
        }
      }
      const key = bucketKey(policy, request);
      if (shared) {
        shared.take(key, this.options.now, policy.limit, policy.burst, policy.name).then((v) => this.answer(v, policy, request, reply, payload, done, headers));
        return;
      }
      this.answer(this.buckets.take(key, this.options.now(), policy.limit, policy.burst, policy.name), policy, request, reply, payload, done, headers);
    });
    this.sweepTimer = setInterval(() => this.sweepIdle(), o.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Let the request through with the RateLimit fields, or refuse it with 429. */
  private answer<P>(
    verdict: TakeResult,
    policy: Policy,
    request: FastifyRequest,
    reply: FastifyReply,
    payload: P,
    done: (err: Error | null, payload?: P) => void,
    headers: boolean,
  ): void {
    if (verdict.allowed) {
      this.counters.allowed++;
      if (headers) {
        reply.header("ratelimit-policy", policy.policyHeader);
        reply.header("ratelimit", rateLimitField(policy.name, verdict.remaining, verdict.nextTokenS));
      }
      done(null, payload);
      return;
    }
    this.counters.limited++;
    done(refusal(reply, policy, verdict.nextTokenS));
  }

  override teardown(): void {
    clearInterval(this.sweepTimer);
    this.buckets.clear();
  }

  /** Requests allowed and refused, buckets held, evicted (idle ones only) and overflowed. */
  stats(): RateLimitStats {
    return {
      ...this.counters,
      buckets: this.buckets.size,
      evictions: this.buckets.evictions,
      overflowed: this.buckets.overflows,
      backend: this.shared ? "nats" : "memory",
      fallbacks: this.shared?.fallbacks ?? 0,
    };
  }

  /** Drop buckets that refilled to full (also done every `sweepIntervalMs`); returns how many. */
  sweepIdle(): number {
    return this.buckets.sweep(this.options.now());
  }
}

/** Set the refusal's headers and return its error, which the HTTP surface's error handler writes as the 429. */
function refusal(reply: FastifyReply, policy: Policy, seconds: number): NexoError {
  reply.header("retry-after", String(seconds));
  reply.header("ratelimit-policy", policy.policyHeader);
  reply.header("ratelimit", rateLimitField(policy.name, 0, seconds));
  return new NexoError(ErrorCodes.RATE_LIMITED, `rate limit exceeded (policy ${policy.name}: ${policy.limit}/min, burst ${policy.burst}); retry in ${seconds} s`, {
    data: { retryAfterMs: seconds * 1000 },
  });
}

/**
 * The bucket key of `request` under `policy`. A shared (frozen) principal's
 * keys are made once: API keys answer most requests, and building the key
 * string per request was a measurable share of the limiter's cost.
 */
function bucketKey(policy: Policy, request: FastifyRequest): string {
  const p = request.principal;
  if (p === null || !Object.isFrozen(p)) return `${policy.name}\u0000${clientKey(request)}`;
  let key = policy.principalKeys.get(p);
  if (key === undefined) policy.principalKeys.set(p, (key = `${policy.name}\u0000${clientKey(request)}`));
  return key;
}

/**
 * Who a request counts against: what was verified, never what the client
 * merely claims. The principal an auth hook set, else the peer's IP address
 * (forwarding headers are not trusted: behind a reverse proxy, clients share
 * its address unless they authenticate).
 */
export function clientKey(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal) return `p:${principal.id}`;
  return `ip:${request.ip}`;
}
