export { RateLimitPlugin, clientKey } from "./rate-limit-plugin.js";
export { TokenBuckets } from "./token-buckets.js";
export { policyField, rateLimitField } from "./ratelimit-headers.js";
export type { RateLimitOptions, RateLimitStats, RouteLimit } from "./rate-limit-plugin.js";
export type { TakeResult } from "./token-buckets.js";
