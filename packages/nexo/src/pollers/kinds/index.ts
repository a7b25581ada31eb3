import { rssKind } from "./rss.js";
import type { PollerKind } from "./types.js";
import { webhookPollKind } from "./webhook-poll.js";

/** The kinds a job may name, by `kind:`. */
export const POLLER_KIND_REGISTRY: ReadonlyMap<string, PollerKind<any>> = new Map<string, PollerKind<any>>([
  [webhookPollKind.name, webhookPollKind],
  [rssKind.name, rssKind],
]);

export { webhookPollKind, getPath, splitPath } from "./webhook-poll.js";
export { rssKind } from "./rss.js";
export { parseFeed } from "./parse-feed.js";
export { DEFAULT_MAX_BODY_BYTES, expandEnv } from "./feed-options.js";
export type { FeedJobOptions, PolledItem, PollContext, PollerKind, PollOutcome } from "./types.js";
export type { WebhookPollConfig } from "./webhook-poll.js";
export type { RssConfig } from "./rss.js";
export type { FeedEntry, ParsedFeed } from "./parse-feed.js";
