import { checkStatus } from "../http-fetch.js";
import { configError } from "../poll-error.js";
import { checkKindConfig, expandEnv, expandHeaders, feedOptionProperties, parseFeedOptions } from "./feed-options.js";
import { parseFeed } from "./parse-feed.js";
import type { FeedJobOptions, PollerKind } from "./types.js";

/** An `rss` job's config, parsed. */
export interface RssConfig extends FeedJobOptions {
  url: string;
  headers: Record<string, string>;
}

const schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    url: { type: "string", minLength: 1 },
    feed_url: { type: "string", minLength: 1, description: "The reference system's name for url." },
    ...feedOptionProperties,
  },
};

/**
 * `kind: rss`: fetch an RSS 2.0 / RSS 1.0 / Atom feed and deliver its entries,
 * oldest first (feeds list newest first). Each delivered item is the
 * normalized entry plus `feed: {title, link}`.
 */
export const rssKind: PollerKind<RssConfig> = {
  name: "rss",
  parse(config, env) {
    checkKindConfig("rss", schema, config);
    const url = (config.url ?? config.feed_url) as string | undefined;
    if (!url) throw configError('invalid rss config: missing "url"');
    if (config.url !== undefined && config.feed_url !== undefined) throw configError("invalid rss config: set url or feed_url, not both");
    return {
      ...parseFeedOptions(config, { maxPerTick: 100 }),
      url: expandEnv(url, env, "url"),
      headers: {
        accept: "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
        ...expandHeaders(config.headers as Record<string, string> | undefined, env),
      },
    };
  },
  async poll(config, ctx) {
    const res = await ctx.fetch({ url: config.url, headers: config.headers, etag: ctx.cursor.etag, lastModified: ctx.cursor.lastModified });
    checkStatus(res, ctx.now());
    if (res.status === 304) return { notModified: true, items: [], etag: ctx.cursor.etag, lastModified: ctx.cursor.lastModified };
    const validators = { etag: first(res.headers.etag), lastModified: first(res.headers["last-modified"]) };
    if (res.status === 204) return { notModified: false, items: [], ...validators };
    const feed = parseFeed(res.body.toString("utf8"));
    const source = { ...(feed.title ? { title: feed.title } : {}), ...(feed.link ? { link: feed.link } : {}) };
    const items = feed.entries.reverse().map((e) => ({ id: e.id, data: { ...e, feed: source } }));
    return { notModified: false, items, ...validators };
  },
};

function first(v: string | string[] | undefined): string | null {
  return (Array.isArray(v) ? v[0] : v) ?? null;
}
