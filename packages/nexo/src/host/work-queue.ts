import { createHash } from "node:crypto";

/**
 * The work-sharing queue of a plugin's subscription: every daemon running
 * plugin `key` joins it, so the cluster hands each event to one copy of the
 * plugin. A subscription the plugin made itself is told apart by its pattern
 * (hashed: queue names cannot hold wildcards).
 */
export function workQueue(key: string, pattern?: string): string {
  if (pattern === undefined) return `plugin:${key}`;
  return `plugin:${key}:${createHash("sha256").update(pattern).digest("hex").slice(0, 12)}`;
}
