import { createHash } from "node:crypto";

/**
 * The work-sharing queue of a plugin's subscription: every daemon running
 * plugin `key` joins it, so the cluster hands each event to one copy of the
 * plugin. A subscription the plugin made itself is told apart by `detail`
 * (its subscriber id and pattern: the same on every daemon when the plugin
 * subscribes in the same order), hashed since queue names cannot hold wildcards.
 */
export function workQueue(key: string, detail?: string): string {
  if (detail === undefined) return `plugin:${key}`;
  return `plugin:${key}:${createHash("sha256").update(detail).digest("hex").slice(0, 12)}`;
}
