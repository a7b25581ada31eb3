export { CachingPlugin } from "./caching-plugin.js";
export { cacheKey, canonicalJson } from "./cache-key.js";
export type { CachingOptions, CacheStats } from "./caching-plugin.js";
